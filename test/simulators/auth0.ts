import { HttpResponse } from 'msw';
import type { Target } from '../../src/domain/target.ts';
import { type SimRequest, type SimRoute, SimRouter } from './sim-router.ts';
import type { CallMatch, ScenarioTargets, SimFault, VendorSimulator } from './types.ts';

/**
 * A stateful Auth0 tenant behind the Management API v2, as auth0.com/docs documents it. Rules and sources:
 * - Every Management API call needs a token from `POST /oauth/token` (client credentials, JSON body,
 *   `audience: https://{domain}/api/v2/`) whose scopes include the endpoint's permission; otherwise 403 with
 *   `errorCode: insufficient_scope` (each endpoint's "Scopes", auth0.com/docs/api/management/v2).
 * - Refresh-token and session endpoints are Enterprise only ("The Auth0 Management API session management
 *   endpoints are available to customers on Enterprise plans", manage-users/sessions/manage-user-sessions-with-
 *   auth0-management-api; the same for refresh tokens, secure/tokens/manage-refresh-tokens-with-auth0-
 *   management-api): other plans get 403 without `insufficient_scope`.
 * - Refresh-token deletes answer 202 and "are performed asynchronously and are eventually consistent"
 *   (manage refresh tokens, Limitations): the next listing still shows them, the one after does not.
 * - Sessions and refresh tokens are independent: deleting one leaves the other (manage user sessions / manage
 *   refresh tokens pages each revoke only their own).
 * - "Tokens are issued in the context of a grant, and when a grant is revoked, so are all tokens issued in the
 *   context of that grant" (secure/tokens/refresh-tokens/revoke-refresh-tokens).
 * - A user's email from Auth0's own database is stored lower case; "in cases where Auth0 is not the idP, the
 *   email is stored based on the rules of idP" (users-by-email/get-users-by-email): `users-by-email` matches
 *   exactly, while user search v3 values for normalized fields (email, name…) "are case insensitive"
 *   (manage-users/user-search/user-search-query-syntax).
 * - Rate limits: 429 with `X-RateLimit-Limit/-Remaining/-Reset` (epoch seconds) (troubleshoot/customer-support/
 *   operational-policies/rate-limit-policy).
 * Access tokens are JWTs Auth0 cannot recall ("Once issued, access tokens and ID tokens cannot be revoked",
 * secure/tokens/revoke-tokens):
 * they are not modelled, and no scope can reach them.
 */
export interface Auth0SimOptions {
  /** `enterprise` has the refresh-token and session endpoints; other plans do not. Default `enterprise`. */
  plan?: 'enterprise' | 'professional';
  /** Management API permissions the M2M app was not granted (e.g. `delete:sessions`). Default none. */
  withheld?: string[];
}

interface User {
  user_id: string;
  email: string;
  name: string;
  blocked?: boolean;
}
interface Grant {
  id: string;
  user_id: string;
  clientID: string;
  audience: string;
  scope: string[];
}
interface RefreshToken {
  id: string;
  deviceCredentialId: string;
  user_id: string;
  client_id: string;
  audience: string;
  grant_id: string;
  created_at: Date;
  /** Deleted with a 202, still listed once (eventual consistency). */
  deletePending: boolean;
}
interface Session {
  id: string;
  user_id: string;
  created_at: Date;
  clients: string[];
}

export const AUTH0_SIM_DOMAIN = 'acme.auth0.sim';
const ORIGIN = `https://${AUTH0_SIM_DOMAIN}`;
const API = '/api/v2';
/** Every Management API permission Revoker could be granted. */
export const AUTH0_PERMISSIONS = [
  'read:users',
  'read:clients',
  'read:resource_servers',
  'read:refresh_tokens',
  'delete:refresh_tokens',
  'read:sessions',
  'delete:sessions',
  'read:grants',
  'delete:grants',
  'read:device_credentials',
  'delete:device_credentials',
];

