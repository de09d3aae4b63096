import type { AxiosInstance, AxiosResponse } from 'axios';
import { z } from 'zod';
import { ConflictError } from '../../domain/errors.ts';
import type { Target } from '../../domain/target.ts';
import { ClientCredentialsTokenCache } from '../client-credentials.ts';
import { IdpNotFoundError, IdpUnauthorizedError, IdpUnsupportedError } from '../errors.ts';
import { createIdpHttpClient, parseResponse } from '../http-client.ts';
import type {
  Capabilities,
  IdentityProvider,
  IdpApplication,
  IdpResourceServer,
  IdpUser,
  PartOutcome,
  PermissionProbe,
  RevocationPlan,
  RevokeResult,
  TokenInfo,
  TokenRef,
  VerifyContext,
  VerifyResult,
} from '../port.ts';
import { bulkPlan, enc, MAX_PAGES, singleStepPlan, unlessNotFound } from './support.ts';

export interface Auth0IdentityProviderOptions {
  /** Tenant domain, e.g. `acme.eu.auth0.com`; the Management API audience is `https://{domain}/api/v2/`. */
  domain: string;
  clientId: string;
  clientSecret: string;
  /** Where to send calls. Default: `https://{domain}` (set it to reach a local stand-in). */
  baseUrl?: string;
  /** Per-call timeout. Default: 10 000 ms. */
  timeoutMs?: number;
  /**
   * After Auth0 refused an Enterprise-only endpoint for the tenant's plan, how long the grant-based path is used
   * before the Enterprise endpoints are tried again (a plan upgrade, or a 403 that was not the plan, is then
   * noticed). Default: 15 min.
   */
  reprobeMs?: number;
  /** Clock. Default: `Date.now`. */
  now?: () => number;
}

// Management API v2 shapes: users, clients, resource-servers, refresh tokens, sessions, grants, device credentials.
const Auth0UserSchema = z.object({
  user_id: z.string(),
  email: z.string().nullish(),
  name: z.string().nullish(),
  nickname: z.string().nullish(),
  username: z.string().nullish(),
  blocked: z.boolean().nullish(),
});
const ClientSchema = z.object({ client_id: z.string(), name: z.string() });
const ResourceServerSchema = z.object({
  id: z.string(),
  name: z.string(),
  identifier: z.string(),
  scopes: z.array(z.object({ value: z.string() })).nullish(),
});
const RefreshTokenSchema = z.object({
  id: z.string(),
  user_id: z.string(),
  client_id: z.string(),
  created_at: z.string().nullish(),
  expires_at: z.string().nullish(),
  resource_servers: z.array(z.object({ audience: z.string(), scopes: z.string().nullish() })).nullish(),
});
type RefreshToken = z.infer<typeof RefreshTokenSchema>;
const RefreshTokenPageSchema = z.object({ tokens: z.array(RefreshTokenSchema), next: z.string().nullish() });
/** `GET /users/{id}/sessions` (users/get-sessions-for-user): checkpoint paging like refresh tokens. */
const SessionPageSchema = z.object({
  sessions: z.array(z.object({ id: z.string(), user_id: z.string(), created_at: z.string().nullish() })),
  next: z.string().nullish(),
});
/** `GET /grants` (grants/get-grants): the user's consent for a client and audience. */
const GrantSchema = z.object({
  id: z.string(),
  user_id: z.string(),
  clientID: z.string(),
  audience: z.string(),
});
type Grant = z.infer<typeof GrantSchema>;
/** `GET /device-credentials` (device-credentials/get-device-credentials): refresh tokens on every plan. */
const DeviceCredentialSchema = z.object({
  id: z.string(),
  type: z.string(),
  user_id: z.string().nullish(),
  client_id: z.string().nullish(),
});

const PER_PAGE = 100;

/** The refresh-token endpoints a single token needs are Enterprise-plan only. */
export const AUTH0_PLAN_REASON =
  'Unsupported on this Auth0 plan: the Management API refresh-token and session endpoints are available on Enterprise plans only.';
