import { HttpResponse } from 'msw';
import type { Target } from '../../src/domain/target.ts';
import { type SimRequest, type SimRoute, SimRouter } from './sim-router.ts';
import type { CallMatch, ScenarioTargets, SimFault, VendorSimulator } from './types.ts';

/**
 * A stateful Okta org behind the Management API, as developer.okta.com documents it (REF below: the
 * management OpenAPI reference, one page per tag). Rules and their sources:
 * - Every call carries `Authorization: SSWS {api token}`, else 401 E0000011 "Invalid token provided"
 *   (developer.okta.com/docs/reference/error-codes/#E0000011); a token whose admin lacks the operation's
 *   permission gets 403 E0000006 "You do not have permission to perform the requested action" (#E0000006);
 *   an unknown object 404 E0000007 "Not found: Resource not found" (#E0000007). Permissions per operation:
 *   each operation's "OAuth 2.0 scope" in REF.
 * - `GET /users` lists every user except DEPROVISIONED ones, unless `search` is given, which matches users of
 *   any status, DEPROVISIONED included (REF User listUsers: "search … includes users of all statuses");
 *   `eq` on strings is case-insensitive (developer.okta.com/docs/api/#filter). Email is not unique: nothing
 *   stops two users sharing one.
 * - `DELETE /users/{id}/sessions` "Revokes all active identity provider sessions of the user … Optionally
 *   revokes OpenID Connect and OAuth refresh and access tokens issued to the user" with `oauthTokens=true`
 *   (REF UserSessions revokeUserSessions); Okta offers no listing of a user's sessions (UserSessions has only
 *   this DELETE).
 * - `DELETE /users/{u}/clients/{c}/tokens/{t}` "Revokes the specified refresh token" (REF UserOAuth
 *   revokeTokenForUserAndClient): access tokens already minted from it stay valid until they expire.
 * - `DELETE /apps/{appId}/tokens` "Revokes all OAuth 2.0 refresh tokens for the specified app. Any access
 *   tokens issued with these refresh tokens are also revoked, but access tokens issued without a refresh token
 *   aren't affected." (REF ApplicationTokens revokeOAuth2TokensForApplication); the same for
 *   `DELETE /authorizationServers/{as}/clients/{c}/tokens` (REF AuthorizationServerClients
 *   revokeRefreshTokensForAuthorizationServerAndClient). Each answers 204 No Content.
 * - Token listings page with `limit` (default 20, at most 200) and `after`, and a `Link: <…>; rel="next"`
 *   header (developer.okta.com/docs/api/#pagination).
 * - Rate limits: 429 E0000047 with `X-Rate-Limit-Limit/-Remaining/-Reset` (epoch seconds); those headers come
 *   on every answer, not only 429s (developer.okta.com/docs/reference/rl-best-practices/).
 */
const REF = 'https://developer.okta.com/docs/api/openapi/okta-management/management/tag';
export const OKTA_SIM_REFERENCE = REF;
export const OKTA_SIM_ORIGIN = 'https://acme.okta.sim';
export const OKTA_SIM_TOKEN = 'sim-ssws-api-token';

/** Every Management API permission (OAuth 2.0 scope) the simulator checks. */
export const OKTA_PERMISSIONS = [
  'okta.users.read',
  'okta.users.manage',
  'okta.apps.read',
  'okta.apps.manage',
  'okta.authorizationServers.read',
  'okta.authorizationServers.manage',
] as const;
export type OktaPermission = (typeof OKTA_PERMISSIONS)[number];

export interface OktaSimOptions {
  /** Permissions the API token's admin does not hold (e.g. `okta.apps.manage`). Default none. */
  withheld?: OktaPermission[];
}

interface User {
  id: string;
  status: 'ACTIVE' | 'SUSPENDED' | 'DEPROVISIONED' | 'STAGED';
  login: string;
  email: string;
  firstName: string;
  lastName: string;
}
interface RefreshToken {
  id: string;
  userId: string;
  clientId: string;
  authServerId: string;
  created: Date;
  status: 'ACTIVE' | 'REVOKED';
}
interface AccessToken {
  id: string;
  userId: string;
  clientId: string;
  authServerId: string;
  /** The refresh token it was minted with; undefined for one issued without a refresh token. */
  refreshTokenId?: string;
  created: Date;
  revoked: boolean;
}
interface Session {
  id: string;
  userId: string;
  created: Date;
  active: boolean;
}

