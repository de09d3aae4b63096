import { type createPublicKey, generateKeyPairSync, randomUUID, verify } from 'node:crypto';
import type { HttpHandler } from 'msw';
import type { Target } from '../../src/domain/target.ts';
import { formBody, type SimRequest, SimRouter } from './route-table.ts';
import type { CallMatch, ScenarioTargets, SimCall, SimFault, VendorSimulator } from './types.ts';

/**
 * Google Workspace as the Admin SDK Directory API and Google's OAuth token endpoint show it: users, OAuth
 * tokens per (user, client), application-specific passwords (ASPs), web and device sessions ended by
 * `users.signOut`, the service account's domain-wide delegation (scopes authorised in the Admin console) and
 * its JWT-bearer token. `REF` in the comments is https://developers.google.com/workspace/admin/directory/reference/rest/v1.
 */
/** The JWT `aud` Google requires, wherever the request is sent (developers.google.com/identity/protocols/oauth2/service-account#jwt-auth). */
export const GOOGLE_TOKEN_AUD = 'https://oauth2.googleapis.com/token';
export const SCOPE_READONLY = 'https://www.googleapis.com/auth/admin.directory.user.readonly';
export const SCOPE_USER = 'https://www.googleapis.com/auth/admin.directory.user';
export const SCOPE_SECURITY = 'https://www.googleapis.com/auth/admin.directory.user.security';

export interface GoogleUser {
  id: string;
  primaryEmail: string;
  fullName: string;
  suspended: boolean;
  isAdmin: boolean;
}
/** One entry of tokens.list: everything one OAuth client holds for one user (REF/tokens). */
export interface GoogleToken {
  userId: string;
  clientId: string;
  displayText: string;
  scopes: string[];
  issuedAt: number;
}
/** An application-specific password (REF/asps): works for IMAP/SMTP/CalDAV until deleted. */
export interface GoogleAsp {
  codeId: number;
  userId: string;
  name: string;
  creationTime: number;
}
export interface GoogleSession {
  id: string;
  userId: string;
  device: string;
  issuedAt: number;
  ended: boolean;
}

export interface GoogleSimulatorOptions {
  adminUrl?: string;
  tokenUrl?: string;
}

const ADMIN_DEFAULT = 'https://admin.google-sim.test';
const TOKEN_DEFAULT = 'https://oauth2.google-sim.test/token';
const CLIENT_EMAIL = 'revoker@sim-project.iam.gserviceaccount.com';
const SUBJECT = 'admin@acme.test';

/** Google's JSON error envelope (developers.google.com/workspace/admin/directory/v1/limits, "Standard errors"). */
const googleError = (status: number, reason: string, message: string, domain = 'global') =>
  Response.json({ error: { code: status, message, errors: [{ message, domain, reason }] } }, { status });

export class GoogleSimulator implements VendorSimulator {
  readonly vendor = 'google' as const;
  readonly handlers: HttpHandler[];
  readonly adminUrl: string;
  readonly tokenUrl: string;
  /** The service account key (JSON), as GOOGLE_SERVICE_ACCOUNT_JSON carries it. */
  readonly serviceAccountJson: string;
  /** Scopes authorised for the service account's client id under domain-wide delegation. */
  readonly delegated = new Set([SCOPE_READONLY, SCOPE_SECURITY]);

  users: GoogleUser[] = [];
  tokens: GoogleToken[] = [];
  asps: GoogleAsp[] = [];
  sessions: GoogleSession[] = [];
  /** Token requests the endpoint answered (their decoded JWT claims), for tests. */
  readonly assertions: Record<string, unknown>[] = [];
  private readonly publicKey: ReturnType<typeof createPublicKey>;
  private readonly router = new SimRouter({
    unavailable: () => googleError(503, 'backendError', 'The service is currently unavailable.'),
    // 429 RESOURCE_EXHAUSTED (Google APIs' error model, cloud.google.com/apis/design/errors#handling_errors:
    // "retry using exponential backoff"), without Retry-After.
    rateLimited: () =>
      Response.json(
        {
          error: {
            code: 429,
            message: "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user'",
            errors: [{ message: 'Rate Limit Exceeded', domain: 'usageLimits', reason: 'rateLimitExceeded' }],
            status: 'RESOURCE_EXHAUSTED',
          },
        },
        { status: 429 },
      ),
  });
  private accessTokens = new Map<string, { scopes: Set<string>; subject: string; expiresAt: number }>();
  private nextCodeId = 100;