export class Auth0Simulator implements VendorSimulator {
  readonly vendor = 'auth0' as const;
  readonly origin = ORIGIN;
  plan: 'enterprise' | 'professional';
  readonly withheld: Set<string>;
  users: User[] = [];
  clients: { client_id: string; name: string }[] = [];
  resourceServers: { id: string; name: string; identifier: string }[] = [];
  grants: Grant[] = [];
  refreshTokens: RefreshToken[] = [];
  sessions: Session[] = [];
  /** Generated ids count from 0 again after `reset()`, so every run of a scenario makes the same calls (same URLs). */
  private seq = 0;
  /** Access tokens count apart from seeded ids (a retried token request shifts no seeded id), and never restart: a token cached from before a reset stays unknown. */
  private tokenSeq = 0;
  private readonly router: SimRouter;
  private readonly issued = new Map<string, Set<string>>();

  constructor(private readonly options: Auth0SimOptions = {}) {
    this.plan = options.plan ?? 'enterprise';
    this.withheld = new Set(options.withheld ?? []);
    this.router = new SimRouter({ origin: ORIGIN, routes: this.routes(), rateLimited: rateLimitAnswer });
  }

  get handlers() {
    return this.router.handlers;
  }
  get calls() {
    return this.router.calls;
  }

  env(): Record<string, string> {
    return {
      IDP: 'auth0',
      AUTH0_DOMAIN: AUTH0_SIM_DOMAIN,
      AUTH0_CLIENT_ID: 'revoker-m2m',
      AUTH0_CLIENT_SECRET: 'sim-m2m-secret',
      AUTH0_BASE_URL: ORIGIN,
    };
  }

  seedScenario(): ScenarioTargets {
    this.clients.push({ client_id: 'c_wiki', name: 'Wiki' }, { client_id: 'c_crm', name: 'CRM' });
    this.resourceServers.push({ id: 'rs_things', name: 'Things API', identifier: 'https://api.acme.test' });
    this.addUser({ user_id: 'auth0|ada', email: 'ada@acme.test', name: 'Ada' });
    // A federated user: the email as the upstream IdP sent it.
    this.addUser({ user_id: 'google-oauth2|bob', email: 'Bob.Jones@Acme.test', name: 'Bob' });
    this.addUser({ user_id: 'auth0|cy', email: 'cy@acme.test', name: 'Cy' });
    const adaWiki = this.issueRefreshToken('auth0|ada', 'c_wiki', 'https://api.acme.test');
    this.issueRefreshToken('auth0|ada', 'c_crm', 'https://crm.acme.test');
    this.addSession('auth0|ada', ['c_wiki']);
    this.issueRefreshToken('google-oauth2|bob', 'c_wiki', 'https://api.acme.test');
    this.addSession('google-oauth2|bob', ['c_wiki']);
    this.issueRefreshToken('auth0|cy', 'c_crm', 'https://crm.acme.test');
    return {
      token: { kind: 'token', userId: 'auth0|ada', tokenId: adaWiki.id },
      user: { kind: 'user', userId: 'auth0|ada' },
      application: { kind: 'application', applicationId: 'c_wiki' },
      resourceServer: { kind: 'resourceServer', resourceServerId: 'rs_things' },
    };
  }

  addUser(user: User): void {
    this.users.push(user);
  }

  /** A sign-in that yields a refresh token: under the user's grant for (client, audience), created if absent. */
  issueRefreshToken(userId: string, clientId: string, audience: string, at = new Date()): RefreshToken {
    let grant = this.grants.find(
      (g) => g.user_id === userId && g.clientID === clientId && g.audience === audience,
    );
    if (!grant) {
      grant = {
        id: this.id('cgr'),
        user_id: userId,
        clientID: clientId,
        audience,
        scope: ['offline_access'],
      };
      this.grants.push(grant);
    }
    const token: RefreshToken = {
      id: this.id('rt'),
      deviceCredentialId: this.id('dcr'),
      user_id: userId,
      client_id: clientId,
      audience,
      grant_id: grant.id,
      created_at: at,
      deletePending: false,
    };
    this.refreshTokens.push(token);
    return token;
  }

