import { createHash } from 'node:crypto';

/** What oidc-provider hands its adapter: a JSON-serialisable payload. */
export interface AdapterPayload {
  [key: string]: unknown;
  grantId?: string;
  uid?: string;
  userCode?: string;
  consumed?: unknown;
}

/**
 * The tokens an admin can see and revoke: a user's access and refresh tokens, and the access tokens an
 * application obtained for itself (client credentials, RFC 6749 §4.4), which have no user.
 */
export const LISTED_MODELS = new Set(['AccessToken', 'RefreshToken', 'ClientCredentials']);
export type ListedModel = 'AccessToken' | 'RefreshToken' | 'ClientCredentials';

/** A listed token, as the indexes know it. `jti` stays inside the store: it is the token value. */
export interface StoredToken {
  ref: string;
  jti: string;
  model: ListedModel;
  /** The user; empty for a client-credentials token (it has none). */
  accountId: string;
  clientId: string;
  /** Resource servers the token is for (an access token's audience; a refresh token's `resource`). */
  resourceServerIds: string[];
  scopes: string[];
  grantId: string | undefined;
  /** Epoch seconds. */
  iat: number;
  exp: number | undefined;
}

export interface StoredGrant {
  grantId: string;
  accountId: string;
  clientId: string;
  resourceServerIds: string[];
  payload: AdapterPayload;
  exp: number | undefined;
}

/** The three ways the console slices tokens and grants. */
export type IndexKey =
  | { kind: 'user'; value: string }
  | { kind: 'application'; value: string }
  | { kind: 'resourceServer'; value: string };

export function indexName(key: IndexKey): string {
  return `${key.kind}:${key.value}`;
}

/** Maps an audience / resource indicator to a resource server id. */
export type ResourceServerResolver = (audience: string) => string | undefined;

export interface StoreOptions {
  /** Audience → resource server id; default: nothing is a resource server. */
  resolveResourceServer?: ResourceServerResolver;
}

/**
 * oidc-provider's adapter interface, for every model at once, plus indexes of listed tokens and grants
 * by user, application and resource server. Memory and Redis implement it and share one test suite.
 */
export interface TokenStore {
  upsert(model: string, id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void>;
  find(model: string, id: string): Promise<AdapterPayload | undefined>;
  findByUid(model: string, uid: string): Promise<AdapterPayload | undefined>;
  findByUserCode(model: string, userCode: string): Promise<AdapterPayload | undefined>;
  consume(model: string, id: string): Promise<void>;
  destroy(model: string, id: string): Promise<void>;
  revokeByGrantId(model: string, grantId: string): Promise<void>;

  /** Live (unexpired, unconsumed) listed tokens in an index, oldest first. */
  listTokens(key: IndexKey): Promise<StoredToken[]>;
  /** Live listed tokens of one grant. */
  listGrantTokens(grantId: string): Promise<StoredToken[]>;
  tokenByRef(ref: string): Promise<StoredToken | undefined>;
  /** Destroys tokens; returns those that were still alive. */
  destroyTokens(tokens: readonly StoredToken[]): Promise<StoredToken[]>;
  listGrants(key: IndexKey): Promise<StoredGrant[]>;
  /** Ends every sign-in session (oidc-provider `Session`) of an account; returns how many there were. */
  destroySessions(accountId: string): Promise<number>;

  /** Console users (JSON records by internal id), so a restart keeps disables and credential changes. */
  loadUsers(): Promise<string[]>;
  saveUser(id: string, record: string): Promise<void>;

  /** Small persistent settings (signing keys, cookie keys). */
  getMeta(key: string): Promise<string | undefined>;
  /** Sets when absent; returns the value that is stored afterwards (so concurrent starts agree). */
  setMetaIfAbsent(key: string, value: string): Promise<string>;
  deleteMeta(key: string): Promise<void>;
  close(): Promise<void>;
}

/** What admins see instead of a token: a hash of the jti, which is also the opaque token value. */
export function tokenRef(jti: string): string {
  return `tok_${createHash('sha256').update(jti).digest('base64url').slice(0, 22)}`;
}

function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return [];
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** The index entry of an AccessToken / RefreshToken payload, or undefined for anything else. */
export function describeToken(
  model: string,
  id: string,
  payload: AdapterPayload,
  resolve: ResourceServerResolver,
): StoredToken | undefined {
  if (!LISTED_MODELS.has(model)) return undefined;
  const accountId = model === 'ClientCredentials' ? '' : payload.accountId;
  const clientId = payload.clientId;
  if (typeof accountId !== 'string' || typeof clientId !== 'string') return undefined;
  // Access tokens carry the resource server as `aud`; refresh tokens as the `resource` of their flow.
  const audiences = model === 'RefreshToken' ? strings(payload.resource) : strings(payload.aud);
  const resourceServerIds = [...new Set(audiences.map(resolve).filter((x): x is string => x !== undefined))];
  return {
    ref: tokenRef(id),
    jti: id,
    model: model as ListedModel,
    accountId,
    clientId,
    resourceServerIds,
    scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
    grantId: typeof payload.grantId === 'string' ? payload.grantId : undefined,
    iat: num(payload.iat) ?? Math.floor(Date.now() / 1000),
    exp: num(payload.exp),
  };
}

export function describeGrant(
  id: string,
  payload: AdapterPayload,
  resolve: ResourceServerResolver,
): StoredGrant | undefined {
  const { accountId, clientId } = payload;
  if (typeof accountId !== 'string' || typeof clientId !== 'string') return undefined;
  const resources =
    payload.resources && typeof payload.resources === 'object' ? Object.keys(payload.resources) : [];
  return {
    grantId: id,
    accountId,
    clientId,
    resourceServerIds: [...new Set(resources.map(resolve).filter((x): x is string => x !== undefined))],
    payload,
    exp: num(payload.exp),
  };
}

export function tokenIndexKeys(t: StoredToken): IndexKey[] {
  return [
    ...(t.accountId === '' ? [] : [{ kind: 'user', value: t.accountId } as const]),
    { kind: 'application', value: t.clientId },
    ...t.resourceServerIds.map((value): IndexKey => ({ kind: 'resourceServer', value })),
  ];
}

export function grantIndexKeys(g: StoredGrant): IndexKey[] {
  return [
    { kind: 'user', value: g.accountId },
    { kind: 'application', value: g.clientId },
    ...g.resourceServerIds.map((value): IndexKey => ({ kind: 'resourceServer', value })),
  ];
}

/** The account a `Session` payload is signed in as, if any (sessions are indexed by it). */
export function sessionAccount(model: string, payload: AdapterPayload): string | undefined {
  return model === 'Session' && typeof payload.accountId === 'string' ? payload.accountId : undefined;
}

export function isLive(exp: number | undefined, nowSeconds = Date.now() / 1000): boolean {
  return exp === undefined || exp > nowSeconds;
}