  constructor(options: GoogleSimulatorOptions = {}) {
    this.adminUrl = (options.adminUrl ?? ADMIN_DEFAULT).replace(/\/+$/, '');
    this.tokenUrl = options.tokenUrl ?? TOKEN_DEFAULT;
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.publicKey = publicKey;
    this.serviceAccountJson = JSON.stringify({
      type: 'service_account',
      client_email: CLIENT_EMAIL,
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      token_uri: GOOGLE_TOKEN_AUD,
    });
    this.handlers = [
      this.router.handler(
        this.tokenUrl,
        [{ method: 'POST', pattern: /^\/?$/, handle: (r) => this.token(r) }],
        () => Response.json({ error: 'invalid_request' }, { status: 404 }),
      ),
      this.router.handler(`${this.adminUrl}/admin/directory/v1`, this.routes(), () =>
        googleError(404, 'notFound', 'Not Found'),
      ),
    ];
  }

  get calls(): SimCall[] {
    return this.router.calls;
  }

  env(): Record<string, string> {
    return {
      IDP: 'google',
      GOOGLE_SERVICE_ACCOUNT_JSON: this.serviceAccountJson,
      GOOGLE_ADMIN_SUBJECT: SUBJECT,
      GOOGLE_ADMIN_URL: this.adminUrl,
      GOOGLE_TOKEN_URL: this.tokenUrl,
    };
  }

  adapterOptions() {
    return {
      serviceAccount: this.serviceAccountJson,
      subject: SUBJECT,
      adminUrl: this.adminUrl,
      tokenUrl: this.tokenUrl,
    };
  }

  failOnce(match: CallMatch, fault: SimFault): void {
    this.router.failOnce(match, fault);
  }

  /**
   * The Directory API's own rate-limit answer, once: 403 userRateLimitExceeded without Retry-After; "slow down
   * the rate at which you are sending the requests using exponential backoff"
   * (developers.google.com/workspace/admin/directory/v1/limits).
   */
  rateLimitOnce(match: CallMatch): void {
    this.router.answerOnce(match, () =>
      googleError(403, 'userRateLimitExceeded', 'User Rate Limit Exceeded', 'usageLimits'),
    );
  }

  reset(): void {
    this.router.reset();
    this.users = [];
    this.tokens = [];
    this.asps = [];
    this.sessions = [];
    this.assertions.length = 0;
    this.accessTokens.clear();
    this.delegated.clear();
    this.delegated.add(SCOPE_READONLY).add(SCOPE_SECURITY);
    this.nextCodeId = 100;
  }

  /** Every access token issued so far stops working (revoked or expired early): the next call is a 401. */
  invalidateAccessTokens(): void {
    this.accessTokens.clear();
  }

  /** Domain-wide delegation without `scope` (Admin console → Security → API controls). */
  withhold(scope: string): void {
    this.delegated.delete(scope);
    this.accessTokens.clear();
  }

  // ---- state helpers ----

  addUser(u: Partial<GoogleUser> & { primaryEmail: string }): GoogleUser {
    const user: GoogleUser = {
      id: u.id ?? `1${String(this.users.length + 1).padStart(20, '0')}`,
      fullName: u.fullName ?? u.primaryEmail.split('@')[0]!,
      suspended: false,
      isAdmin: false,
      ...u,
    };
    this.users.push(user);
    return user;
  }

  /** The user authorises `clientId`: one tokens.list entry per client (a second grant merges into it). */
  authorize(
    userId: string,
    clientId: string,
    scopes = ['https://mail.google.com/'],
    issuedAt = Date.now(),
  ): GoogleToken {
    const existing = this.tokens.find((t) => t.userId === userId && t.clientId === clientId);
    if (existing) return existing;
    const t = { userId, clientId, displayText: `App ${clientId}`, scopes, issuedAt };
    this.tokens.push(t);
    return t;
  }

  addAsp(userId: string, name: string, creationTime = Date.now()): GoogleAsp {
    const a = { codeId: this.nextCodeId++, userId, name, creationTime };
    this.asps.push(a);
    return a;
  }

  signIn(userId: string, device: string, issuedAt = Date.now()): GoogleSession {
    const s = { id: `sess-${randomUUID()}`, userId, device, issuedAt, ended: false };
    this.sessions.push(s);
    return s;
  }

