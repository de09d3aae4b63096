import type { AdminToken } from './admin-contract.ts';
import type { Catalog } from './directory/catalog.ts';
import type { UserDirectory } from './directory/user-directory.ts';
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
    private readonly users: UserDirectory,
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

  /**
   * Every token and grant of an application: its users must sign in again (password) and consent before
   * it gets new tokens; their sessions stand for every other application.
   */
  async revokeAll(key: Extract<IndexKey, { kind: 'user' | 'application' }>): Promise<RevokedRef[]> {
    const [tokens, grants] = await Promise.all([this.store.listTokens(key), this.store.listGrants(key)]);
    if (key.kind === 'application') await this.#signOutOf(tokens, grants, `client:${key.value}`);
    const revoked = await this.store.destroyTokens(tokens);
    await Promise.all(grants.map((g) => this.#destroyGrant(g.grantId)));
    return refs(revoked);
  }

  /** The mark first (as for a user): a sign-in racing the revocation still has to sign in again. */
  async #signOutOf(tokens: readonly StoredToken[], grants: readonly StoredGrant[], mark: string) {
    // Client-credentials tokens have no user (accountId ''): nobody to sign out.
    const accounts = new Set(
      [...tokens.map((t) => t.accountId), ...grants.map((g) => g.accountId)].filter((a) => a !== ''),
    );
    const now = Math.floor(Date.now() / 1000);
    await Promise.all([...accounts].map((a) => this.users.signOutOf(a, [mark], now)));
  }

  /**
   * Every token and grant of a user, and every sign-in session: the next authorization, in any app,
   * asks for the password again (`prompt=none` gets `login_required`). The console's "all of a user"
   * and the automatic triggers (disable, user-id change, password change) all come here.
   */
  async revokeUser(accountId: string): Promise<RevokedRef[]> {
    // The mark first: a session re-saved by a request in flight while the rest runs comes back from
    // the dead with its old login time, and the mark ends it all the same.
    await this.users.signOut(accountId, Math.floor(Date.now() / 1000));
    const revoked = await this.revokeAll({ kind: 'user', value: accountId });
    await this.store.destroySessions(accountId);
    return revoked;
  }

  /**
   * Every token for a resource server, and that resource's consent in every grant (the app must send
   * the user through authorization again, with a new sign-in, to reach it). Grants that also serve other audiences only lose
   * this resource, so their other tokens keep working.
   *
   * A refresh token issued for this resource *and* others in one grant (RFC 8707 `resource` given
   * twice) is not killed but narrowed: it loses this resource (a refresh asking for it gets
   * `invalid_target`) and keeps obtaining tokens for the others. Killing it would revoke tokens of a
   * resource server nobody chose.
   */
  async revokeResourceServer(resourceServerId: string): Promise<RevokedRef[]> {
    const key: IndexKey = { kind: 'resourceServer', value: resourceServerId };
    const [tokens, grants] = await Promise.all([this.store.listTokens(key), this.store.listGrants(key)]);
    const audience = this.catalog.resourceServer(resourceServerId)?.audience;
    // Reaching this API again takes a new sign-in (password), not just a consent click.
    if (audience) await this.#signOutOf(tokens, grants, `resource:${audience}`);
    const shared = tokens.filter((t) => t.model === 'RefreshToken' && t.resourceServerIds.length > 1);
    const revoked = await this.store.destroyTokens(tokens.filter((t) => !shared.includes(t)));
    await Promise.all(shared.map((t) => this.#narrowRefreshToken(t, audience)));
    await Promise.all(grants.map((g) => this.#narrowGrant(g, audience)));
    return refs(revoked);
  }

  async #narrowRefreshToken(token: StoredToken, audience: string | undefined) {
    const payload = await this.store.find(token.model, token.jti);
    if (!payload || audience === undefined) return;
    const resource = (Array.isArray(payload.resource) ? payload.resource : [payload.resource]).filter(
      (r): r is string => typeof r === 'string' && r !== audience,
    );
    await this.store.upsert(token.model, token.jti, { ...payload, resource }, ttlOf(token.exp));
  }

  /**
   * The grant loses this resource's consent and keeps the rest, its OIDC scopes (`openid`,
   * `offline_access`) included even when nothing else is left: out of scope everything keeps working,
   * silent authorization for the app included (README "What each revocation ends").
   */
  async #narrowGrant(grant: StoredGrant, audience: string | undefined) {
    const resources = { ...((grant.payload.resources ?? {}) as Record<string, unknown>) };
    if (audience) delete resources[audience];
    await this.store.upsert('Grant', grant.grantId, { ...grant.payload, resources }, ttlOf(grant.exp));
  }

  async #destroyGrant(grantId: string) {
    await Promise.all([
      this.store.destroy('Grant', grantId),
      ...GRANT_CHILDREN.map((m) => this.store.revokeByGrantId(m, grantId)),
    ]);
  }
}

function ttlOf(exp: number | undefined): number | undefined {
  return exp ? Math.max(1, exp - Math.floor(Date.now() / 1000)) : undefined;
}

function refs(tokens: readonly StoredToken[]): RevokedRef[] {
  return tokens.map((t) => ({ id: t.ref, userId: t.accountId }));
}

export function toAdminToken(t: StoredToken): AdminToken {
  return {
    id: t.ref,
    type: t.model === 'RefreshToken' ? 'refresh_token' : 'access_token',
    ...(t.model === 'ClientCredentials' ? { grantType: 'client_credentials' as const } : {}),
    userId: t.accountId,
    applicationId: t.clientId,
    resourceServerId: t.resourceServerIds[0] ?? null,
    scopes: t.scopes,
    issuedAt: new Date(t.iat * 1000).toISOString(),
    expiresAt: t.exp === undefined ? null : new Date(t.exp * 1000).toISOString(),
  };
}
