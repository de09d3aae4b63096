import type { Scope, Target } from '../domain/target.ts';

/** A user as the IdP knows them (for pickers, HR/SCIM look-ups and confirmations). */
export interface IdpUser {
  id: string;
  /** Login name / user id shown in the console (may change; `id` does not). */
  userName: string;
  email?: string;
  displayName?: string;
  active: boolean;
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

export interface VerifyResult {
  /** True when nothing in scope still works. */
  ok: boolean;
  /** Tokens still alive in scope (ids only). */
  remaining: TokenRef[];
  /** How the check was made: re-listing, introspection, or none possible. */
  method: 'list' | 'introspection' | 'none';
}

/** The port every IdP adapter implements. All methods throw `IdpError` subclasses on failure. */
export interface IdentityProvider {
  readonly name: string;
  readonly capabilities: Capabilities;
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
  verify(target: Target): Promise<VerifyResult>;
  /** Cheap reachability check for /readyz. */
  ping(): Promise<void>;
}