  seedScenario(): ScenarioTargets {
    this.addUser({ id: '100000000000000000001', primaryEmail: SUBJECT, fullName: 'Admin', isAdmin: true });
    this.addUser({ id: '100000000000000000002', primaryEmail: 'alice@acme.test', fullName: 'Alice A' });
    this.addUser({ id: '100000000000000000003', primaryEmail: 'bob@acme.test', fullName: 'Bob B' });
    // Seeded credentials predate any revocation a test starts (a minute ago).
    const earlier = Date.now() - 60_000;
    const mail = ['https://mail.google.com/'];
    this.authorize('100000000000000000002', 'mail-client.apps.googleusercontent.com', mail, earlier);
    this.authorize('100000000000000000002', 'crm-client.apps.googleusercontent.com', mail, earlier);
    this.authorize('100000000000000000003', 'crm-client.apps.googleusercontent.com', mail, earlier);
    this.addAsp('100000000000000000002', 'Thunderbird', earlier);
    this.signIn('100000000000000000002', 'Chrome on laptop', earlier);
    this.signIn('100000000000000000002', 'Android phone', earlier);
    this.signIn('100000000000000000003', 'Chrome on laptop', earlier);
    return {
      token: {
        kind: 'token',
        userId: '100000000000000000002',
        tokenId: 'mail-client.apps.googleusercontent.com',
      },
      user: { kind: 'user', userId: '100000000000000000002' },
      application: { kind: 'application', applicationId: 'crm-client.apps.googleusercontent.com' },
    };
  }

  // ---- the oracle ----

  /**
   * What still works: a tokens.list entry (its client's refresh and access tokens: tokens.delete "deletes all
   * access tokens issued by a user for an application", REF/tokens/delete), an ASP until asps.delete, a
   * session until users.signOut. A suspended user can sign in to nothing.
   */
  stillWorks(target: Target, options: { before?: Date } = {}): string[] {
    const before = options.before?.getTime() ?? Number.POSITIVE_INFINITY;
    const active = (userId: string) => this.users.some((u) => u.id === userId && !u.suspended);
    const out: string[] = [];
    const userOf = (t: Target) => (t.kind === 'user' || t.kind === 'token' ? t.userId : undefined);
    for (const t of this.tokens) {
      if (!active(t.userId) || t.issuedAt >= before) continue;
      const hit =
        (target.kind === 'user' && t.userId === target.userId) ||
        (target.kind === 'token' && t.userId === target.userId && t.clientId === target.tokenId) ||
        (target.kind === 'application' && t.clientId === target.applicationId);
      if (hit) out.push(`oauth_token ${t.clientId} (user ${t.userId})`);
    }
    if (target.kind === 'user') {
      const userId = userOf(target);
      for (const a of this.asps) {
        if (a.userId === userId && active(a.userId) && a.creationTime < before) {
          out.push(`app_password ${a.codeId} "${a.name}" (user ${a.userId})`);
        }
      }
      for (const s of this.sessions) {
        if (s.userId === userId && !s.ended && active(s.userId) && s.issuedAt < before) {
          out.push(`session ${s.id} ${s.device} (user ${s.userId})`);
        }
      }
    }
    return out;
  }

  snapshot(): unknown {
    return {
      users: this.users.map((u) => ({ email: u.primaryEmail, suspended: u.suspended })),
      tokens: this.tokens.map((t) => `${t.userId}/${t.clientId}`).sort(),
      asps: this.asps.map((a) => `${a.userId}/${a.name}`).sort(),
      sessions: this.sessions.map((s) => `${s.userId}/${s.device}:${s.ended ? 'ended' : 'alive'}`).sort(),
    };
  }

  // ---- OAuth token endpoint (JWT bearer, domain-wide delegation) ----