  addSession(userId: string, clients: string[], at = new Date()): Session {
    const s = { id: this.id('sess'), user_id: userId, created_at: at, clients };
    this.sessions.push(s);
    return s;
  }

  stillWorks(target: Target, options: { before?: Date } = {}): string[] {
    const before = (d: Date) => !options.before || d < options.before;
    const rts = this.refreshTokens.filter((t) => before(t.created_at));
    const describe = (t: RefreshToken) => `refresh_token ${t.id} (user ${t.user_id}, client ${t.client_id})`;
    switch (target.kind) {
      case 'token':
        return rts.filter((t) => t.id === target.tokenId).map(describe);
      case 'user':
        return [
          ...rts.filter((t) => t.user_id === target.userId).map(describe),
          ...this.sessions
            .filter((s) => s.user_id === target.userId && before(s.created_at))
            .map((s) => `session ${s.id} (user ${s.user_id})`),
        ];
      case 'application':
        return rts.filter((t) => t.client_id === target.applicationId).map(describe);
      case 'resourceServer': {
        const rs = this.resourceServers.find((r) => r.id === target.resourceServerId);
        return rts.filter((t) => t.audience === rs?.identifier).map(describe);
      }
    }
  }

  failOnce(match: CallMatch, fault: SimFault): void {
    this.router.failOnce(match, fault);
  }

  snapshot(): unknown {
    return {
      plan: this.plan,
      users: this.users.map((u) => u.user_id).sort(),
      grants: this.grants.map((g) => `${g.user_id} ${g.clientID} ${g.audience}`).sort(),
      refreshTokens: this.refreshTokens.map((t) => `${t.user_id} ${t.client_id} ${t.audience}`).sort(),
      sessions: this.sessions.map((s) => s.user_id).sort(),
    };
  }

  reset(): void {
    this.users = [];
    this.clients = [];
    this.resourceServers = [];
    this.grants = [];
    this.refreshTokens = [];
    this.sessions = [];
    this.issued.clear();
    this.seq = 0;
    this.router.reset();
    this.plan = this.options.plan ?? 'enterprise';
    this.withheld.clear();
    for (const p of this.options.withheld ?? []) this.withheld.add(p);
  }

  private id(prefix: string): string {
    this.seq += 1;
    return `${prefix}_${this.seq}`;
  }

  /** A listing that showed tokens whose delete was accepted: they are gone from the next one on. */
  private settle(shown: RefreshToken[]): void {
    const done = new Set(shown.filter((t) => t.deletePending).map((t) => t.id));
    if (done.size > 0) this.refreshTokens = this.refreshTokens.filter((t) => !done.has(t.id));
  }

  private deleteGrant(g: Grant): void {
    this.grants = this.grants.filter((x) => x.id !== g.id);
    // Tokens issued in the context of the grant die with it (revoke-refresh-tokens, "Refresh tokens and grants").
    this.refreshTokens = this.refreshTokens.filter((t) => t.grant_id !== g.id);
  }

