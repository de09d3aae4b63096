import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/domain/errors.ts';
import { parseScimFilter, parseUserFilter } from '../../../src/scim/filter.ts';
import { readActiveFromPatch, readActiveFromPut } from '../../../src/scim/patch-op.ts';
import { ScimRequestError } from '../../../src/scim/scim-request-error.ts';

const S = ['urn:ietf:params:scim:api:messages:2.0:PatchOp'];
const U = 'urn:ietf:params:scim:schemas:core:2.0:User';
const E = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

describe('readActiveFromPatch', () => {
  it.each([
    [{ schemas: S, Operations: [{ op: 'replace', path: 'active', value: false }] }, false],
    [{ schemas: S, Operations: [{ op: 'replace', value: { active: false } }] }, false],
    [{ schemas: S, Operations: [{ op: 'Replace', path: 'active', value: 'False' }] }, false],
    [{ schemas: S, Operations: [{ op: 'Add', path: 'Active', value: 'true' }] }, true],
    [{ schemas: S, Operations: [{ op: 'replace', path: 'displayName', value: 'x' }] }, undefined],
    [{ Operations: [{ op: 'replace', value: { displayName: 'x', active: false } }] }, false],
    [{ schemas: S, Operations: [{ op: 'replace', path: `${U}:active`, value: false }] }, false],
    [{ schemas: S, Operations: [{ op: 'replace', value: { [`${U}:active`]: false } }] }, false],
    [{ schemas: S, Operations: [{ op: 'replace', value: { [U]: { active: false } } }] }, false],
    [{ schemas: S, Operations: [{ op: 'replace', path: `${E}:department`, value: 'x' }] }, undefined],
    [
      {
        schemas: S,
        Operations: [
          {
            op: 'add',
            path: 'urn:ietf:params:scim:schemas:extension:CustomAttrs:2.0:User:badge',
            value: '7',
          },
        ],
      },
      undefined,
    ],
    [
      { schemas: S, Operations: [{ op: 'add', path: 'emails[type eq "work"].value', value: 'a@x.io' }] },
      undefined,
    ],
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

  it.each([
    [{ Operations: [{ op: 'replace', path: 'active', value: 'no' }] }, 'invalidValue'],
    [{ Operations: [{ op: 'replace', path: `${U}:active`, value: 3 }] }, 'invalidValue'],
    [{ Operations: [{ op: 'replace', path: 'favouriteColour', value: 'x' }] }, 'invalidPath'],
    [{ Operations: [{ op: 'replace', path: `${E}:shoeSize`, value: 'x' }] }, 'invalidPath'],
    [{ Operations: [] }, 'invalidSyntax'],
  ])('%j ⇒ scimType %s (RFC 7644 §3.12)', (body, scimType) => {
    try {
      readActiveFromPatch(body);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ScimRequestError);
      expect((err as ScimRequestError).scimType).toBe(scimType);
    }
  });

  it('reads active from a full PUT user (Okta AIW, SailPoint)', () => {
    expect(readActiveFromPut({ schemas: [U], userName: 'a', active: false })).toBe(false);
    expect(readActiveFromPut({ schemas: [U], userName: 'a', active: 'True' })).toBe(true);
    expect(readActiveFromPut({ schemas: [U], userName: 'a' })).toBeUndefined();
    expect(() => readActiveFromPut({ schemas: [U], active: 'maybe' })).toThrow(ScimRequestError);
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

  it('reads what Entra sends: externalId, emails[type eq "work"].value, and `and`', () => {
    expect(parseScimFilter('externalId eq "usr_1"')).toEqual([{ attribute: 'externalId', value: 'usr_1' }]);
    expect(parseScimFilter('emails[type eq "work"].value eq "a@x.io"')).toEqual([
      { attribute: 'emails.value', value: 'a@x.io', emailType: 'work' },
    ]);
    expect(parseScimFilter('userName eq "a and b" and externalId eq "x"')).toEqual([
      { attribute: 'userName', value: 'a and b' },
      { attribute: 'externalId', value: 'x' },
    ]);
    expect(parseScimFilter(`${U}:userName eq "a"`)).toEqual([{ attribute: 'userName', value: 'a' }]);
  });

  it.each([
    'userName sw "a"',
    'title eq "x"',
    'userName eq a',
    'userName eq "a" and active eq true',
    'userName eq "a" or userName eq "b"',
  ])('refuses %s', (f) => {
    expect(() => parseUserFilter(f)).toThrow(ValidationError);
  });
});
