import { afterEach, describe, expect, it, vi } from 'vitest';
import { SignatureInvalidError } from '../../../src/hr/errors.ts';
import { HR_SOURCES } from '../../../src/hr/registry.ts';
import type { HrSource } from '../../../src/hr/source.ts';
import { VENDOR_VECTORS, type VendorVector } from './fixtures/vendor-vectors.ts';

/**
 * The verifiers against vectors that do not come from this repository (the vendor's published example,
 * or OpenSSL on the documented algorithm: see the fixture), so a misreading shared by our signer and
 * our verifier cannot pass.
 */
function verifyVector(source: HrSource, v: VendorVector, headers = v.headers): void {
  source.verify({ headers, rawBody: Buffer.from(v.body, 'utf8'), secret: v.secret, now: new Date(v.now) });
}

describe.each(VENDOR_VECTORS)('$source signature vector ($origin)', (v) => {
  const source = HR_SOURCES[v.source]!;

  it('is accepted by the verifier', () => {
    expect(() => verifyVector(source, v)).not.toThrow();
  });

  it('is refused once one byte of the body, the secret or the signature changes', () => {
    const body = v.body.replace(/\d(?=[^\d]*$)/, (d) => String((Number(d) + 1) % 10));
    expect(body).not.toBe(v.body);
    expect(() => verifyVector(source, { ...v, body })).toThrow(SignatureInvalidError);
    const i = Math.floor(v.secret.length / 2);
    const secret = `${v.secret.slice(0, i)}${v.secret[i] === 'A' ? 'B' : 'A'}${v.secret.slice(i + 1)}`;
    expect(() => verifyVector(source, { ...v, secret })).toThrow(SignatureInvalidError);
    const [name, value] = Object.entries(v.headers).find(([k]) => k.endsWith('signature'))!;
    const flipped = value.replace(/[0-9a-zA-Z](?=[^0-9a-zA-Z]*$)/, (c) => (c === 'a' ? 'b' : 'a'));
    expect(() => verifyVector(source, v, { ...v.headers, [name]: flipped })).toThrow(SignatureInvalidError);
  });

  it('is reproduced by src/hr signing the same body at the same instant', () => {
    if (v.source === 'bamboohr' || v.source === 'standard') {
      // Timestamped: sign at the vector's timestamp.
      const at =
        v.source === 'standard'
          ? new Date(Number(v.headers['webhook-timestamp']) * 1000)
          : new Date(v.headers['x-bamboohr-timestamp']!.replace('+0000', 'Z'));
      const signed = source.sign(v.secret, Buffer.from(v.body), at, v.headers['webhook-id']);
      expect(signed).toEqual(v.headers);
    } else {
      expect(source.sign(v.secret, Buffer.from(v.body), new Date(v.now))).toEqual(v.headers);
    }
  });
});

/**
 * A deliberately broken copy of each vendor verifier: the real source module, loaded with its HMAC
 * primitive swapped for a wrong hash or a wrong encoding. Each broken copy still agrees with itself
 * (its own signer and verifier round-trip, which is all the self-consistency tests could see) and
 * must refuse the vendor vector.
 */
const MUTATIONS = {
  'wrong hash': (alg: 'sha256' | 'sha512') => ({ alg: alg === 'sha256' ? 'sha512' : 'sha256' }) as const,
  'wrong encoding': (_alg: 'sha256' | 'sha512', enc: 'hex' | 'base64') =>
    ({ enc: enc === 'hex' ? 'base64' : 'hex' }) as const,
};
const MODULES: Record<string, string> = {
  bamboohr: '../../../src/hr/sources/bamboohr.ts',
  hibob: '../../../src/hr/sources/hibob.ts',
  gusto: '../../../src/hr/sources/gusto.ts',
  deel: '../../../src/hr/sources/deel.ts',
};

async function brokenSource(name: string, mutation: keyof typeof MUTATIONS): Promise<HrSource> {
  vi.resetModules();
  vi.doMock('../../../src/hr/crypto.ts', async (importOriginal) => {
    const real = await importOriginal<typeof import('../../../src/hr/crypto.ts')>();
    return {
      ...real,
      hmac: (alg: 'sha256' | 'sha512', key: string | Buffer, data: Buffer, enc: 'hex' | 'base64') => {
        const m: { alg?: 'sha256' | 'sha512'; enc?: 'hex' | 'base64' } = MUTATIONS[mutation](alg, enc);
        return real.hmac(m.alg ?? alg, key, data, m.enc ?? enc);
      },
    };
  });
  const mod = (await import(MODULES[name]!)) as Record<string, HrSource>;
  return Object.values(mod).find((s) => s.name === name)!;
}

describe('a broken copy of each vendor verifier fails its vendor vector', () => {
  afterEach(() => {
    vi.doUnmock('../../../src/hr/crypto.ts');
    vi.resetModules();
  });

  const cases = VENDOR_VECTORS.filter((v) => v.source in MODULES).flatMap((v) =>
    (Object.keys(MUTATIONS) as (keyof typeof MUTATIONS)[]).map((mutation) => ({ v, mutation })),
  );
  it.each(cases)('$v.source with a $mutation', async ({ v, mutation }) => {
    const broken = await brokenSource(v.source, mutation);
    expect(broken).not.toBe(HR_SOURCES[v.source]);
    if (mutation === 'wrong hash') {
      // Self-consistent: the broken copy accepts what the broken copy signs (all that the signer-vs-
      // verifier tests could see). (A wrong encoding may not round-trip: hex verifiers lower-case.)
      const now = new Date(v.now);
      const own = broken.sign(v.secret, Buffer.from(v.body), now);
      expect(() =>
        broken.verify({ headers: own, rawBody: Buffer.from(v.body), secret: v.secret, now }),
      ).not.toThrow();
    }
    // The vendor's signature is refused. (A fresh module graph: its error class is another copy.)
    expect(() => verifyVector(broken, v)).toThrow('signature mismatch');
  });
});

it('gusto: the vector verifies under the header name its docs spell, x_gusto_signature', () => {
  const v = VENDOR_VECTORS.find((x) => x.source === 'gusto')!;
  const headers = { x_gusto_signature: v.headers['x-gusto-signature']! };
  expect(() => verifyVector(HR_SOURCES.gusto!, v, headers)).not.toThrow();
});
