import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/domain/errors.ts';
import { parseUserFilter } from '../../../src/scim/filter.ts';
import { readActiveFromPatch } from '../../../src/scim/patch-op.ts';

const S = ['urn:ietf:params:scim:api:messages:2.0:PatchOp'];

describe('readActiveFromPatch', () => {
  it.each([
    [{ schemas: S, Operations: [{ op: 'replace', path: 'active', value: false }] }, false],
    [{ schemas: S, Operations: [{ op: 'replace', value: { active: false } }] }, false],
    [{ schemas: S, Operations: [{ op: 'Replace', path: 'active', value: 'False' }] }, false],
    [{ schemas: S, Operations: [{ op: 'Add', path: 'Active', value: 'true' }] }, true],
    [{ schemas: S, Operations: [{ op: 'replace', path: 'displayName', value: 'x' }] }, undefined],
    [{ Operations: [{ op: 'replace', value: { displayName: 'x', active: false } }] }, false],
  ])('%j ⇒ %s', (body, expected) => {
    expect(readActiveFromPatch(body)).toBe(expected);
  });

  it.each([
    {},
    { Operations: [] },
    { Operations: [{ op: 'move', path: 'active' }] },
    { Operations: [{ op: 'replace', path: 'active', value: 'no' }] },
    { schemas: ['urn:other'], Operations: [{ op: 'replace', path: 'active', value: false }] },
  ])('refuses %j', (body) => {
    expect(() => readActiveFromPatch(body)).toThrow(ValidationError);
  });
});

describe('parseUserFilter', () => {
  it('reads the filters IdPs send', () => {
    expect(parseUserFilter('userName eq "alice@example.com"')).toEqual({
      attribute: 'userName',
      value: 'alice@example.com',
    });
    expect(parseUserFilter('USERNAME EQ "a\\"b"')).toEqual({ attribute: 'userName', value: 'a"b' });
    expect(parseUserFilter('emails.value eq "a@x.io"')).toEqual({
      attribute: 'emails.value',
      value: 'a@x.io',
    });
    expect(parseUserFilter('emails[value eq "a@x.io"]')).toEqual({
      attribute: 'emails.value',
      value: 'a@x.io',
    });
  });

  it.each(['userName sw "a"', 'title eq "x"', 'userName eq a', 'userName eq "a" and active eq true'])(
    'refuses %s',
    (f) => {
      expect(() => parseUserFilter(f)).toThrow(ValidationError);
    },
  );
});
