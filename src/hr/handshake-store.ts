import type { Redis } from 'ioredis';
import { CredentialBox } from './credential-box.ts';
import type { HandshakeStore } from './hr-router.ts';

/** How long a received verification token is kept for the operator: Gusto can resend one on request. */
const KEEP_SECONDS = 7 * 86_400;

/**
 * Keeps a vendor's set-up value (Gusto's `verification_token`, which is also the future signing key)
 * in Redis sealed with HR_CREDENTIALS_KEY, for `revoker hr verification-token gusto`. Never in logs.
 */
export class RedisHandshakeStore implements HandshakeStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly credentialsKey: string | undefined,
  ) {}

  private key(source: string): string {
    return `${this.prefix}:hr:handshake:${source}`;
  }

  async store(source: string, value: string): Promise<boolean> {
    if (!this.credentialsKey) return false;
    await this.redis.set(
      this.key(source),
      new CredentialBox(this.credentialsKey).seal(value),
      'EX',
      KEEP_SECONDS,
    );
    return true;
  }

  async read(source: string): Promise<string | undefined> {
    const sealed = await this.redis.get(this.key(source));
    return sealed ? new CredentialBox(this.credentialsKey).open(sealed) : undefined;
  }
}