  private routes(): SimRoute[] {
    const api = (
      method: string,
      pattern: string,
      permission: string,
      handle: (r: SimRequest) => Response,
      enterprise = false,
    ): SimRoute => ({
      method,
      pattern: `${API}${pattern}`,
      handle: (req) => {
        const scopes = this.issued.get((req.headers.get('authorization') ?? '').replace(/^Bearer /, ''));
        if (!scopes) return err(401, 'Unauthorized', 'Invalid token', 'invalid_token');
        if (!scopes.has(permission))
          return err(
            403,
            'Forbidden',
            `Insufficient scope, expected any of: ${permission}`,
            'insufficient_scope',
          );
        if (enterprise && this.plan !== 'enterprise')
          return HttpResponse.json(
            { statusCode: 403, error: 'Forbidden', message: 'This feature is not available on your plan' },
            { status: 403 },
          );
        return handle(req);
      },
    });
    const user = (id: string) => this.users.find((u) => u.user_id === id);
    return [
      {
        method: 'POST',
        pattern: '/oauth/token',
        // Client credentials for the Management API (get-management-api-access-tokens-for-production).
        handle: (req) => {
          const b = (req.body ?? {}) as Record<string, string>;
          const env = this.env();
          if (
            b.grant_type !== 'client_credentials' ||
            b.client_id !== env.AUTH0_CLIENT_ID ||
            b.client_secret !== env.AUTH0_CLIENT_SECRET
          )
            return HttpResponse.json(
              { error: 'access_denied', error_description: 'Unauthorized' },
              { status: 401 },
            );
          if (b.audience !== `https://${AUTH0_SIM_DOMAIN}/api/v2/`)
            return HttpResponse.json(
              { error: 'access_denied', error_description: 'Service not found' },
              { status: 403 },
            );
          const granted = AUTH0_PERMISSIONS.filter((p) => !this.withheld.has(p));
          const token = `sim-mgmt-at${++this.tokenSeq}`;
          this.issued.set(token, new Set(granted));
          return HttpResponse.json({
            access_token: token,
            scope: granted.join(' '),
            expires_in: 86400,
            token_type: 'Bearer',
          });
        },
      },
      api('GET', '/users', 'read:users', (req) => {
        const q = req.query.get('q');
        const perPage = Number(req.query.get('per_page') ?? 50);
        if (perPage > 100)
          return err(400, 'Bad Request', 'per_page must be at most 100', 'invalid_query_string');
        const page = Number(req.query.get('page') ?? 0);
        const hits = q ? this.users.filter((u) => matchesLucene(u, q)) : this.users;
        const slice = hits.slice(page * perPage, (page + 1) * perPage).map(userRep);
        return req.query.get('include_totals') === 'true'
          ? HttpResponse.json({ users: slice, start: page * perPage, limit: perPage, total: hits.length })
          : HttpResponse.json(slice);
      }),
      api('GET', '/users/{id}', 'read:users', (req) => {
        const u = user(req.params.id!);
        return u
          ? HttpResponse.json(userRep(u))
          : err(404, 'Not Found', 'The user does not exist.', 'inexistent_user');
      }),
      api('GET', '/users-by-email', 'read:users', (req) => {
        const email = req.query.get('email');
        if (!email) return err(400, 'Bad Request', 'Query validation error', 'invalid_query_string');
        return HttpResponse.json(this.users.filter((u) => u.email === email).map(userRep));
      }),
      api('GET', '/clients', 'read:clients', (req) => {
        const perPage = Number(req.query.get('per_page') ?? 50);
        const page = Number(req.query.get('page') ?? 0);
        return HttpResponse.json(this.clients.slice(page * perPage, (page + 1) * perPage));
      }),
      api('GET', '/clients/{id}', 'read:clients', (req) => {
        const c = this.clients.find((x) => x.client_id === req.params.id);
        return c
          ? HttpResponse.json(c)
          : err(404, 'Not Found', 'The client does not exist', 'inexistent_client');
      }),
      api('GET', '/resource-servers', 'read:resource_servers', () =>
        HttpResponse.json(this.resourceServers.map((r) => ({ ...r, scopes: [] }))),
      ),
      api('GET', '/resource-servers/{id}', 'read:resource_servers', (req) => {
        const r = this.resourceServers.find((x) => x.id === req.params.id);
        return r
          ? HttpResponse.json({ ...r, scopes: [] })
          : err(404, 'Not Found', 'The resource server does not exist', 'inexistent_resource_server');
      }),
      api(
        'GET',
        '/users/{id}/refresh-tokens',
        'read:refresh_tokens',
        (req) => {
          if (!user(req.params.id!))
            return err(404, 'Not Found', 'The user does not exist.', 'inexistent_user');
          const take = Number(req.query.get('take') ?? 50);
          if (take > 100) return err(400, 'Bad Request', 'take must be at most 100', 'invalid_query_string');
          const all = this.refreshTokens.filter((t) => t.user_id === req.params.id);
          const from = Number(req.query.get('from') ?? 0);
          const shown = all.slice(from, from + take);
          this.settle(shown);
          return HttpResponse.json({
            tokens: shown.map(rtRep),
            ...(from + take < all.length ? { next: String(from + take) } : {}),
          });
        },
        true,
      ),
      api(
        'DELETE',
        '/users/{id}/refresh-tokens',
        'delete:refresh_tokens',
        (req) => {
          if (!user(req.params.id!))
            return err(404, 'Not Found', 'The user does not exist.', 'inexistent_user');
          for (const t of this.refreshTokens) if (t.user_id === req.params.id) t.deletePending = true;
          return new HttpResponse(null, { status: 202 });
        },
        true,
      ),
      api(
        'GET',
        '/refresh-tokens/{id}',
        'read:refresh_tokens',
        (req) => {
          const t = this.refreshTokens.find((x) => x.id === req.params.id);
          if (!t)
            return err(404, 'Not Found', 'The refresh token does not exist', 'inexistent_refresh_token');
          this.settle([t]);
          return HttpResponse.json(rtRep(t));
        },
        true,
      ),
      api(
        'DELETE',
        '/refresh-tokens/{id}',
        'delete:refresh_tokens',
        (req) => {
          const t = this.refreshTokens.find((x) => x.id === req.params.id);
          if (!t)
            return err(404, 'Not Found', 'The refresh token does not exist', 'inexistent_refresh_token');
          t.deletePending = true;
          return new HttpResponse(null, { status: 202 });
        },
        true,
      ),
      api(
        'GET',
        '/users/{id}/sessions',
        'read:sessions',
        (req) => {
          if (!user(req.params.id!))
            return err(404, 'Not Found', 'The user does not exist.', 'inexistent_user');
          return HttpResponse.json({
            sessions: this.sessions
              .filter((s) => s.user_id === req.params.id)
              .map((s) => ({
                id: s.id,
                user_id: s.user_id,
                created_at: s.created_at.toISOString(),
                updated_at: s.created_at.toISOString(),
                authenticated_at: s.created_at.toISOString(),
                clients: s.clients.map((client_id) => ({ client_id })),
              })),
          });
        },
        true,
      ),
      api(
        'DELETE',
        '/users/{id}/sessions',
        'delete:sessions',
        (req) => {
          if (!user(req.params.id!))
            return err(404, 'Not Found', 'The user does not exist.', 'inexistent_user');
          this.sessions = this.sessions.filter((s) => s.user_id !== req.params.id);
          return new HttpResponse(null, { status: 202 });
        },
        true,
      ),
      api('GET', '/grants', 'read:grants', (req) => {
        const perPage = Number(req.query.get('per_page') ?? 50);
        if (perPage > 100)
          return err(400, 'Bad Request', 'per_page must be at most 100', 'invalid_query_string');
        const page = Number(req.query.get('page') ?? 0);
        const f = (k: string, v: string) => req.query.get(k) === null || req.query.get(k) === v;
        const hits = this.grants.filter(
          (g) => f('user_id', g.user_id) && f('client_id', g.clientID) && f('audience', g.audience),
        );
        const slice = hits.slice(page * perPage, (page + 1) * perPage);
        return req.query.get('include_totals') === 'true'
          ? HttpResponse.json({ grants: slice, start: page * perPage, limit: perPage, total: hits.length })
          : HttpResponse.json(slice);
      }),
      api('DELETE', '/grants/{id}', 'delete:grants', (req) => {
        const g = this.grants.find((x) => x.id === req.params.id);
        if (!g) return err(404, 'Not Found', 'The grant does not exist', 'inexistent_grant');
        this.deleteGrant(g);
        return new HttpResponse(null, { status: 204 });
      }),
      api('DELETE', '/grants', 'delete:grants', (req) => {
        // delete-grants-by-user-id: `user_id` is required.
        const userId = req.query.get('user_id');
        if (!userId)
          return err(
            400,
            'Bad Request',
            'Query validation error: user_id is required',
            'invalid_query_string',
          );
        for (const g of this.grants.filter((x) => x.user_id === userId)) this.deleteGrant(g);
        return new HttpResponse(null, { status: 204 });
      }),
      api('GET', '/device-credentials', 'read:device_credentials', (req) => {
        const type = req.query.get('type');
        const hits = this.refreshTokens.filter(
          (t) =>
            (type === null || type === 'refresh_token') &&
            (req.query.get('user_id') === null || req.query.get('user_id') === t.user_id) &&
            (req.query.get('client_id') === null || req.query.get('client_id') === t.client_id),
        );
        this.settle(hits);
        return HttpResponse.json(
          hits.map((t) => ({
            id: t.deviceCredentialId,
            device_name: 'sim device',
            device_id: t.id,
            type: 'refresh_token',
            user_id: t.user_id,
            client_id: t.client_id,
          })),
        );
      }),
      api('DELETE', '/device-credentials/{id}', 'delete:device_credentials', (req) => {
        const t = this.refreshTokens.find((x) => x.deviceCredentialId === req.params.id);
        if (!t)
          return err(
            404,
            'Not Found',
            'The device credential does not exist',
            'inexistent_device_credential',
          );
        this.refreshTokens = this.refreshTokens.filter((x) => x !== t);
        return new HttpResponse(null, { status: 204 });
      }),
    ];
  }
}

