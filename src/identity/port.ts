import type { Scope, Target } from '../domain/target.ts';

/** A user as the IdP knows them (for pickers, HR/SCIM look-ups and confirmations). */
export interface IdpUser {
  id: string;
  /** Login name / user id shown in the console (may change; `id` does not). */
  userName: string;
  email?: string;
  displayName?: string;
  active: boolean;
  /**
   * Directory groups, when the adapter reads them (the embedded IDaaS does); undefined when it cannot
   * tell, and then group rules (HR_<SOURCE>_GROUPS, PROTECTED_GROUPS) take the safe side.
   */
  groups?: string[];
}

/** How a user is named in approval messages: "Dave Dawson <dave@example.com>". */
export function userDisplayName(u: IdpUser): string {
  return `${u.displayName ?? u.userName}${u.email ? ` <${u.email}>` : ''}`;
}

export interface IdpApplication {
  id: string;
  name: string;
}

export interface IdpResourceServer {
  id: string;
  name: string;
  /** The resource indicator / audience URI. */
  audience?: string;
  scopes?: string[];
}

/** One token as listed by the IdP: never the token value. */
export interface TokenInfo {
  id: string;
  userId: string;
  type: 'access_token' | 'refresh_token';
  applicationId?: string;
  resourceServerId?: string;
  scopes: string[];
  issuedAt?: string;
  expiresAt?: string;
}

/** A reference to a token, enough to audit it. */
export interface TokenRef {
  id: string;
  userId?: string;
}

export interface Capabilities {
  /** Which of the four scopes this IdP can revoke; others are not offered. */
  scopes: Record<Scope, boolean>;
  /** Why a scope is not offered, in words an admin understands. */
  unsupportedReasons: Partial<Record<Scope, string>>;
  /** What a supported scope does not reach (e.g. access tokens live until expiry), for confirmations. */
  notes?: Partial<Record<Scope, string>>;
  /** The IdP can list a user's tokens (so the modal can show them and verify can re-list). */
  listTokens: boolean;
  /** The IdP can search users / apps / APIs (for external_select menus). */
  search: boolean;
}

/**
 * A dry run of a target: the IdP calls (`steps`, each itself a target the adapter revokes natively) and
 * the tokens and users we expect to die. Workers run each step as one child job, one IdP call.
 *
 * Fewest calls: a step is the widest native call the IdP has for the target (all of a user, an
 * application or a resource server in one call where it exists: then `steps` is `[target]`); per-token
 * or per-user fan-out only where the IdP has nothing wider.
 */
export interface RevocationPlan {
  target: Target;
  /** One IdP call each, as wide as the IdP allows. */
  steps: Target[];
  /**
   * A final bulk call over the whole target, run after fanned-out steps, when the IdP can issue tokens in
   * between and the sweep is the cheaper catch. Undefined when `steps` is the whole job.
   */
  sweep?: Target;
  /**
   * Tokens in scope, when the IdP can list them (empty when it cannot): the one listing made before the
   * bulk call, recorded as the request's scope. With the bulk call's answer it feeds the audit; a rerun
   * after a crash reconciles it with a verifying listing.
   */
  tokens: TokenRef[];
  /** Distinct users reached. */
  userCount: number;
  /** Token count, or undefined when the IdP cannot tell in advance. */
  tokenCount: number | undefined;
}

export interface RevokeResult {
  /** Tokens this call revoked, when the IdP says (for the audit log). */
  revoked: TokenRef[];
}

/**
 * What the IdP showed after the revocation. A check that observed the result says how (`list`: re-listed
 * what is in scope; `introspection`: asked about the token; `not-before`: read back the IdP's own cut-off
 * time and compared it with this revocation's). When the IdP offers no way to observe it, `method: 'none'`
 * with the reason: the request then ends `unverifiable`, never `verified`.
 */
export type VerifyResult =
  | {
      /** True when nothing in scope still works. */
      ok: boolean;
      /** Tokens still alive in scope (ids only). */
      remaining: TokenRef[];
      method: 'list' | 'introspection' | 'not-before';
      /** What each part of the scope showed; absent means one part, "tokens", judged by `ok`/`method`. */
      parts?: PartOutcome[];
    }
  | { ok: true; remaining: []; method: 'none'; unverifiable: string; parts?: PartOutcome[] };

/**
 * The outcome of one part of what a scope reaches (refresh tokens, access tokens, sessions, app passwords,
 * grants, app-role assignments, …). `verified` only for what the IdP showed dead after this revocation;
 * `unverifiable` names why nobody can observe it (e.g. "Okta offers no listing of a user's sessions");
 * `failed` names why (still works, or a call that failed for good). A request is `verified` only when every
 * part is; `unverifiable` when none failed and some part is unverifiable; otherwise `failed`.
 */
