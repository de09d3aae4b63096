import type { Redis } from 'ioredis';

/**
 * What Revoker remembers of SCIM deactivations, per IdP user id:
 * `{prefix}:scim:deactivated:{id}` → the revocation request id, and
 * `{prefix}:scim:generation:{id}` → bumped on reactivation, so the next deactivation is a new request.
 */
export class ScimDeactivationStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async requestFor(userId: string): Promise<string | undefined> {
    return (await this.redis.get(`${this.prefix}:scim:deactivated:${userId}`)) ?? undefined;
  }

  async isDeactivated(userId: string): Promise<boolean> {
    return (await this.requestFor(userId)) !== undefined;
  }

  async deactivatedAmong(userIds: string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    const values = await this.redis.mget(...userIds.map((id) => `${this.prefix}:scim:deactivated:${id}`));
    return new Set(userIds.filter((_, i) => values[i] !== null));
  }

  async generation(userId: string): Promise<number> {
    return Number((await this.redis.get(`${this.prefix}:scim:generation:${userId}`)) ?? '0');
  }

  async record(userId: string, requestId: string): Promise<void> {
    await this.redis.set(`${this.prefix}:scim:deactivated:${userId}`, requestId);
  }

  /** Reactivated in the IdP: forget the deactivation; a later one revokes again. */
  async reactivate(userId: string): Promise<void> {
    const deleted = await this.redis.del(`${this.prefix}:scim:deactivated:${userId}`);
    if (deleted > 0) await this.redis.incr(`${this.prefix}:scim:generation:${userId}`);
  }
}