function err(status: number, error: string, message: string, errorCode: string): Response {
  return HttpResponse.json({ statusCode: status, error, message, errorCode }, { status });
}

function rateLimitAnswer(): Response {
  return HttpResponse.json(
    {
      statusCode: 429,
      error: 'Too Many Requests',
      message: 'Global limit has been reached',
      errorCode: 'too_many_requests',
    },
    {
      status: 429,
      headers: {
        'x-ratelimit-limit': '10',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 1),
      },
    },
  );
}

function userRep(u: User) {
  return { user_id: u.user_id, email: u.email, name: u.name, blocked: u.blocked ?? false };
}

function rtRep(t: RefreshToken) {
  return {
    id: t.id,
    user_id: t.user_id,
    client_id: t.client_id,
    created_at: t.created_at.toISOString(),
    session_id: null,
    rotating: false,
    resource_servers: [{ audience: t.audience, scopes: 'offline_access' }],
  };
}

/**
 * The subset of user search v3 Lucene syntax Revoker sends: `field:"exact"` and `field:prefix*` clauses joined
 * by ` OR `, with backslash escapes. Normalized fields (email, name) compare case-insensitively.
 */
function matchesLucene(u: User, q: string): boolean {
  return q.split(' OR ').some((clause) => {
    const m = /^(email|name):(.*)$/.exec(clause.trim());
    if (!m) return false;
    const value = (m[1] === 'email' ? u.email : u.name).toLowerCase();
    let term = m[2]!;
    if (term.startsWith('"') && term.endsWith('"')) {
      return value === term.slice(1, -1).replace(/\\(.)/g, '$1').toLowerCase();
    }
    const prefix = term.endsWith('*');
    term = term.replace(/\*$/, '').replace(/\\(.)/g, '$1').toLowerCase();
    return prefix ? value.startsWith(term) : value === term;
  });
}