export type PartOutcome =
  | { part: string; outcome: 'verified'; method: 'list' | 'introspection' | 'not-before' | 'call-answer' }
  | { part: string; outcome: 'unverifiable'; why: string }
  | { part: string; outcome: 'failed'; why: string; remaining?: TokenRef[] };

/** What `verify` is told about the revocation it checks. */
export interface VerifyContext {
  /** When this revocation started (before its first IdP call): a cut-off the IdP shows must be at or after it. */
  since?: Date;
}

/**
 * What introspection (RFC 7662) says about a token value: never the value itself. `tokenId` is Revoker's
 * reference for it (`tok_…`, a hash of the value: the id the embedded IDaaS lists it under too).
 */
export interface TokenValueInfo {
  tokenId: string;
  active: boolean;
  /**
   * What introspection says the token is (RFC 7662 `token_type`, read as `access_token`, `refresh_token`,
   * `id_token`, or the server's own word for anything else); absent when it said nothing.
   */
  type?: string;
  /** `sub`: whose token it is (the IdP's user id). */
  subject?: string;
  username?: string;
  /** `client_id`: the application it was issued to (the only client that may revoke it, RFC 7009 §2.1). */
  clientId?: string;
  /** `aud`: the resource server(s) it is for. */
  audience?: string[];
  scopes?: string[];
  /** ISO-8601, from `exp` / `iat`. */
  expiresAt?: string;
  issuedAt?: string;
}

/** How a revocation by value ended; the audit's `outcome` (README "A leaked token, revoked by its value"). */
export type ValueRevocationOutcome = 'revoked' | 'still_active' | 'unverifiable';

/**
 * Revocation of a token by its value (a leaked token pasted from a ticket, a chat, a repository): the value
 * is only ever in memory, in the call, so this path is synchronous and never queued.
 */
export interface TokenValueRevocation {
  /** RFC 7662 introspection: whose, which client's, for what, until when. */
  inspect(value: string): Promise<TokenValueInfo>;
  /**
   * RFC 7009 revocation with the owning client's credentials, then introspection again. `outcome`:
   * `revoked` (a client saw it active before and sees it inactive now), `still_active`, or `unverifiable`
   * (no configured client could see it: revoked with each anyway, nothing to confirm). Without `outcome`,
   * `verified` decides between `revoked` and `still_active`.
   */
  revoke(
    value: string,
    info: TokenValueInfo,
  ): Promise<{ verified: boolean; outcome?: ValueRevocationOutcome }>;
  /** Readiness: every configured client authenticates. */
  ping(): Promise<void>;
}

/** The port every IdP adapter implements. All methods throw `IdpError` subclasses on failure. */
export interface IdentityProvider {
  readonly name: string;
  readonly capabilities: Capabilities;
  /** Present when the IdP can revoke a token by its value (introspection + revocation, with client credentials). */
  readonly tokenValues?: TokenValueRevocation;
  searchUsers(query: string, limit?: number): Promise<IdpUser[]>;
  getUser(userId: string): Promise<IdpUser>;
  findUserByEmail(email: string): Promise<IdpUser | undefined>;
  searchApplications(query: string, limit?: number): Promise<IdpApplication[]>;
  getApplication(applicationId: string): Promise<IdpApplication>;
  searchResourceServers(query: string, limit?: number): Promise<IdpResourceServer[]>;
  getResourceServer(resourceServerId: string): Promise<IdpResourceServer>;
  listUserTokens(userId: string): Promise<TokenInfo[]>;
  plan(target: Target): Promise<RevocationPlan>;
  revoke(step: Target): Promise<RevokeResult>;
  verify(target: Target, context?: VerifyContext): Promise<VerifyResult>;
  /** Cheap reachability check for /readyz. */
  ping(): Promise<void>;
  /**
   * For `revoker doctor`: probes the permissions each declared scope needs, the write ones included, without
   * revoking anything (e.g. a call on an id that does not exist: 404 when permitted, 403 when not).
   */
  probePermissions?(): Promise<PermissionProbe[]>;
}

/** One permission `revoker doctor` probed, named exactly as the vendor names it (e.g. `delete:sessions`). */
export interface PermissionProbe {
  /** The scope (or `lookup`, for user/app/API look-ups) that needs it. */
  scope: Scope | 'lookup';
  permission: string;
  ok: boolean;
  /** What the vendor answered, or why it could not be probed. */
  detail?: string;
}