const DEFAULT_PAGE = 20;
const MAX_PAGE = 200;

export class OktaSimulator implements VendorSimulator {
  readonly vendor = 'okta' as const;
  readonly origin = OKTA_SIM_ORIGIN;
  readonly withheld: Set<OktaPermission>;
  users: User[] = [];
  apps: { id: string; name: string; label: string }[] = [];
  authServers: { id: string; name: string; audiences: string[] }[] = [];
  refreshTokens: RefreshToken[] = [];
  accessTokens: AccessToken[] = [];
  sessions: Session[] = [];
  private seq = 0;
  private readonly router: SimRouter;

  constructor(options: OktaSimOptions = {}) {
    this.withheld = new Set(options.withheld ?? []);
    this.router = new SimRouter({
      origin: OKTA_SIM_ORIGIN,
      routes: this.routes(),
      rateLimited: rateLimitAnswer,
      commonHeaders: ordinaryRateHeaders,
    });
  }

  get handlers() {
    return this.router.handlers;
  }
  get calls() {
    return this.router.calls;
  }

  env(): Record<string, string> {
    return { IDP: 'okta', OKTA_ORG_URL: OKTA_SIM_ORIGIN, OKTA_API_TOKEN: OKTA_SIM_TOKEN };
  }

  /**
   * alice: two refresh tokens (wiki on the Things API, CRM on the default server), an access token minted
   * from the wiki one, a session; an old DEPROVISIONED account with the same email. bob: a wiki refresh token
   * with its access token, and a wiki access token issued without a refresh token (which the app scope does
   * not reach). carol: a web user with a session and an access token only, no refresh token (issue 18 item 1).
   */
  seedScenario(): ScenarioTargets {
    this.apps.push(
      { id: '0oawiki', name: 'oidc_client', label: 'Wiki' },
      { id: '0oacrm', name: 'oidc_client', label: 'CRM' },
    );
    this.authServers.push(
      { id: 'austhings', name: 'Things API', audiences: ['api://things'] },
      { id: 'default', name: 'default', audiences: ['api://default'] },
    );
    this.addUser({ id: '00ualice', login: 'alice@acme.test', email: 'alice@acme.test', firstName: 'Alice' });
    this.addUser({
      id: '00ualiceold',
      login: 'alice.old@acme.test',
      email: 'alice@acme.test',
      firstName: 'Alice',
      status: 'DEPROVISIONED',
    });
    this.addUser({ id: '00ubob', login: 'bob@acme.test', email: 'bob@acme.test', firstName: 'Bob' });
    this.addUser({ id: '00ucarol', login: 'carol@acme.test', email: 'carol@acme.test', firstName: 'Carol' });
    const aliceWiki = this.issueRefreshToken('00ualice', '0oawiki', 'austhings');
    this.issueAccessToken('00ualice', '0oawiki', 'austhings', aliceWiki.id);
    this.issueRefreshToken('00ualice', '0oacrm', 'default');
    this.addSession('00ualice');
    const bobWiki = this.issueRefreshToken('00ubob', '0oawiki', 'austhings');
    this.issueAccessToken('00ubob', '0oawiki', 'austhings', bobWiki.id);
    this.issueAccessToken('00ubob', '0oawiki', 'austhings');
    this.addSession('00ucarol');
    this.issueAccessToken('00ucarol', '0oawiki', 'default');
    return {
      token: { kind: 'token', userId: '00ualice', tokenId: `0oawiki:${aliceWiki.id}` },
      user: { kind: 'user', userId: '00ucarol' },
      application: { kind: 'application', applicationId: '0oawiki' },
      resourceServer: { kind: 'resourceServer', resourceServerId: 'austhings' },
    };
  }

