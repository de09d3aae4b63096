import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ConfigError } from '../domain/errors.ts';

/**
 * Seals small secrets Revoker must keep in Redis (a vendor's rotating OAuth tokens): AES-256-GCM under
 * HR_CREDENTIALS_KEY, a fresh 12-byte nonce each time, authenticated (a changed blob does not open).
 * Stored as `v1.<nonce>.<tag>.<ciphertext>`, base64url.
 */
export class CredentialBox {
  private readonly key: Buffer;

  constructor(base64Key: string | undefined) {
    if (!base64Key)
      throw new ConfigError('HR_CREDENTIALS_KEY', 'is needed to store vendor credentials in Redis');
    this.key = Buffer.from(base64Key, 'base64');
    if (this.key.length !== 32) throw new ConfigError('HR_CREDENTIALS_KEY', 'must be 32 bytes, base64');
  }

  seal(plain: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', nonce, cipher.getAuthTag(), data]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  /** Undefined when the blob is not ours or was sealed under another key. */
  open(sealed: string): string | undefined {
    const [version, nonce, tag, data] = sealed.split('.');
    if (version !== 'v1' || !nonce || !tag || data === undefined) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(nonce, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      return undefined;
    }
  }
}