/** Why sessions cannot be ended nor seen below Enterprise, in Auth0's words. */
const SESSIONS_PLAN_WHY =
  'Auth0 offers its session endpoints on Enterprise plans only ("The Auth0 Management API session management endpoints are available to customers on Enterprise plans", auth0.com/docs/manage-users/sessions/manage-user-sessions-with-auth0-management-api): sessions were neither ended nor listed';
/** Where a grant's id is carried as a token id (the plan's record for application and API scopes). */
const GRANT = 'grant:';
/** The id `probePermissions` asks about: no such user, grant or token exists, so nothing is revoked. */
const PROBE_ID = 'revoker-doctor-probe';

const NOTES_ENTERPRISE = {
  token: 'Auth0 revokes the refresh token; access tokens already issued stay valid until they expire.',
  user: "Revokes the user's refresh tokens and ends their sessions (Auth0 keeps the two apart; both are listed again to verify); issued access tokens live until they expire.",
  application:
    "Deletes every user's grant for this application (GET /grants?client_id=): the refresh tokens issued under a grant die with it; access tokens live until they expire.",
  resourceServer:
    "Deletes every user's grant for this API (GET /grants?audience=): the refresh tokens issued under a grant die with it; access tokens live until they expire.",
};
const NOTE_USER_BELOW_ENTERPRISE =
  "Below Enterprise: deletes the user's grants and refresh tokens (device credentials); their sessions can be neither ended nor listed (Auth0's session endpoints are Enterprise only) and are reported unverifiable; access tokens live until they expire.";

/**
 * Auth0 through the Management API v2. A user's refresh tokens and sessions are revoked with the user's bulk
 * calls (Enterprise), or through grants and device credentials on other plans; an application or an API by
 * deleting the grants issued for it (every refresh token issued under a grant dies with it). Access tokens are
 * JWTs Auth0 cannot recall: they live until they expire.
 */
export class Auth0IdentityProvider implements IdentityProvider {
  readonly name = 'auth0';
  readonly capabilities: Capabilities = {
    scopes: { token: true, user: true, application: true, resourceServer: true },
    unsupportedReasons: {},
    notes: { ...NOTES_ENTERPRISE },
    listTokens: true,
    search: true,
  };
  private readonly http: AxiosInstance;
  private readonly reprobeMs: number;
  private readonly now: () => number;
  /** When Auth0 last refused an Enterprise-only endpoint for the plan; undefined while they answer. */
  private planRefusedAt: number | undefined;

