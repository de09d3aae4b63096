import type { AdminToken } from './admin-contract.ts';
import type { Catalog } from './directory/catalog.ts';
import type { IndexKey, StoredGrant, StoredToken, TokenStore } from './store/token-store.ts';

export interface RevokedRef {
  id: string;
  userId: string;
}

/** Models that hang off a grant and die with it. */
const GRANT_CHILDREN = ['AuthorizationCode', 'AccessToken', 'RefreshToken'];

/**
 * The console's four revocations over the store. Revoking "all of X" removes the tokens in scope and
 * the grants in scope, so nothing new can be minted from them; tokens out of scope are untouched.
 */
export class TokenRevoker {
  constructor(
    private readonly store: TokenStore,
    private readonly catalog: Catalog,
  ) {}

  list(key: IndexKey): Promise<StoredToken[]> {
    return this.store.listTokens(key);
  }

  /** One token of one user; undefined when the user has no such live token. */
  async revokeToken(accountId: string, ref: string): Promise<RevokedRef[] | undefined> {
    const token = await this.store.tokenByRef(ref);
    if (!token || token.accountId !== accountId) return undefined;
    return refs(await this.store.destroyTokens([token]));
  }

  /** Every token and grant of a user or application. */
  async revokeAll(key: Extract<IndexKey, { kind: 'user' | 'application' }>): Promise<RevokedRef[]> {
    const [tokens, grants] = await Promise.all([this.store.listTokens(key), this.store.listGrants(key)]);
    const revoked = await this.store.destroyTokens(tokens);
    await Promise.all(grants.map((g) => this.#destroyGrant(g.grantId)));
    return refs(revoked);
  }

  /**
   * Every token for a resource server. Grants that also serve other audiences (or hold tokens out of
   * scope) only lose this resource, so their other tokens keep working.
   */
  async revokeResourceServer(resourceServerId: string): Promise<RevokedRef[]> {
    const key: IndexKey = { kind: 'resourceServer', value: resourceServerId };
    const [tokens, grants] = await Promise.all([this.store.listTokens(key), this.store.listGrants(key)]);
    const revoked = await this.store.destroyTokens(tokens);
    const audience = this.catalog.resourceServer(resourceServerId)?.audience;
    await Promise.all(grants.map((g) => this.#narrowGrant(g, resourceServerId, audience)));
    return refs(revoked);
  }

  async #narrowGrant(grant: StoredGrant, resourceServerId: string, audience: string | undefined) {
    const remaining = await this.store.listGrantTokens(grant.grantId);
    const others = remaining.filter((t) => !t.resourceServerIds.includes(resourceServerId));
    const otherResources = grant.resourceServerIds.filter((r) => r !== resourceServerId);
    if (others.length === 0 && otherResources.length === 0) {
      await this.#destroyGrant(grant.grantId);
      return;
    }
    const resources = { ...((grant.payload.resources ?? {}) as Record<string, unknown>) };
    if (audience) delete resources[audience];
    const ttl = grant.exp ? Math.max(1, grant.exp - Math.floor(Date.now() / 1000)) : undefined;
    await this.store.upsert('Grant', grant.grantId, { ...grant.payload, resources }, ttl);
  }

  async #destroyGrant(grantId: string) {
    await Promise.all([
      this.store.destroy('Grant', grantId),
      ...GRANT_CHILDREN.map((m) => this.store.revokeByGrantId(m, grantId)),
    ]);
  }
}

function refs(tokens: readonly StoredToken[]): RevokedRef[] {
  return tokens.map((t) => ({ id: t.ref, userId: t.accountId }));
}

export function toAdminToken(t: StoredToken): AdminToken {
  return {
    id: t.ref,
    type: t.model === 'AccessToken' ? 'access_token' : 'refresh_token',
    userId: t.accountId,
    applicationId: t.clientId,
    resourceServerId: t.resourceServerIds[0] ?? null,
    scopes: t.scopes,
    issuedAt: new Date(t.iat * 1000).toISOString(),
    expiresAt: t.exp === undefined ? null : new Date(t.exp * 1000).toISOString(),
  };
}