  addUser(u: Partial<User> & Pick<User, 'id' | 'login' | 'email' | 'firstName'>): void {
    this.users.push({ status: 'ACTIVE', lastName: 'Example', ...u });
  }

  issueRefreshToken(userId: string, clientId: string, authServerId: string, at = new Date()): RefreshToken {
    const t: RefreshToken = {
      id: this.id('oar'),
      userId,
      clientId,
      authServerId,
      created: at,
      status: 'ACTIVE',
    };
    this.refreshTokens.push(t);
    return t;
  }

  issueAccessToken(
    userId: string,
    clientId: string,
    authServerId: string,
    refreshTokenId?: string,
    at = new Date(),
  ): AccessToken {
    const t: AccessToken = {
      id: this.id('oat'),
      userId,
      clientId,
      authServerId,
      ...(refreshTokenId ? { refreshTokenId } : {}),
      created: at,
      revoked: false,
    };
    this.accessTokens.push(t);
    return t;
  }

  addSession(userId: string, at = new Date()): Session {
    const s = { id: this.id('102'), userId, created: at, active: true };
    this.sessions.push(s);
    return s;
  }

  stillWorks(target: Target, options: { before?: Date } = {}): string[] {
    const before = (d: Date) => !options.before || d < options.before;
    const rts = this.refreshTokens.filter((t) => t.status === 'ACTIVE' && before(t.created));
    const ats = this.accessTokens.filter((t) => !t.revoked && before(t.created));
    const rt = (t: RefreshToken) =>
      `refresh_token ${t.id} (user ${t.userId}, client ${t.clientId}, server ${t.authServerId})`;
    const at = (t: AccessToken) =>
      `access_token ${t.id} (user ${t.userId}, client ${t.clientId}, server ${t.authServerId}${t.refreshTokenId ? `, from ${t.refreshTokenId}` : ''})`;
    switch (target.kind) {
      case 'token': {
        const rtId = target.tokenId.includes(':') ? target.tokenId.split(':')[1] : target.tokenId;
        return [
          ...rts.filter((t) => t.id === rtId && t.userId === target.userId).map(rt),
          ...ats.filter((t) => t.refreshTokenId === rtId).map(at),
        ];
      }
      case 'user':
        return [
          ...rts.filter((t) => t.userId === target.userId).map(rt),
          ...ats.filter((t) => t.userId === target.userId).map(at),
          ...this.sessions
            .filter((s) => s.active && s.userId === target.userId && before(s.created))
            .map((s) => `session ${s.id} (user ${s.userId})`),
        ];
      case 'application':
        return [
          ...rts.filter((t) => t.clientId === target.applicationId).map(rt),
          ...ats.filter((t) => t.clientId === target.applicationId).map(at),
        ];
      case 'resourceServer':
        return [
          ...rts.filter((t) => t.authServerId === target.resourceServerId).map(rt),
          ...ats.filter((t) => t.authServerId === target.resourceServerId).map(at),
        ];
    }
  }

  failOnce(match: CallMatch, fault: SimFault): void {
    this.router.failOnce(match, fault);
  }

  snapshot(): unknown {
    const sort = (xs: string[]) => [...xs].sort();
    return {
      users: sort(this.users.map((u) => `${u.id} ${u.status}`)),
      refreshTokens: sort(
        this.refreshTokens.map((t) => `${t.userId} ${t.clientId} ${t.authServerId} ${t.status}`),
      ),
      accessTokens: sort(
        this.accessTokens.map(
          (t) =>
            `${t.userId} ${t.clientId} ${t.authServerId} ${t.refreshTokenId ? 'with-rt' : 'no-rt'} ${t.revoked ? 'revoked' : 'active'}`,
        ),
      ),
      sessions: sort(this.sessions.map((s) => `${s.userId} ${s.active ? 'active' : 'ended'}`)),
    };
  }

  reset(): void {
    this.users = [];
    this.apps = [];
    this.authServers = [];
    this.refreshTokens = [];
    this.accessTokens = [];
    this.sessions = [];
    this.seq = 0;
    this.router.reset();
  }

  private id(prefix: string): string {
    this.seq += 1;
    return `${prefix}${String(this.seq).padStart(6, '0')}`;
  }