  constructor(options: Auth0IdentityProviderOptions) {
    this.reprobeMs = options.reprobeMs ?? 15 * 60_000;
    this.now = options.now ?? Date.now;
    const base = (options.baseUrl ?? `https://${options.domain}`).replace(/\/+$/, '');
    const tokens = new ClientCredentialsTokenCache({
      tokenUrl: `${base}/oauth/token`,
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      audience: `https://${options.domain}/api/v2/`,
      bodyFormat: 'json',
      idpName: 'Auth0',
    });
    this.http = createIdpHttpClient({
      baseURL: `${base}/api/v2`,
      auth: tokens.getToken,
      invalidateAuth: tokens.invalidate,
      idpName: 'Auth0',
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
  }

  async searchUsers(query: string, limit = 20): Promise<IdpUser[]> {
    // Lucene syntax (user search v3): prefix match on email or name, special characters escaped.
    const term = query.replace(/[+\-!(){}[\]^"~*?:\\/&|\s]/g, '\\$&');
    const res = await this.http.get('/users', {
      params: { q: `email:${term}* OR name:${term}*`, search_engine: 'v3', per_page: limit },
    });
    return parseResponse(Auth0UserSchema.array(), res.data, 'Auth0 user search').slice(0, limit).map(toUser);
  }

  async getUser(userId: string): Promise<IdpUser> {
    const res = await this.http.get(`/users/${enc(userId)}`);
    return toUser(parseResponse(Auth0UserSchema, res.data, 'Auth0 user'));
  }

  /**
   * Auth0 stores the emails of its own database users in lower case but keeps an external IdP's as that IdP
   * sent them, and `users-by-email` matches exactly ("make sure the search is made using the correct
   * capitalization", users-by-email/get-users-by-email). User search v3 compares the normalized `email` field
   * case-insensitively (user-search-query-syntax), so one exact-phrase search finds every spelling (the exact
   * endpoint is asked too when the search finds none: the index trails writes); several distinct users (one
   * email in several connections) are refused, naming them, rather than picking one.
   */
  async findUserByEmail(email: string): Promise<IdpUser | undefined> {
    const phrase = email.replace(/["\\]/g, '\\$&');
    const res = await this.http.get('/users', {
      params: { q: `email:"${phrase}"`, search_engine: 'v3', per_page: 10 },
    });
    let found = parseResponse(Auth0UserSchema.array(), res.data, 'Auth0 user search').filter(
      (u) => u.email?.toLowerCase() === email.toLowerCase(),
    );
    if (found.length === 0) {
      // The search index trails writes by a few seconds: a user just created is asked for exactly, as given
      // and lower case (how Auth0 stores its own database users' emails).
      const byId = new Map<string, z.infer<typeof Auth0UserSchema>>();
      for (const spelling of new Set([email, email.toLowerCase()])) {
        const exact = await this.http.get('/users-by-email', { params: { email: spelling } });
        for (const u of parseResponse(Auth0UserSchema.array(), exact.data, 'Auth0 users-by-email'))
          byId.set(u.user_id, u);
      }
      found = [...byId.values()];
    }
    if (found.length > 1) {
      throw new ConflictError(
        `${found.length} Auth0 users have the email ${email} (${found.map((u) => u.user_id).join(', ')}); name the user by id`,
      );
    }
    return found[0] ? toUser(found[0]) : undefined;
  }

  async searchApplications(query: string, limit = 20): Promise<IdpApplication[]> {
    // The clients endpoint has no text filter: page through and match names here.
    const q = query.toLowerCase();
    const out: IdpApplication[] = [];
    for (let page = 0; page < 10 && out.length < limit; page++) {
      const res = await this.http.get('/clients', {
        params: { fields: 'client_id,name', include_fields: true, per_page: PER_PAGE, page },
      });
      const clients = parseResponse(ClientSchema.array(), res.data, 'Auth0 clients');
      for (const c of clients)
        if (c.name.toLowerCase().includes(q)) out.push({ id: c.client_id, name: c.name });
      if (clients.length < PER_PAGE) break;
    }
    return out.slice(0, limit);
  }

  async getApplication(applicationId: string): Promise<IdpApplication> {
    const res = await this.http.get(`/clients/${enc(applicationId)}`, {
      params: { fields: 'client_id,name', include_fields: true },
    });
    const c = parseResponse(ClientSchema, res.data, 'Auth0 client');
    return { id: c.client_id, name: c.name };
  }

  async searchResourceServers(query: string, limit = 20): Promise<IdpResourceServer[]> {
    const q = query.toLowerCase();
    const out: IdpResourceServer[] = [];
    for (let page = 0; page < 10 && out.length < limit; page++) {
      const res = await this.http.get('/resource-servers', { params: { per_page: PER_PAGE, page } });
      const servers = parseResponse(ResourceServerSchema.array(), res.data, 'Auth0 resource servers');
      for (const s of servers) {
        if (s.name.toLowerCase().includes(q) || s.identifier.toLowerCase().includes(q))
          out.push(toResourceServer(s));
      }
      if (servers.length < PER_PAGE) break;
    }
    return out.slice(0, limit);
  }

  async getResourceServer(resourceServerId: string): Promise<IdpResourceServer> {
    const res = await this.http.get(`/resource-servers/${enc(resourceServerId)}`);
    return toResourceServer(parseResponse(ResourceServerSchema, res.data, 'Auth0 resource server'));
  }

  async listUserTokens(userId: string): Promise<TokenInfo[]> {
    return (await this.userTokens(userId)).map((t) => ({
      id: t.id,
      userId: t.user_id,
      type: 'refresh_token',
      applicationId: t.client_id,
      ...(t.resource_servers?.[0] ? { resourceServerId: t.resource_servers[0].audience } : {}),
      scopes: (t.resource_servers ?? []).flatMap((r) => (r.scopes ? r.scopes.split(' ') : [])),
      ...(t.created_at ? { issuedAt: t.created_at } : {}),
      ...(t.expires_at ? { expiresAt: t.expires_at } : {}),
    }));
  }

  async plan(target: Target): Promise<RevocationPlan> {
    switch (target.kind) {
      case 'token':
        return {
          target,
          steps: [target],
          tokens: [{ id: target.tokenId, userId: target.userId }],
          userCount: 1,
          tokenCount: 1,
        };
      case 'user': {
        // One bulk step, the widest call Auth0 has; it answers nothing (202), so the listing is the record.
        const listed = await this.enterpriseOr(
          async () => (await this.userTokens(target.userId)).map(toRef),
          async () =>
            (await this.deviceCredentials(target.userId)).map((d) => ({ id: d.id, userId: target.userId })),
        );
        return singleStepPlan(target, 1, listed);
      }
      case 'application':
      case 'resourceServer':
        // One bulk step over the grants issued for it; the grants listed now are the record.
        return bulkPlan(target, (await this.grantsFor(target)).map(grantRef));
    }
  }

  async revoke(step: Target): Promise<RevokeResult> {
    switch (step.kind) {
      case 'token': {
        if (step.tokenId.startsWith(GRANT)) {
          const gone = await this.deleteGrant(step.tokenId.slice(GRANT.length));
          return { revoked: gone ? [{ id: step.tokenId, userId: step.userId }] : [] };
        }
        if (!this.enterprise()) throw new IdpUnsupportedError(AUTH0_PLAN_REASON);
        // 404: already revoked by an earlier attempt of this step.
        const done = await unlessNotFound(async () => {
          await this.planGated(() => this.http.delete(`/refresh-tokens/${enc(step.tokenId)}`));
          return true;
        }, false);
        return { revoked: done ? [{ id: step.tokenId, userId: step.userId }] : [] };
      }
      case 'user': {
        const user = enc(step.userId);
        // Refresh tokens and sessions are independent at Auth0: each has its own call, and both are made.
        const revoked = await this.enterpriseOr(
          async () => {
            await this.planGated(() => this.http.delete(`/users/${user}/refresh-tokens`));
            return [] as TokenRef[];
          },
          async () => {
            // delete-grants-by-user-id: every token issued under the user's grants dies with them; refresh
            // tokens left (device credentials) are deleted one by one, and are what the call revoked.
            await this.http.delete('/grants', { params: { user_id: step.userId } });
            const out: TokenRef[] = [];
            for (const d of await this.deviceCredentials(step.userId)) {
              const gone = await unlessNotFound(async () => {
                await this.http.delete(`/device-credentials/${enc(d.id)}`);
                return true;
              }, false);
              if (gone) out.push({ id: d.id, userId: step.userId });
            }
            return out;
          },
        );
        if (this.enterprise()) {
          try {
            await this.planGated(() => this.http.delete(`/users/${user}/sessions`));
          } catch (err) {
            // The plan refused sessions: verify reports them unverifiable; any other failure fails the step.
            if (!(err instanceof IdpUnsupportedError)) throw err;
          }
        }
        return { revoked };
      }
      case 'application':
      case 'resourceServer': {
        // Listed again after each round: a listing capped or paged past what it returns still shows the rest once
        // the first ones are gone. Stops when nothing is listed, or nothing listed could be deleted.
        const revoked: TokenRef[] = [];
        for (let round = 0; round < MAX_PAGES; round++) {
          const listed = await this.grantsFor(step);
          let deleted = 0;
          for (const g of listed) {
            if (await this.deleteGrant(g.id)) {
              revoked.push(grantRef(g));
              deleted += 1;
            }
          }
          if (listed.length === 0 || deleted === 0) break;
        }
        return { revoked };
      }
    }
  }

  /**
   * Lists again what the target reaches, counting only what was issued before `since` (the plan's cut-off: a
   * user who signs in again meanwhile holds tokens this revocation never covered) and saying so in each part.
   */
  async verify(target: Target, context?: VerifyContext): Promise<VerifyResult> {
    const since = context?.since;
    const before = (iso: string | null | undefined) => !since || !iso || Date.parse(iso) < since.getTime();
    // A stable name (no timestamp): the same request retried or replayed names its parts alike; `since` is the
    // plan's start, stored with the plan.
    const cut = since ? ' issued before the start' : '';
    switch (target.kind) {
      case 'token': {
        if (target.tokenId.startsWith(GRANT)) {
          const id = target.tokenId.slice(GRANT.length);
          const alive = (await this.grants({ user_id: target.userId })).some((g) => g.id === id);
          return result([
            part(`grant ${id} and its refresh tokens`, alive ? [{ id: target.tokenId }] : [], 'list'),
          ]);
        }
        const alive = await unlessNotFound(async () => {
          const res = await this.planGated(() => this.http.get(`/refresh-tokens/${enc(target.tokenId)}`));
          return before(parseResponse(RefreshTokenSchema, res.data, 'Auth0 refresh token').created_at);
        }, false);
        const remaining = alive ? [{ id: target.tokenId, userId: target.userId }] : [];
        return result([part('refresh token', remaining, 'list')]);
      }
      case 'user': {
        const parts = await this.enterpriseOr(
          async () => {
            const tokens = (await this.userTokens(target.userId)).filter((t) => before(t.created_at));
            return [part(`refresh tokens${cut}`, tokens.map(toRef), 'list')];
          },
          async () => {
            // Device credentials carry no issue time: every one listed counts.
            const left = await this.deviceCredentials(target.userId);
            return [
              part(
                'refresh tokens (device credentials, all counted: Auth0 lists no issue time)',
                left.map((d) => ({ id: d.id, userId: target.userId })),
                'list',
              ),
            ];
          },
        );
        parts.push(await this.sessionsPart(target.userId, before, cut));
        return result(parts);
      }
      case 'application':
      case 'resourceServer': {
        const remaining: TokenRef[] = [];
        for (const g of await this.grantsFor(target)) {
          // A grant still listed keeps working only through refresh tokens issued before the cut-off: where the
          // plan lists them, a grant whose tokens are all newer (a sign-in since) is not this revocation's.
          if (since && this.enterprise()) {
            const old = await unlessNotFound(
              async () =>
                (await this.userTokens(g.user_id)).some(
                  (t) => t.client_id === g.clientID && before(t.created_at),
                ),
              false,
            ).catch((err: unknown) => {
              if (err instanceof IdpUnsupportedError) return true;
              throw err;
            });
            if (!old) continue;
          }
          remaining.push(grantRef(g));
        }
        return result([part(`grants and the refresh tokens issued under them${cut}`, remaining, 'list')]);
      }
    }
  }

  /**
   * Reachability, and the start-up probe of the plan: one user's refresh tokens are asked for, so a tenant
   * whose plan lacks those endpoints declares the token scope unsupported before anyone asks for it.
   */
  async ping(): Promise<void> {
    const res = await this.http.get('/clients', { params: { fields: 'client_id,name', per_page: 1 } });
    parseResponse(ClientSchema.array(), res.data, 'Auth0 ping');
    const users = await this.http.get('/users', {
      params: { fields: 'user_id', include_fields: true, per_page: 1 },
    });
    const first = parseResponse(z.array(z.object({ user_id: z.string() })), users.data, 'Auth0 user list')[0];
    if (!first) return;
    try {
      await this.userTokens(first.user_id, 1);
    } catch (err) {
      if (!(err instanceof IdpUnsupportedError)) throw err; // declared: ready, with fewer scopes
    }
  }

  /**
   * Every permission each scope needs, the write ones included, probed on ids that do not exist (a 404, or an
   * empty listing, when permitted; 403 `insufficient_scope` when not): nothing is revoked. Names are Auth0's
   * Management API scopes (each endpoint's "Scopes", auth0.com/docs/api/management/v2).
   */
  async probePermissions(): Promise<PermissionProbe[]> {
    const user = enc(`auth0|${PROBE_ID}`);
    const calls: Record<string, () => Promise<unknown>> = {
      'read:users': () => this.http.get('/users', { params: { per_page: 1 } }),
      'read:clients': () => this.http.get('/clients', { params: { per_page: 1 } }),
      'read:resource_servers': () => this.http.get('/resource-servers', { params: { per_page: 1 } }),
      'read:refresh_tokens': () => this.http.get(`/users/${user}/refresh-tokens`, { params: { take: 1 } }),
      'delete:refresh_tokens': () => this.http.delete(`/refresh-tokens/${PROBE_ID}`),
      'read:sessions': () => this.http.get(`/users/${user}/sessions`),
      'delete:sessions': () => this.http.delete(`/users/${user}/sessions`),
      'read:grants': () =>
        this.http.get('/grants', { params: { user_id: `auth0|${PROBE_ID}`, per_page: 1 } }),
      'delete:grants': () => this.http.delete(`/grants/${PROBE_ID}`),
      'read:device_credentials': () =>
        this.http.get('/device-credentials', {
          params: { user_id: `auth0|${PROBE_ID}`, type: 'refresh_token' },
        }),
      'delete:device_credentials': () => this.http.delete(`/device-credentials/${PROBE_ID}`),
    };
    const needs: [PermissionProbe['scope'], string[]][] = [
      ['lookup', ['read:users', 'read:clients', 'read:resource_servers']],
      ['token', ['read:refresh_tokens', 'delete:refresh_tokens']],
      [
        'user',
        [
          'read:refresh_tokens',
          'delete:refresh_tokens',
          'read:sessions',
          'delete:sessions',
          'read:grants',
          'delete:grants',
          'read:device_credentials',
          'delete:device_credentials',
        ],
      ],
      ['application', ['read:grants', 'delete:grants']],
      ['resourceServer', ['read:grants', 'delete:grants']],
    ];
    const answers = new Map<string, Promise<Pick<PermissionProbe, 'ok' | 'detail'>>>();
    const probe = (permission: string) => {
      let p = answers.get(permission);
      if (!p) {
        p = probeOne(calls[permission]!);
        answers.set(permission, p);
      }
      return p;
    };
    const out: PermissionProbe[] = [];
    for (const [scope, permissions] of needs) {
      for (const permission of permissions) out.push({ scope, permission, ...(await probe(permission)) });
    }
    return out;
  }

  /** The sessions part of a user: listed where the plan allows (users/get-sessions-for-user), else unverifiable. */
  private async sessionsPart(
    userId: string,
    before: (iso: string | null | undefined) => boolean,
    cut: string,
  ): Promise<PartOutcome> {
    if (!this.enterprise()) return { part: 'sessions', outcome: 'unverifiable', why: SESSIONS_PLAN_WHY };
    try {
      const remaining: TokenRef[] = [];
      let from: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const res: AxiosResponse<unknown> = await this.planGated(() =>
          this.http.get(`/users/${enc(userId)}/sessions`, {
            params: { take: PER_PAGE, ...(from ? { from } : {}) },
          }),
        );
        const body = parseResponse(SessionPageSchema, res.data, 'Auth0 user sessions');
        for (const s of body.sessions)
          if (before(s.created_at)) remaining.push({ id: `session:${s.id}`, userId });
        from = body.next ?? undefined;
        if (!from || body.sessions.length === 0) break;
      }
      return part(`sessions${cut}`, remaining, 'list');
    } catch (err) {
      if (err instanceof IdpUnsupportedError)
        return { part: 'sessions', outcome: 'unverifiable', why: SESSIONS_PLAN_WHY };
      if (err instanceof IdpUnauthorizedError && auth0ErrorCode(err) === 'insufficient_scope')
        return {
          part: 'sessions',
          outcome: 'failed',
          why: 'Revoker may not list sessions: grant it read:sessions',
        };
      throw err;
    }
  }

  /** True while the Enterprise endpoints are to be used: never refused, or refused longer ago than `reprobeMs`. */
  private enterprise(): boolean {
    return this.planRefusedAt === undefined || this.now() - this.planRefusedAt >= this.reprobeMs;
  }

  /** Runs the Enterprise path, or the grant-based one when the plan refuses it (now or recently). */
  private async enterpriseOr<T>(enterprise: () => Promise<T>, other: () => Promise<T>): Promise<T> {
    if (this.enterprise()) {
      try {
        return await enterprise();
      } catch (err) {
        if (!(err instanceof IdpUnsupportedError)) throw err;
      }
    }
    return other();
  }

  /**
   * A call to an Enterprise-only endpoint. A 403 that is not a missing permission (`insufficient_scope`) is
   * Auth0 refusing the feature on this plan: the token scope (one refresh token by id) is declared unsupported
   * and users go through grants, until `reprobeMs` has passed and the endpoint is tried again; an answer from it
   * restores everything (a plan upgrade is noticed without a restart).
   */
  private async planGated<T>(call: () => Promise<T>): Promise<T> {
    try {
      const res = await call();
      if (this.planRefusedAt !== undefined) {
        this.planRefusedAt = undefined;
        this.declarePlan(true);
      }
      return res;
    } catch (err) {
      if (
        err instanceof IdpUnauthorizedError &&
        err.status === 403 &&
        auth0ErrorCode(err) !== 'insufficient_scope'
      ) {
        this.planRefusedAt = this.now();
        this.declarePlan(false);
        throw new IdpUnsupportedError(AUTH0_PLAN_REASON, { status: 403, cause: err });
      }
      throw err;
    }
  }

  private declarePlan(enterprise: boolean): void {
    const c = this.capabilities;
    c.scopes.token = enterprise;
    c.listTokens = enterprise;
    if (enterprise) delete c.unsupportedReasons.token;
    else c.unsupportedReasons.token = AUTH0_PLAN_REASON;
    c.notes = { ...NOTES_ENTERPRISE, ...(enterprise ? {} : { user: NOTE_USER_BELOW_ENTERPRISE }) };
  }

  /** Deletes one grant (grants/delete-grants-by-id); false when it was already gone. */
  private async deleteGrant(id: string): Promise<boolean> {
    return unlessNotFound(async () => {
      await this.http.delete(`/grants/${enc(id)}`);
      return true;
    }, false);
  }

  /** The grants an application (`client_id`) or an API (`audience`) holds, one filtered listing. */
  private async grantsFor(
    target: Extract<Target, { kind: 'application' | 'resourceServer' }>,
  ): Promise<Grant[]> {
    if (target.kind === 'application') return this.grants({ client_id: target.applicationId });
    const audience = (await this.getResourceServer(target.resourceServerId)).audience;
    return audience ? this.grants({ audience }) : [];
  }

  /** `GET /grants` with a filter, page by page (`page`/`per_page` ≤ 100, `include_totals`). */
  private async grants(filter: Record<string, string>): Promise<Grant[]> {
    const out: Grant[] = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const res: AxiosResponse<unknown> = await this.http.get('/grants', {
        params: { ...filter, per_page: PER_PAGE, page, include_totals: true },
      });
      const body = parseResponse(
        z.object({ grants: z.array(GrantSchema), total: z.number() }),
        res.data,
        'Auth0 grants',
      );
      out.push(...body.grants);
      if (body.grants.length < PER_PAGE || out.length >= body.total) break;
    }
    return out;
  }

  /** A user's refresh tokens as device credentials (every plan; no issue time is listed). */
  private async deviceCredentials(userId: string) {
    const res = await this.http.get('/device-credentials', {
      params: { user_id: userId, type: 'refresh_token' },
    });
    return parseResponse(DeviceCredentialSchema.array(), res.data, 'Auth0 device credentials').filter(
      (d) => d.type === 'refresh_token',
    );
  }

  private async userTokens(userId: string, limit = Number.POSITIVE_INFINITY): Promise<RefreshToken[]> {
    const out: RefreshToken[] = [];
    let from: string | undefined;
    for (let page = 0; page < MAX_PAGES && out.length < limit; page++) {
      const res: AxiosResponse<unknown> = await this.planGated(() =>
        this.http.get(`/users/${enc(userId)}/refresh-tokens`, {
          params: { take: Math.min(PER_PAGE, limit), ...(from ? { from } : {}) },
        }),
      );
      const body = parseResponse(RefreshTokenPageSchema, res.data, 'Auth0 refresh tokens');
      out.push(...body.tokens);
      from = body.next ?? undefined;
      if (!from || body.tokens.length === 0) break;
    }
    return out;
  }
}

/** One permission probe: permitted unless Auth0 answers 403 `insufficient_scope`. */
async function probeOne(call: () => Promise<unknown>): Promise<Pick<PermissionProbe, 'ok' | 'detail'>> {
  try {
    await call();
    return { ok: true };
  } catch (err) {
    if (err instanceof IdpNotFoundError) return { ok: true, detail: '404 for a probe id: permitted' };
    if (err instanceof IdpUnauthorizedError && auth0ErrorCode(err) === 'insufficient_scope')
      return { ok: false, detail: 'Auth0 answered 403 insufficient_scope' };
    if (err instanceof IdpUnauthorizedError && err.status === 403)
      return { ok: true, detail: 'not on this Auth0 plan (Enterprise only); grants are used instead' };
    return { ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
}

/** One part's outcome from what a listing still shows. */
function part(name: string, remaining: TokenRef[], method: 'list'): PartOutcome {
  return remaining.length === 0
    ? { part: name, outcome: 'verified', method }
    : { part: name, outcome: 'failed', why: `${remaining.length} still listed after revocation`, remaining };
}

/** The verify result of its parts: ok when none failed; what failed parts still list is `remaining`. */
function result(parts: PartOutcome[]): VerifyResult {
  // A failed part with nothing listed (a permission missing) is still something left: named by its part.
  const remaining = parts.flatMap((p) =>
    p.outcome !== 'failed' ? [] : p.remaining?.length ? p.remaining : [{ id: `unobserved:${p.part}` }],
  );
  if (remaining.length > 0) return { ok: false, remaining, method: 'list', parts };
  // Nothing failed, but a part nobody can observe (sessions below Enterprise): the request must end
  // `unverifiable` with why, never `verified`, whichever way the parts are read.
  const blind = parts.flatMap((p) => (p.outcome === 'unverifiable' ? [`${p.part}: ${p.why}`] : []));
  if (blind.length > 0)
    return { ok: true, remaining: [], method: 'none', unverifiable: blind.join('; '), parts };
  return { ok: true, remaining: [], method: 'list', parts };
}

function grantRef(g: Grant): TokenRef {
  return { id: `${GRANT}${g.id}`, userId: g.user_id };
}

/** Auth0's `errorCode` of the answer behind an IdP error (`insufficient_scope`, …). */
function auth0ErrorCode(err: IdpUnauthorizedError): string | undefined {
  const data = (err.cause as { response?: { data?: unknown } } | undefined)?.response?.data;
  const code = data && typeof data === 'object' ? (data as { errorCode?: unknown }).errorCode : undefined;
  return typeof code === 'string' ? code : undefined;
}

function toUser(u: z.infer<typeof Auth0UserSchema>): IdpUser {
  return {
    id: u.user_id,
    userName: u.username ?? u.email ?? u.nickname ?? u.user_id,
    ...(u.email ? { email: u.email } : {}),
    ...(u.name ? { displayName: u.name } : {}),
    active: u.blocked !== true,
  };
}

function toResourceServer(s: z.infer<typeof ResourceServerSchema>): IdpResourceServer {
  return { id: s.id, name: s.name, audience: s.identifier, scopes: (s.scopes ?? []).map((x) => x.value) };
}

function toRef(t: RefreshToken): TokenRef {
  return { id: t.id, userId: t.user_id };
}
