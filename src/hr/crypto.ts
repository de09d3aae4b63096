import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export function hmac(
  algorithm: 'sha256' | 'sha512',
  key: string | Buffer,
  data: Buffer,
  encoding: 'hex' | 'base64',
): string {
  return createHmac(algorithm, key).update(data).digest(encoding);
}

/**
 * Constant-time string equality. Both sides are hashed first so lengths match and a length
 * difference leaks nothing either.
 */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

export function sha256Hex(...parts: string[]): string {
  const h = createHash('sha256');
  // A separator no id contains, so ("ab","c") and ("a","bc") hash differently.
  for (const p of parts) h.update(p, 'utf8').update('\u0000');
  return h.digest('hex');
}
