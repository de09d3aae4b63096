import { describe, expect, it } from 'vitest';
import { canonicalJson, csvField } from '../../../src/audit/index.ts';

describe('canonicalJson', () => {
  it('sorts keys at every depth, without whitespace, omitting undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 'x', null], c: true }, u: undefined })).toBe(
      '{"a":{"c":true,"d":[1,"x",null]},"b":1}',
    );
  });

  it('does not depend on insertion order', () => {
    expect(canonicalJson({ x: 1, y: 2 })).toBe(canonicalJson({ y: 2, x: 1 }));
  });

  it('escapes strings as JSON does and refuses non-finite numbers', () => {
    expect(canonicalJson('a"b\n')).toBe('"a\\"b\\n"');
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/non-finite/);
  });
});

describe('csvField', () => {
  it('quotes only when needed, doubling quotes (RFC 4180)', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
  });
});