  private user(ref: string): User | undefined {
    return this.users.find((u) => u.id === ref || u.login.toLowerCase() === ref.toLowerCase());
  }

  /** The Management API routes, each behind its permission (REF, each operation's "OAuth 2.0 scope"). */
  private routes(): SimRoute[] {
    const route = (
      method: string,
      pattern: string,
      permission: OktaPermission,
      handle: (req: SimRequest) => Response,
    ): SimRoute => ({
      method,
      pattern,
      handle: (req) => {
        const auth = req.headers.get('authorization');
        if (auth !== `SSWS ${OKTA_SIM_TOKEN}`) return oktaError(401, 'E0000011', 'Invalid token provided');
        if (this.withheld.has(permission)) {
          return oktaError(403, 'E0000006', 'You do not have permission to perform the requested action');
        }
        return handle(req);
      },
    });
    const U = '/api/v1/users';
    return [
      // REF User listUsers.
      route('GET', U, 'okta.users.read', (req) => {
        const search = req.query.get('search');
        const q = req.query.get('q')?.toLowerCase();
        let users = this.users;
        if (search !== null) {
          const m = /^profile\.email eq "([^"]*)"$/.exec(search);
          if (!m) return oktaError(400, 'E0000031', 'Invalid search criteria.');
          users = users.filter((u) => u.email.toLowerCase() === m[1]!.toLowerCase());
        } else {
          users = users.filter((u) => u.status !== 'DEPROVISIONED');
          if (q) {
            users = users.filter((u) =>
              [u.firstName, u.lastName, u.email, u.login].some((f) => f.toLowerCase().startsWith(q)),
            );
          }
        }
        return this.page(req, users, (u) => u.id, toOktaUser);
      }),
      // REF User getUser (id or login).
      route('GET', `${U}/{id}`, 'okta.users.read', (req) => {
        const u = this.user(req.params.id!);
        return u ? HttpResponse.json(toOktaUser(u)) : notFound();
      }),
      // REF UserResources listUserClients: clients the user has tokens for.
      route('GET', `${U}/{userId}/clients`, 'okta.users.read', (req) => {
        const u = this.user(req.params.userId!);
        if (!u) return notFound();
        const ids = new Set(
          this.refreshTokens.filter((t) => t.userId === u.id && t.status === 'ACTIVE').map((t) => t.clientId),
        );
        return HttpResponse.json(
          [...ids].sort().map((id) => ({
            client_id: id,
            client_name: this.apps.find((a) => a.id === id)?.label ?? id,
          })),
        );
      }),
      // REF UserOAuth listRefreshTokensForUserAndClient.
      route('GET', `${U}/{userId}/clients/{clientId}/tokens`, 'okta.users.read', (req) => {
        const u = this.user(req.params.userId!);
        if (!u) return notFound();
        const tokens = this.refreshTokens.filter(
          (t) => t.userId === u.id && t.clientId === req.params.clientId && t.status === 'ACTIVE',
        );
        return this.page(req, tokens, (t) => t.id, toOktaRefreshToken);
      }),
      // REF UserOAuth getRefreshTokenForUserAndClient.
      route('GET', `${U}/{userId}/clients/{clientId}/tokens/{tokenId}`, 'okta.users.read', (req) => {
        const t = this.refreshTokens.find(
          (x) =>
            x.id === req.params.tokenId &&
            x.clientId === req.params.clientId &&
            x.userId === req.params.userId,
        );
        return t ? HttpResponse.json(toOktaRefreshToken(t)) : notFound();
      }),
      // REF UserOAuth revokeTokenForUserAndClient: the refresh token only.
      route('DELETE', `${U}/{userId}/clients/{clientId}/tokens/{tokenId}`, 'okta.users.manage', (req) => {
        const t = this.refreshTokens.find(
          (x) =>
            x.id === req.params.tokenId &&
            x.clientId === req.params.clientId &&
            x.userId === req.params.userId &&
            x.status === 'ACTIVE',
        );
        if (!t) return notFound();
        t.status = 'REVOKED';
        return noContent();
      }),
      // REF UserSessions revokeUserSessions.
      route('DELETE', `${U}/{userId}/sessions`, 'okta.users.manage', (req) => {
        const u = this.user(req.params.userId!);
        if (!u) return notFound();
        for (const s of this.sessions) if (s.userId === u.id) s.active = false;
        if (req.query.get('oauthTokens') === 'true') {
          for (const t of this.refreshTokens) if (t.userId === u.id) t.status = 'REVOKED';
          for (const t of this.accessTokens) if (t.userId === u.id) t.revoked = true;
        }
        return noContent();
      }),
      // REF Application listApplications / getApplication.
      route('GET', '/api/v1/apps', 'okta.apps.read', (req) => {
        const q = req.query.get('q')?.toLowerCase();
        const apps = this.apps.filter(
          (a) => !q || a.label.toLowerCase().startsWith(q) || a.name.toLowerCase().startsWith(q),
        );
        return this.page(
          req,
          apps,
          (a) => a.id,
          (a) => ({ ...a, status: 'ACTIVE' }),
        );
      }),
      route('GET', '/api/v1/apps/{appId}', 'okta.apps.read', (req) => {
        const a = this.apps.find((x) => x.id === req.params.appId);
        return a ? HttpResponse.json({ ...a, status: 'ACTIVE' }) : notFound();
      }),
      // REF ApplicationTokens listOAuth2TokensForApplication.
      route('GET', '/api/v1/apps/{appId}/tokens', 'okta.apps.read', (req) => {
        if (!this.apps.some((a) => a.id === req.params.appId)) return notFound();
        const tokens = this.refreshTokens.filter(
          (t) => t.clientId === req.params.appId && t.status === 'ACTIVE',
        );
        return this.page(req, tokens, (t) => t.id, toOktaRefreshToken);
      }),
      // REF ApplicationTokens revokeOAuth2TokensForApplication: refresh tokens and what was minted from them.
      route('DELETE', '/api/v1/apps/{appId}/tokens', 'okta.apps.manage', (req) => {
        if (!this.apps.some((a) => a.id === req.params.appId)) return notFound();
        this.revokeRefreshTokens((t) => t.clientId === req.params.appId);
        return noContent();
      }),
      // REF AuthorizationServer listAuthorizationServers / getAuthorizationServer.
      route('GET', '/api/v1/authorizationServers', 'okta.authorizationServers.read', (req) => {
        const q = req.query.get('q')?.toLowerCase();
        const list = this.authServers.filter((a) => !q || a.name.toLowerCase().startsWith(q));
        return this.page(
          req,
          list,
          (a) => a.id,
          (a) => ({ ...a, status: 'ACTIVE' }),
        );
      }),
      route('GET', '/api/v1/authorizationServers/{as}', 'okta.authorizationServers.read', (req) => {
        const a = this.authServers.find((x) => x.id === req.params.as);
        return a ? HttpResponse.json({ ...a, status: 'ACTIVE' }) : notFound();
      }),
      // REF AuthorizationServerClients listOAuth2ClientsForAuthorizationServer.
      route('GET', '/api/v1/authorizationServers/{as}/clients', 'okta.authorizationServers.read', (req) => {
        if (!this.authServers.some((a) => a.id === req.params.as)) return notFound();
        const ids = new Set(
          this.refreshTokens
            .filter((t) => t.authServerId === req.params.as && t.status === 'ACTIVE')
            .map((t) => t.clientId),
        );
        return HttpResponse.json(
          [...ids].sort().map((id) => ({
            client_id: id,
            client_name: this.apps.find((a) => a.id === id)?.label ?? id,
          })),
        );
      }),
      // REF AuthorizationServerClients listRefreshTokensForAuthorizationServerAndClient.
      route(
        'GET',
        '/api/v1/authorizationServers/{as}/clients/{clientId}/tokens',
        'okta.authorizationServers.read',
        (req) => {
          if (!this.authServers.some((a) => a.id === req.params.as)) return notFound();
          const tokens = this.refreshTokens.filter(
            (t) =>
              t.authServerId === req.params.as && t.clientId === req.params.clientId && t.status === 'ACTIVE',
          );
          return this.page(req, tokens, (t) => t.id, toOktaRefreshToken);
        },
      ),
      // REF AuthorizationServerClients revokeRefreshTokensForAuthorizationServerAndClient.
      route(
        'DELETE',
        '/api/v1/authorizationServers/{as}/clients/{clientId}/tokens',
        'okta.authorizationServers.manage',
        (req) => {
          if (!this.authServers.some((a) => a.id === req.params.as)) return notFound();
          this.revokeRefreshTokens(
            (t) => t.authServerId === req.params.as && t.clientId === req.params.clientId,
          );
          return noContent();
        },
      ),
    ];
  }

  /** Refresh tokens matching, and the access tokens minted with them; access tokens without one stay. */
  private revokeRefreshTokens(match: (t: RefreshToken) => boolean): void {
    const ids = new Set<string>();
    for (const t of this.refreshTokens) {
      if (match(t)) {
        t.status = 'REVOKED';
        ids.add(t.id);
      }
    }
    for (const a of this.accessTokens) if (a.refreshTokenId && ids.has(a.refreshTokenId)) a.revoked = true;
  }

  /** One page of a listing (`limit` default 20, at most 200; `after` = the last id seen) with its Link. */
  private page<T>(req: SimRequest, items: T[], idOf: (t: T) => string, render: (t: T) => unknown): Response {
    const limit = Math.min(
      MAX_PAGE,
      Math.max(1, Number(req.query.get('limit') ?? DEFAULT_PAGE) || DEFAULT_PAGE),
    );
    const after = req.query.get('after');
    const start = after === null ? 0 : items.findIndex((t) => idOf(t) === after) + 1;
    const slice = items.slice(start, start + limit);
    const headers: Record<string, string> = {};
    if (start + limit < items.length && slice.length > 0) {
      const next = new URL(`${OKTA_SIM_ORIGIN}${req.path}`);
      for (const [k, v] of req.query) if (k !== 'after') next.searchParams.set(k, v);
      next.searchParams.set('after', idOf(slice[slice.length - 1]!));
      headers.link = `<${next.toString()}>; rel="next"`;
    }
    return HttpResponse.json(slice.map(render), { headers });
  }
}

