import { createHmac, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../domain/errors.ts';

/**
 * AUDIT_HMAC_KEY: the keys that sign audit entries, held outside Redis (the environment, a secret store).
 * `kid:secret[,kid:secret…]`: the first signs new entries, the others still verify entries they signed,
 * so a key is rotated by putting the new one first and keeping the old one until those entries are gone.
 * Someone who can write Redis but does not hold a key cannot forge an entry, nor recompute the chain.
 */
export class AuditKeys {
  private constructor(
    readonly current: { kid: string; secret: Buffer },
    private readonly all: Map<string, Buffer>,
  ) {}

  /** Parses AUDIT_HMAC_KEY; undefined when unset. Each secret must be at least 32 characters. */
  static parse(value: string | undefined): AuditKeys | undefined {
    if (value === undefined || value.trim() === '') return undefined;
    const all = new Map<string, Buffer>();
    let current: { kid: string; secret: Buffer } | undefined;
    for (const raw of value.split(',')) {
      const item = raw.trim();
      const colon = item.indexOf(':');
      const kid = colon > 0 ? item.slice(0, colon) : '';
      const secret = colon > 0 ? item.slice(colon + 1) : '';
      if (!/^[A-Za-z0-9_.-]{1,32}$/.test(kid) || secret.length < 32 || all.has(kid)) {
        throw new ConfigError(
          'AUDIT_HMAC_KEY',
          'must be kid:secret[,kid:secret…] with distinct key ids ([A-Za-z0-9_.-], ≤ 32) and secrets of ≥ 32 characters',
        );
      }
      const key = Buffer.from(secret, 'utf8');
      all.set(kid, key);
      current ??= { kid, secret: key };
    }
    return new AuditKeys(current!, all);
  }

  /** HMAC-SHA256 (hex) of an entry's chain hash under the current key: the hash covers every field and prevHash. */
  sign(hash: string): { kid: string; mac: string } {
    return { kid: this.current.kid, mac: mac(this.current.secret, hash) };
  }

  /** Does `macHex` sign `hash` under key `kid`? False for an unknown key id. */
  verify(hash: string, kid: string, macHex: string): boolean {
    const key = this.all.get(kid);
    if (!key) return false;
    const a = Buffer.from(mac(key, hash), 'hex');
    const b = Buffer.from(macHex, 'hex');
    return a.length === b.length && timingSafeEqual(a, b);
  }

  has(kid: string): boolean {
    return this.all.has(kid);
  }
}

function mac(key: Buffer, hash: string): string {
  return createHmac('sha256', key).update(`revoker-audit:${hash}`).digest('hex');
}