  /**
   * developers.google.com/identity/protocols/oauth2/service-account#authorizingrequests: `grant_type`
   * `urn:ietf:params:oauth:grant-type:jwt-bearer`, an RS256 assertion signed with the service account key,
   * `aud` Google's token URL, `exp` at most an hour after `iat`; scopes not authorised for the client under
   * domain-wide delegation are refused as `unauthorized_client` (401).
   */
  private async token({ request }: SimRequest): Promise<Response> {
    const body = await formBody(request);
    const fail = (status: number, error: string, description: string) =>
      Response.json({ error, error_description: description }, { status });
    if (body.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      return fail(400, 'unsupported_grant_type', 'Invalid grant_type');
    }
    const [h, p, s] = (body.get('assertion') ?? '').split('.');
    if (!h || !p || !s) return fail(400, 'invalid_grant', 'Invalid JWT: Token must be a short-lived token');
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg?: string };
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const signed = verify(
      'RSA-SHA256',
      Buffer.from(`${h}.${p}`),
      this.publicKey,
      Buffer.from(s, 'base64url'),
    );
    if (header.alg !== 'RS256' || !signed) return fail(400, 'invalid_grant', 'Invalid JWT Signature.');
    if (claims.iss !== CLIENT_EMAIL) return fail(400, 'invalid_grant', 'Invalid issuer');
    if (claims.aud !== GOOGLE_TOKEN_AUD) return fail(400, 'invalid_grant', 'Invalid JWT: audience');
    const iat = Number(claims.iat);
    const exp = Number(claims.exp);
    const now = Date.now() / 1000;
    if (!(exp > now) || exp - iat > 3600 || iat > now + 300) {
      return fail(
        400,
        'invalid_grant',
        'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.',
      );
    }
    const scopes = String(claims.scope ?? '')
      .split(' ')
      .filter(Boolean);
    if (scopes.length === 0 || !scopes.every((sc) => this.delegated.has(sc))) {
      return fail(
        401,
        'unauthorized_client',
        'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.',
      );
    }
    this.assertions.push(claims);
    const token = `ya29.sim-${randomUUID()}`;
    this.accessTokens.set(token, {
      scopes: new Set(scopes),
      subject: String(claims.sub ?? ''),
      expiresAt: Date.now() + 3599_000,
    });
    return Response.json({ access_token: token, expires_in: 3599, token_type: 'Bearer' });
  }

  // ---- Directory API ----

  /**
   * Runs `fn` when the bearer is a live token of this service account (401 otherwise: a token of another
   * client, revoked or expired), carrying one of `anyOf` (403 insufficientPermissions otherwise), acting as an
   * admin (403 "Not Authorized to access this resource/api" otherwise).
   */
  private guarded(anyOf: string[], fn: (req: SimRequest) => Response | Promise<Response>) {
    return (req: SimRequest) => {
      const auth = req.request.headers.get('authorization') ?? '';
      const t = this.accessTokens.get(auth.replace(/^Bearer /, ''));
      if (!auth.startsWith('Bearer ') || !t || t.expiresAt <= Date.now()) {
        return Response.json(
          {
            error: {
              code: 401,
              message: 'Request had invalid authentication credentials. Expected OAuth 2 access token.',
              errors: [
                {
                  message: 'Invalid Credentials',
                  domain: 'global',
                  reason: 'authError',
                  location: 'Authorization',
                },
              ],
              status: 'UNAUTHENTICATED',
            },
          },
          { status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="https://accounts.google.com/"' } },
        );
      }
      if (!anyOf.some((sc) => t.scopes.has(sc))) {
        return googleError(403, 'insufficientPermissions', 'Request had insufficient authentication scopes.');
      }
      const admin = this.findUser(t.subject);
      if (!admin?.isAdmin) return googleError(403, 'forbidden', 'Not Authorized to access this resource/api');
      return fn(req);
    };
  }

  private findUser(key: string): GoogleUser | undefined {
    // userKey: "the user's primary email address, alias email address, or unique user ID" (REF/users/get).
    return this.users.find((u) => u.id === key || u.primaryEmail.toLowerCase() === key.toLowerCase());
  }

  private userNotFound() {
    return googleError(404, 'notFound', 'Resource Not Found: userKey');
  }

  private userJson(u: GoogleUser) {
    return {
      kind: 'admin#directory#user',
      id: u.id,
      primaryEmail: u.primaryEmail,
      name: { fullName: u.fullName },
      isAdmin: u.isAdmin,
      suspended: u.suspended,
      archived: false,
    };
  }

  private tokenJson(t: GoogleToken) {
    return {
      kind: 'admin#directory#token',
      etag: '"sim"',
      clientId: t.clientId,
      displayText: t.displayText,
      anonymous: false,
      nativeApp: false,
      userKey: t.userId,
      scopes: t.scopes,
    };
  }

  private routes() {
    const read = [SCOPE_READONLY, SCOPE_USER];
    const security = [SCOPE_SECURITY];
    const seg = '([^/]+)';
    const withUser = (fn: (u: GoogleUser, req: SimRequest) => Response) => (req: SimRequest) => {
      const u = this.findUser(req.groups[0]!);
      return u ? fn(u, req) : this.userNotFound();
    };
    return [
      {
        // REF/users/list: `customer` or `domain` required; maxResults 1–500 (default 100); pageToken.
        method: 'GET',
        pattern: /^\/users$/,
        handle: this.guarded(read, ({ url }) => {
          const q = url.searchParams;
          if (!q.get('customer') && !q.get('domain')) return googleError(400, 'badRequest', 'Bad Request');
          const max = Number(q.get('maxResults') ?? '100');
          if (!Number.isInteger(max) || max < 1 || max > 500)
            return googleError(400, 'invalid', 'Invalid Input: maxResults');
          const term = (q.get('query') ?? '').toLowerCase();
          const matched = this.users.filter(
            (u) =>
              !term || u.primaryEmail.toLowerCase().includes(term) || u.fullName.toLowerCase().includes(term),
          );
          const start = Number(q.get('pageToken') ?? '0');
          const page = matched.slice(start, start + max);
          return Response.json({
            kind: 'admin#directory#users',
            ...(page.length ? { users: page.map((u) => this.userJson(u)) } : {}),
            ...(start + max < matched.length ? { nextPageToken: String(start + max) } : {}),
          });
        }),
      },
      {
        method: 'GET',
        pattern: new RegExp(`^/users/${seg}$`),
        handle: this.guarded(
          read,
          withUser((u) => Response.json(this.userJson(u))),
        ),
      },
      {
        // REF/users/signOut: "Signs a user out of all web and device sessions and reset their sign-in
        // cookies"; the request body must be empty; a generic (empty) answer.
        method: 'POST',
        pattern: new RegExp(`^/users/${seg}/signOut$`),
        handle: this.guarded(
          security,
          withUser((u) => {
            for (const s of this.sessions) if (s.userId === u.id) s.ended = true;
            return new Response(null, { status: 204 });
          }),
        ),
      },
      {
        // REF/tokens/list: one entry per client; `items` absent when there are none.
        method: 'GET',
        pattern: new RegExp(`^/users/${seg}/tokens$`),
        handle: this.guarded(
          security,
          withUser((u) => {
            const items = this.tokens.filter((t) => t.userId === u.id).map((t) => this.tokenJson(t));
            return Response.json({
              kind: 'admin#directory#tokenList',
              etag: '"sim"',
              ...(items.length ? { items } : {}),
            });
          }),
        ),
      },
      {
        // REF/tokens/get: 404 when the user holds no token of that client.
        method: 'GET',
        pattern: new RegExp(`^/users/${seg}/tokens/${seg}$`),
        handle: this.guarded(
          security,
          withUser((u, { groups }) => {
            const t = this.tokens.find((x) => x.userId === u.id && x.clientId === groups[1]);
            return t
              ? Response.json(this.tokenJson(t))
              : googleError(404, 'notFound', 'Resource Not Found: clientId');
          }),
        ),
      },
      {
        // REF/tokens/delete: "Deletes all access tokens issued by a user for an application"; empty answer;
        // 404 when there are none for that client.
        method: 'DELETE',
        pattern: new RegExp(`^/users/${seg}/tokens/${seg}$`),
        handle: this.guarded(
          security,
          withUser((u, { groups }) => {
            const i = this.tokens.findIndex((x) => x.userId === u.id && x.clientId === groups[1]);
            if (i < 0) return googleError(404, 'notFound', 'Resource Not Found: clientId');
            this.tokens.splice(i, 1);
            return new Response(null, { status: 204 });
          }),
        ),
      },
      {
        // REF/asps/list: `items` with codeId (int32), name, creationTime and lastTimeUsed (int64 as strings).
        method: 'GET',
        pattern: new RegExp(`^/users/${seg}/asps$`),
        handle: this.guarded(
          security,
          withUser((u) => {
            const items = this.asps
              .filter((a) => a.userId === u.id)
              .map((a) => ({
                kind: 'admin#directory#asp',
                etag: '"sim"',
                codeId: a.codeId,
                name: a.name,
                creationTime: String(a.creationTime),
                lastTimeUsed: '0',
                userKey: u.id,
              }));
            return Response.json({
              kind: 'admin#directory#asps',
              etag: '"sim"',
              ...(items.length ? { items } : {}),
            });
          }),
        ),
      },
      {
        // REF/asps/delete: "Deletes an ASP issued by a user"; codeId is an integer; 404 when absent.
        method: 'DELETE',
        pattern: new RegExp(`^/users/${seg}/asps/${seg}$`),
        handle: this.guarded(
          security,
          withUser((u, { groups }) => {
            if (!/^\d+$/.test(groups[1]!)) return googleError(400, 'invalid', 'Invalid value for: codeId');
            const i = this.asps.findIndex((a) => a.userId === u.id && a.codeId === Number(groups[1]));
            if (i < 0) return googleError(404, 'notFound', 'Resource Not Found: codeId');
            this.asps.splice(i, 1);
            return new Response(null, { status: 204 });
          }),
        ),
      },
    ];
  }
}