function toOktaUser(u: User) {
  return {
    id: u.id,
    status: u.status,
    profile: { login: u.login, email: u.email, firstName: u.firstName, lastName: u.lastName },
  };
}

function toOktaRefreshToken(t: RefreshToken) {
  return {
    id: t.id,
    status: t.status,
    created: t.created.toISOString(),
    clientId: t.clientId,
    userId: t.userId,
    issuer: `${OKTA_SIM_ORIGIN}/oauth2/${t.authServerId}`,
    scopes: ['openid', 'offline_access'],
    expiresAt: null,
  };
}

/** Okta's error body (developer.okta.com/docs/reference/error-codes/). */
function oktaError(status: number, code: string, summary: string): Response {
  return HttpResponse.json(
    { errorCode: code, errorSummary: summary, errorLink: code, errorId: 'oaesim', errorCauses: [] },
    { status },
  );
}

const notFound = () => oktaError(404, 'E0000007', 'Not found: Resource not found');
const noContent = () => new HttpResponse(null, { status: 204 });

/** 429 E0000047, the window resetting at the next whole second (kept short for tests). */
function rateLimitAnswer(): Response {
  const res = oktaError(429, 'E0000047', 'API call exceeded rate limit due to too many requests.');
  res.headers.set('X-Rate-Limit-Limit', '600');
  res.headers.set('X-Rate-Limit-Remaining', '0');
  res.headers.set('X-Rate-Limit-Reset', String(Math.floor(Date.now() / 1000) + 1));
  return res;
}

/** What Okta sends on every answer: the current window's quota, resetting within the minute. */
function ordinaryRateHeaders(): Record<string, string> {
  return {
    'X-Rate-Limit-Limit': '600',
    'X-Rate-Limit-Remaining': '599',
    'X-Rate-Limit-Reset': String(Math.floor(Date.now() / 1000) + 60),
  };
}
