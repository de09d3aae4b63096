import { randomUUID } from 'node:crypto';
import type { HttpHandler } from 'msw';
import type { Target } from '../../src/domain/target.ts';
import { formBody, type SimRequest, SimRouter } from './route-table.ts';
import type { CallMatch, ScenarioTargets, SimCall, SimFault, VendorSimulator } from './types.ts';

/**
 * Microsoft Entra ID as Microsoft Graph v1.0 and the identity platform's token endpoint show it: users
 * (member/guest, duplicate mails), `signInSessionsValidFromDateTime` on Entra's own clock, refresh tokens and
 * browser sessions, service principals, application objects with pre-authorized clients, delegated
 * permission grants and app-role assignments. Sources per rule below; `REF` in the comments is
 * https://learn.microsoft.com/graph/api.
 *
 * Access tokens already issued are not modelled as "still working": Entra documents that they stay valid
 * until they expire (60–90 minutes, learn.microsoft.com/entra/identity-platform/access-tokens#token-lifetime),
 * which no Revoker scope claims to reach (the capability notes say so).
 */

export interface EntraUser {
  id: string;
  userPrincipalName: string;
  mail: string | null;
  displayName: string;
  accountEnabled: boolean;
  /** `Member` or `Guest` (REF/resources/user: userType). */
  userType: 'Member' | 'Guest';
  /** Entra's clock, ms; undefined until the first revocation. */
  signInSessionsValidFrom?: number;
}
export interface EntraServicePrincipal {
  id: string;
  appId: string;
  displayName: string;
  servicePrincipalNames: string[];
  oauth2PermissionScopes: { value: string }[];
}
/** An application object registered in this tenant (only an API's own tenant holds it). */
export interface EntraApplication {
  appId: string;
  /** `api.preAuthorizedApplications[].appId`: clients that get delegated tokens without consent. */
  preAuthorizedAppIds: string[];
}
export interface EntraGrant {
  id: string;
  clientId: string;
  consentType: 'AllPrincipals' | 'Principal';
  principalId: string | null;
  resourceId: string;
  scope: string;
}
export interface EntraAppRoleAssignment {
  id: string;
  appRoleId: string;
  principalId: string;
  principalType: 'User' | 'Group' | 'ServicePrincipal';
  resourceId: string;
}
/** A delegated refresh token (client service principal → resource service principal, for a user). */
export interface EntraRefreshToken {
  id: string;
  userId: string;
  clientId: string;
  resourceId: string;
  issuedAt: number;
}
export interface EntraSession {
  id: string;
  userId: string;
  issuedAt: number;
}

/** Application permissions of Graph the app registration can hold (REF/… "Permissions" tables). */
export const ENTRA_PERMISSIONS = [
  'User.Read.All',
  'User.RevokeSessions.All',
  'Application.Read.All',
  'DelegatedPermissionGrant.ReadWrite.All',
  'AppRoleAssignment.ReadWrite.All',
] as const;

export interface EntraSimulatorOptions {
  graphUrl?: string;
  loginUrl?: string;
  tenantId?: string;
  /** Entra's clock minus ours (ms): the server's clock is not Revoker's. Default 0. */
  clockSkewMs?: number;
}

const GRAPH_DEFAULT = 'https://graph.entra-sim.test/v1.0';
const LOGIN_DEFAULT = 'https://login.entra-sim.test';
const CLIENT_ID = '11111111-1111-4111-8111-111111111111';
const CLIENT_SECRET = 'entra-sim-secret';

/** Graph's error envelope (REF/../graph/errors). */
const graphError = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  Response.json(
    { error: { code, message, innerError: { 'request-id': randomUUID() } } },
    { status, headers },
  );

export class EntraSimulator implements VendorSimulator {
  readonly vendor = 'entra' as const;
  readonly handlers: HttpHandler[];
  readonly graphUrl: string;
  readonly loginUrl: string;
  readonly tenantId: string;
  clockSkewMs: number;
  private readonly initialSkewMs: number;
  /** How revokeSignInSessions answers success: REF/user-revokesigninsessions copies show both. */
  revokeAnswer: '204' | '200' = '204';
  /** Application permissions admin-consented to Revoker's app registration (withhold one to test the doctor). */
  readonly granted = new Set<string>(ENTRA_PERMISSIONS);

  users: EntraUser[] = [];
  servicePrincipals: EntraServicePrincipal[] = [];
  applications: EntraApplication[] = [];
  grants: EntraGrant[] = [];
  appRoleAssignments: EntraAppRoleAssignment[] = [];
  refreshTokens: EntraRefreshToken[] = [];
  sessions: EntraSession[] = [];
  private readonly router = new SimRouter({
    // Graph 503: "Service Unavailable … may include a Retry-After" (learn.microsoft.com/graph/errors).
    unavailable: () => graphError(503, 'serviceNotAvailable', 'Service Unavailable'),
    // Graph throttling: 429 with Retry-After in seconds (learn.microsoft.com/graph/throttling).
    rateLimited: () => graphError(429, 'TooManyRequests', 'Too many requests', { 'Retry-After': '1' }),
  });
  /** Access tokens issued to Revoker's app, with the roles they carry (fixed at issue). */
  private accessTokens = new Map<string, { roles: Set<string>; expiresAt: number }>();

  constructor(options: EntraSimulatorOptions = {}) {
    this.graphUrl = (options.graphUrl ?? GRAPH_DEFAULT).replace(/\/+$/, '');
    this.loginUrl = (options.loginUrl ?? LOGIN_DEFAULT).replace(/\/+$/, '');
    this.tenantId = options.tenantId ?? 'tenant-sim';
    this.clockSkewMs = options.clockSkewMs ?? 0;
    this.initialSkewMs = this.clockSkewMs;
    this.handlers = [
      this.router.handler(this.loginUrl, this.loginRoutes(), () =>
        Response.json({ error: 'invalid_request' }, { status: 404 }),
      ),
      this.router.handler(this.graphUrl, this.graphRoutes(), (req) =>
        graphError(400, 'BadRequest', `Resource not found for the segment '${req.path}'.`),
      ),
    ];
  }

  get calls(): SimCall[] {
    return this.router.calls;
  }

  /** Entra's clock. */
  now(): number {
    return Date.now() + this.clockSkewMs;
  }

  env(): Record<string, string> {
    return {
      IDP: 'entra',
      ENTRA_TENANT_ID: this.tenantId,
      ENTRA_CLIENT_ID: CLIENT_ID,
      ENTRA_CLIENT_SECRET: CLIENT_SECRET,
      ENTRA_GRAPH_URL: this.graphUrl,
      ENTRA_LOGIN_URL: this.loginUrl,
    };
  }

  /** Adapter options pointing at this simulator. */
  adapterOptions() {
    return {
      tenantId: this.tenantId,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      graphUrl: this.graphUrl,
      loginUrl: this.loginUrl,
    };
  }

  failOnce(match: CallMatch, fault: SimFault): void {
    this.router.failOnce(match, fault);
  }

  reset(): void {
    this.router.reset();
    this.users = [];
    this.servicePrincipals = [];
    this.applications = [];
    this.grants = [];
    this.appRoleAssignments = [];
    this.refreshTokens = [];
    this.sessions = [];
    this.accessTokens.clear();
    this.granted.clear();
    for (const p of ENTRA_PERMISSIONS) this.granted.add(p);
    this.revokeAnswer = '204';
    this.clockSkewMs = this.initialSkewMs;
  }

  // ---- state helpers (tests seed through these) ----

  addUser(u: Partial<EntraUser> & { userPrincipalName: string }): EntraUser {
    const user: EntraUser = {
      id: u.id ?? randomUUID(),
      mail: u.mail === undefined ? u.userPrincipalName : u.mail,
      displayName: u.displayName ?? u.userPrincipalName.split('@')[0]!,
      accountEnabled: u.accountEnabled ?? true,
      userType: u.userType ?? 'Member',
      ...u,
    };
    this.users.push(user);
    return user;
  }

  /** The user signs in to `clientId` for `resourceId`: a refresh token and a browser session, issued now. */
  signIn(userId: string, clientId: string, resourceId: string, issuedAt = this.now()): EntraRefreshToken {
    const rt = { id: `rt-${randomUUID()}`, userId, clientId, resourceId, issuedAt };
    this.refreshTokens.push(rt);
    this.sessions.push({ id: `session-${randomUUID()}`, userId, issuedAt });
    return rt;
  }

  /** The standard scenario: a member with tokens, a duplicate mail, a guest, an app and an API. */
  seedScenario(): ScenarioTargets {
    this.addUser({ id: 'u-alice', userPrincipalName: 'alice@contoso.test', displayName: 'Alice' });
    // mail is not unique (REF/resources/user: mail has no uniqueness constraint; proxyAddresses is).
    this.addUser({
      id: 'u-alice-old',
      userPrincipalName: 'alice.old@contoso.test',
      mail: 'alice@contoso.test',
      accountEnabled: false,
    });
    this.addUser({
      id: 'u-guest',
      userPrincipalName: 'gus_fabrikam.test#EXT#@contoso.test',
      mail: 'gus@fabrikam.test',
      userType: 'Guest',
    });
    this.addUser({ id: 'u-bob', userPrincipalName: 'bob@contoso.test' });
    this.servicePrincipals.push(
      {
        id: 'sp-app',
        appId: '22222222-2222-4222-8222-222222222222',
        displayName: 'Payroll Client',
        servicePrincipalNames: ['22222222-2222-4222-8222-222222222222'],
        oauth2PermissionScopes: [],
      },
      {
        id: 'sp-api',
        appId: '33333333-3333-4333-8333-333333333333',
        displayName: 'Payroll API',
        servicePrincipalNames: ['api://payroll'],
        oauth2PermissionScopes: [{ value: 'payroll.read' }],
      },
      {
        id: 'sp-other',
        appId: '44444444-4444-4444-8444-444444444444',
        displayName: 'Other Client',
        servicePrincipalNames: [],
        oauth2PermissionScopes: [],
      },
    );
    this.applications.push({ appId: '33333333-3333-4333-8333-333333333333', preAuthorizedAppIds: [] });
    this.grants.push(
      {
        id: 'grant-alice',
        clientId: 'sp-app',
        consentType: 'Principal',
        principalId: 'u-alice',
        resourceId: 'sp-api',
        scope: 'payroll.read',
      },
      {
        id: 'grant-other-all',
        clientId: 'sp-other',
        consentType: 'AllPrincipals',
        principalId: null,
        resourceId: 'sp-api',
        scope: 'payroll.read',
      },
    );
    // sp-app holds an application permission (app role) of the API: app-only tokens need no grant.
    this.appRoleAssignments.push({
      id: 'ara-app-api',
      appRoleId: '55555555-5555-4555-8555-555555555555',
      principalId: 'sp-app',
      principalType: 'ServicePrincipal',
      resourceId: 'sp-api',
    });
    // Seeded credentials predate any revocation a test starts (a minute ago, on Entra's clock).
    const earlier = this.now() - 60_000;
    this.signIn('u-alice', 'sp-app', 'sp-api', earlier);
    this.signIn('u-bob', 'sp-other', 'sp-api', earlier);
    this.signIn('u-guest', 'sp-app', 'sp-api', earlier);
    return {
      user: { kind: 'user', userId: 'u-alice' },
      application: { kind: 'application', applicationId: 'sp-app' },
      resourceServer: { kind: 'resourceServer', resourceServerId: 'sp-api' },
    };
  }

  // ---- the oracle ----

  stillWorks(target: Target, options: { before?: Date } = {}): string[] {
    // `before` is on Revoker's clock; what Entra issued carries Entra's.
    const before = (options.before?.getTime() ?? Number.POSITIVE_INFINITY) + this.clockSkewMs;
    const out: string[] = [];
    const inTime = (t: { issuedAt: number }) => t.issuedAt < before;
    const rtMatches = (rt: EntraRefreshToken) =>
      target.kind === 'user'
        ? rt.userId === target.userId
        : target.kind === 'application'
          ? rt.clientId === target.applicationId
          : target.kind === 'resourceServer'
            ? rt.resourceId === target.resourceServerId
            : false;
    for (const rt of this.refreshTokens) {
      if (rtMatches(rt) && inTime(rt) && this.refreshTokenWorks(rt)) {
        out.push(
          `refresh_token ${rt.id} (user ${rt.userId}, client ${rt.clientId}, resource ${rt.resourceId})`,
        );
      }
    }
    if (target.kind === 'user') {
      for (const s of this.sessions) {
        if (s.userId === target.userId && inTime(s) && this.sessionAlive(s.userId, s.issuedAt)) {
          out.push(`session ${s.id} (user ${s.userId})`);
        }
      }
    }
    // App-only access: an application permission (app role assigned to a service principal) lets the
    // client get tokens for the API with client credentials, no user and no grant involved.
    for (const a of this.appRoleAssignments) {
      if (a.principalType !== 'ServicePrincipal') continue;
      const hit =
        (target.kind === 'application' && a.principalId === target.applicationId) ||
        (target.kind === 'resourceServer' && a.resourceId === target.resourceServerId);
      if (hit) out.push(`app-only access ${a.id} (client ${a.principalId}, resource ${a.resourceId})`);
    }
    return out;
  }

  snapshot(): unknown {
    return {
      users: this.users
        .map((u) => ({
          upn: u.userPrincipalName,
          enabled: u.accountEnabled,
          type: u.userType,
          sessionsRevoked: u.signInSessionsValidFrom !== undefined,
        }))
        .sort((a, b) => a.upn.localeCompare(b.upn)),
      grants: this.grants.map((g) => g.id).sort(),
      appRoleAssignments: this.appRoleAssignments.map((a) => a.id).sort(),
      preAuthorized: this.applications.map((a) => ({
        appId: a.appId,
        clients: [...a.preAuthorizedAppIds].sort(),
      })),
      refreshTokens: this.refreshTokens
        .map(
          (rt) =>
            `${rt.userId}/${rt.clientId}/${rt.resourceId}:${this.refreshTokenWorks(rt) ? 'works' : 'dead'}`,
        )
        .sort(),
      sessions: this.sessions
        .map((s) => `${s.userId}:${this.sessionAlive(s.userId, s.issuedAt) ? 'alive' : 'ended'}`)
        .sort(),
    };
  }

  private isExternal(u: EntraUser): boolean {
    return u.userType === 'Guest' || u.userPrincipalName.includes('#EXT#');
  }

  /**
   * revokeSignInSessions invalidates refresh tokens and browser session cookies issued before
   * signInSessionsValidFromDateTime, but "doesn't revoke sign-in sessions for external users, because
   * external users sign in through their home tenant" (REF/user-revokesigninsessions). A disabled account
   * cannot refresh or sign in (REF/resources/user: accountEnabled).
   */
  private sessionAlive(userId: string, issuedAt: number): boolean {
    const u = this.users.find((x) => x.id === userId);
    if (!u?.accountEnabled) return false;
    if (this.isExternal(u)) return true;
    return u.signInSessionsValidFrom === undefined || issuedAt >= u.signInSessionsValidFrom;
  }

  /**
   * A delegated refresh token redeems while the session is valid and the client is authorised for the
   * resource: a delegated permission grant for this user or for all principals
   * (REF/resources/oauth2permissiongrant), or pre-authorization by the API's registration, which needs no
   * consent (REF/resources/apiapplication: preAuthorizedApplications).
   */
  private refreshTokenWorks(rt: EntraRefreshToken): boolean {
    if (!this.sessionAlive(rt.userId, rt.issuedAt)) return false;
    const granted = this.grants.some(
      (g) =>
        g.clientId === rt.clientId &&
        g.resourceId === rt.resourceId &&
        (g.consentType === 'AllPrincipals' || g.principalId === rt.userId),
    );
    if (granted) return true;
    const client = this.servicePrincipals.find((s) => s.id === rt.clientId);
    const resource = this.servicePrincipals.find((s) => s.id === rt.resourceId);
    const app = this.applications.find((a) => a.appId === resource?.appId);
    return Boolean(client && app?.preAuthorizedAppIds.includes(client.appId));
  }

  // ---- the identity platform ----

  private loginRoutes() {
    const tenant = '([^/]+)';
    return [
      {
        // OpenID metadata MSAL reads first
        // (learn.microsoft.com/entra/identity-platform/v2-protocols-oidc#find-your-apps-openid-configuration-document-uri).
        method: 'GET',
        pattern: new RegExp(`^/${tenant}/v2\\.0/\\.well-known/openid-configuration$`),
        handle: ({ groups }: SimRequest) => {
          const t = groups[0]!;
          return Response.json({
            issuer: `${this.loginUrl}/${t}/v2.0`,
            token_endpoint: `${this.loginUrl}/${t}/oauth2/v2.0/token`,
            authorization_endpoint: `${this.loginUrl}/${t}/oauth2/v2.0/authorize`,
            jwks_uri: `${this.loginUrl}/${t}/discovery/v2.0/keys`,
            end_session_endpoint: `${this.loginUrl}/${t}/oauth2/v2.0/logout`,
          });
        },
      },
      {
        // Client credentials (learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow):
        // scope must be `{resource}/.default`; a wrong secret is 401 invalid_client (AADSTS7000215).
        method: 'POST',
        pattern: new RegExp(`^/${tenant}/oauth2/v2\\.0/token$`),
        handle: async ({ request, groups }: SimRequest) => {
          const body = await formBody(request);
          const fail = (status: number, error: string, description: string) =>
            Response.json({ error, error_description: description }, { status });
          if (groups[0] !== this.tenantId) {
            return fail(400, 'invalid_tenant', `AADSTS90002: Tenant '${groups[0]}' not found.`);
          }
          if (body.get('grant_type') !== 'client_credentials') {
            return fail(400, 'unsupported_grant_type', 'AADSTS70003: unsupported grant type');
          }
          if (body.get('client_id') !== CLIENT_ID) {
            return fail(400, 'unauthorized_client', `AADSTS700016: Application not found in the directory`);
          }
          if (body.get('client_secret') !== CLIENT_SECRET) {
            return fail(401, 'invalid_client', 'AADSTS7000215: Invalid client secret provided.');
          }
          if (body.get('scope') !== `${new URL(this.graphUrl).origin}/.default`) {
            return fail(400, 'invalid_scope', 'AADSTS1002012: The provided value for scope is not valid.');
          }
          const token = `entra-sim-at-${randomUUID()}`;
          // App-only tokens carry the admin-consented application permissions as `roles`, fixed at issue.
          this.accessTokens.set(token, { roles: new Set(this.granted), expiresAt: this.now() + 3599_000 });
          return Response.json({
            token_type: 'Bearer',
            expires_in: 3599,
            ext_expires_in: 3599,
            access_token: token,
          });
        },
      },
    ];
  }

  // ---- Microsoft Graph ----

  /** The caller's roles, or a 401 answer (REF/../graph/auth/auth-concepts: bearer required). */
  private roles(request: Request): Set<string> | Response {
    const auth = request.headers.get('authorization') ?? '';
    const t = this.accessTokens.get(auth.replace(/^Bearer /, ''));
    if (!auth.startsWith('Bearer ') || !t || t.expiresAt <= this.now()) {
      return graphError(
        401,
        'InvalidAuthenticationToken',
        'Access token validation failure. Invalid audience.',
      );
    }
    return t.roles;
  }

  /**
   * Runs `fn` when the token carries one of `anyOf` (each operation's "Permissions" table, least privileged
   * first); 403 Authorization_RequestDenied otherwise, before the object is looked up.
   */
  private guarded(anyOf: string[], fn: (req: SimRequest) => Response | Promise<Response>) {
    return (req: SimRequest) => {
      const roles = this.roles(req.request);
      if (roles instanceof Response) return roles;
      if (!anyOf.some((p) => roles.has(p))) {
        return graphError(
          403,
          'Authorization_RequestDenied',
          'Insufficient privileges to complete the operation.',
        );
      }
      return fn(req);
    };
  }

  private notFound(id: string) {
    return graphError(
      404,
      'Request_ResourceNotFound',
      `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
    );
  }

  /** A Graph date-time: ISO 8601 UTC, whole seconds, as Graph shows `signInSessionsValidFromDateTime`. */
  private graphDate(ms: number): string {
    return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  }

  private userJson(u: EntraUser, select: string[] | undefined): Record<string, unknown> {
    const all: Record<string, unknown> = {
      id: u.id,
      displayName: u.displayName,
      userPrincipalName: u.userPrincipalName,
      mail: u.mail,
      accountEnabled: u.accountEnabled,
      userType: u.userType,
      signInSessionsValidFromDateTime:
        u.signInSessionsValidFrom === undefined ? null : this.graphDate(u.signInSessionsValidFrom),
    };
    // Without $select Graph returns its default set; accountEnabled, userType and
    // signInSessionsValidFromDateTime are "Returned only on $select" (REF/resources/user#properties).
    const fields = select ?? ['id', 'displayName', 'userPrincipalName', 'mail'];
    return Object.fromEntries(fields.filter((f) => f in all).map((f) => [f, all[f]]));
  }

  private findUser(key: string): EntraUser | undefined {
    // `/users/{id | userPrincipalName}` (REF/user-get); UPNs compare case-insensitively.
    return this.users.find((u) => u.id === key || u.userPrincipalName.toLowerCase() === key.toLowerCase());
  }

  private findSp(id: string): EntraServicePrincipal | undefined {
    return this.servicePrincipals.find((s) => s.id === id);
  }

  private graphRoutes() {
    const userRead = ['User.Read.All', 'Directory.Read.All', 'User.ReadWrite.All'];
    const appRead = ['Application.Read.All', 'Directory.Read.All', 'Application.ReadWrite.All'];
    const grantRead = [
      'DelegatedPermissionGrant.Read.All',
      'DelegatedPermissionGrant.ReadWrite.All',
      'Directory.Read.All',
    ];
    const seg = '([^/]+)';
    return [
      {
        // REF/user-list#example-3-get-only-a-count-of-users: `$count` needs ConsistencyLevel: eventual.
        method: 'GET',
        pattern: /^\/users\/\$count$/,
        handle: this.guarded(userRead, ({ request }) => {
          if (request.headers.get('consistencylevel') !== 'eventual') {
            return graphError(
              400,
              'Request_BadRequest',
              'Count is not currently supported. Use ConsistencyLevel: eventual.',
            );
          }
          return new Response(String(this.users.length), {
            headers: this.headers({ 'Content-Type': 'text/plain' }),
          });
        }),
      },
      {
        // REF/user-list: $filter (eq, startswith on mail/userPrincipalName/displayName), $top 1–999, $select.
        method: 'GET',
        pattern: /^\/users$/,
        handle: this.guarded(userRead, (req) =>
          this.list(req, this.users, ['displayName', 'userPrincipalName', 'mail'], (u, select) =>
            this.userJson(u, select),
          ),
        ),
      },
      {
        method: 'GET',
        pattern: new RegExp(`^/users/${seg}$`),
        handle: this.guarded(userRead, ({ groups, url }) => {
          const u = this.findUser(groups[0]!);
          if (!u) return this.notFound(groups[0]!);
          return this.json(this.userJson(u, selectOf(url)));
        }),
      },
      {
        // REF/user-revokesigninsessions: resets signInSessionsValidFromDateTime to the current date-time;
        // "If successful, this method returns a 2xx series response code": 204, or 200 `{value: true}`.
        method: 'POST',
        pattern: new RegExp(`^/users/${seg}/revokeSignInSessions$`),
        handle: this.guarded(
          ['User.RevokeSessions.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All'],
          ({ groups }) => {
            const u = this.findUser(groups[0]!);
            if (!u) return this.notFound(groups[0]!);
            u.signInSessionsValidFrom = this.now();
            if (this.revokeAnswer === '204')
              return new Response(null, { status: 204, headers: this.headers() });
            return this.json({ '@odata.context': `${this.graphUrl}/$metadata#Edm.Boolean`, value: true });
          },
        ),
      },
      {
        // REF/serviceprincipal-list
        method: 'GET',
        pattern: /^\/servicePrincipals$/,
        handle: this.guarded(appRead, (req) =>
          this.list(req, this.servicePrincipals, ['displayName'], (s, select) => pick(s, select)),
        ),
      },
      {
        // REF/serviceprincipal-get: by id, or by the appId alternate key `servicePrincipals(appId='…')`.
        method: 'GET',
        pattern: /^\/servicePrincipals\(appId='([^']*)'\)$/,
        handle: this.guarded(appRead, ({ groups, url }) => {
          const sp = this.servicePrincipals.find((s) => s.appId === groups[0]);
          return sp ? this.json(pick(sp, selectOf(url))) : this.notFound(groups[0]!);
        }),
      },
      {
        method: 'GET',
        pattern: new RegExp(`^/servicePrincipals/${seg}$`),
        handle: this.guarded(appRead, ({ groups, url }) => {
          const sp = this.findSp(groups[0]!);
          return sp ? this.json(pick(sp, selectOf(url))) : this.notFound(groups[0]!);
        }),
      },
      {
        // REF/serviceprincipal-list-approleassignments: app roles granted to this service principal.
        method: 'GET',
        pattern: new RegExp(`^/servicePrincipals/${seg}/appRoleAssignments$`),
        handle: this.guarded(appRead, (req) => {
          if (!this.findSp(req.groups[0]!)) return this.notFound(req.groups[0]!);
          return this.list(
            req,
            this.appRoleAssignments.filter((a) => a.principalId === req.groups[0]),
            [],
            (a) => ({ ...a }),
          );
        }),
      },
      {
        // REF/serviceprincipal-list-approleassignedto: assignments of this resource's app roles.
        method: 'GET',
        pattern: new RegExp(`^/servicePrincipals/${seg}/appRoleAssignedTo$`),
        handle: this.guarded(appRead, (req) => {
          if (!this.findSp(req.groups[0]!)) return this.notFound(req.groups[0]!);
          return this.list(
            req,
            this.appRoleAssignments.filter((a) => a.resourceId === req.groups[0]),
            [],
            (a) => ({ ...a }),
          );
        }),
      },
      {
        // REF/serviceprincipal-delete-approleassignments: 204 No Content; AppRoleAssignment.ReadWrite.All.
        method: 'DELETE',
        pattern: new RegExp(`^/servicePrincipals/${seg}/appRoleAssignments/${seg}$`),
        handle: this.guarded(['AppRoleAssignment.ReadWrite.All'], ({ groups }) =>
          this.deleteAssignment(groups[1]!, (a) => a.principalId === groups[0]),
        ),
      },
      {
        // REF/serviceprincipal-delete-approleassignedto: 204 No Content; AppRoleAssignment.ReadWrite.All.
        method: 'DELETE',
        pattern: new RegExp(`^/servicePrincipals/${seg}/appRoleAssignedTo/${seg}$`),
        handle: this.guarded(['AppRoleAssignment.ReadWrite.All'], ({ groups }) =>
          this.deleteAssignment(groups[1]!, (a) => a.resourceId === groups[0]),
        ),
      },
      {
        // REF/application-get: by the appId alternate key; only the API's own tenant has the object.
        method: 'GET',
        pattern: /^\/applications\(appId='([^']*)'\)$/,
        handle: this.guarded(appRead, ({ groups }) => {
          const app = this.applications.find((a) => a.appId === groups[0]);
          if (!app) return this.notFound(groups[0]!);
          return this.json({
            api: {
              preAuthorizedApplications: app.preAuthorizedAppIds.map((appId) => ({
                appId,
                delegatedPermissionIds: [],
              })),
            },
          });
        }),
      },
      {
        // REF/oauth2permissiongrant-list: $filter on clientId, resourceId, principalId, consentType.
        method: 'GET',
        pattern: /^\/oauth2PermissionGrants$/,
        handle: this.guarded(grantRead, (req) =>
          this.list(req, this.grants, ['clientId', 'resourceId', 'principalId', 'consentType'], (g) => ({
            ...g,
          })),
        ),
      },
      {
        // REF/oauth2permissiongrant-delete: 204 No Content; DelegatedPermissionGrant.ReadWrite.All.
        method: 'DELETE',
        pattern: new RegExp(`^/oauth2PermissionGrants/${seg}$`),
        handle: this.guarded(
          ['DelegatedPermissionGrant.ReadWrite.All', 'Directory.ReadWrite.All'],
          ({ groups }) => {
            const i = this.grants.findIndex((g) => g.id === groups[0]);
            if (i < 0) return this.notFound(groups[0]!);
            this.grants.splice(i, 1);
            return new Response(null, { status: 204, headers: this.headers() });
          },
        ),
      },
    ];
  }

  private deleteAssignment(id: string, owned: (a: EntraAppRoleAssignment) => boolean): Response {
    const i = this.appRoleAssignments.findIndex((a) => a.id === id && owned(a));
    if (i < 0) return this.notFound(id);
    this.appRoleAssignments.splice(i, 1);
    return new Response(null, { status: 204, headers: this.headers() });
  }

  /** Graph answers carry `Date` on Entra's clock (RFC 9110 §6.6.1). */
  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { Date: new Date(this.now()).toUTCString(), ...extra };
  }

  private json(body: unknown, status = 200): Response {
    return Response.json(body, { status, headers: this.headers() });
  }

  /**
   * A Graph collection: `$filter` (the forms the fields support, joined by `or`), `$top` 1–999
   * (REF/../graph/query-parameters#top-parameter), `$select`, server-side paging with
   * `@odata.nextLink` and an opaque `$skiptoken` (REF/../graph/paging), 100 per page by default.
   */
  private list<T extends object>(
    { url }: SimRequest,
    items: T[],
    filterable: string[],
    render: (item: T, select: string[] | undefined) => Record<string, unknown>,
  ): Response {
    for (const key of url.searchParams.keys()) {
      if (!['$filter', '$top', '$select', '$skiptoken', '$count', '$orderby', '$search'].includes(key)) {
        return graphError(400, 'BadRequest', `Query option '${key}' is not allowed.`);
      }
    }
    let matched = items;
    const filter = url.searchParams.get('$filter');
    if (filter !== null) {
      const predicate = parseFilter(filter, filterable);
      if (!predicate) {
        return graphError(
          400,
          'Request_UnsupportedQuery',
          `Unsupported or invalid query filter clause: ${filter}`,
        );
      }
      matched = items.filter((i) => predicate(i as Record<string, unknown>));
    }
    const topRaw = url.searchParams.get('$top');
    const top = topRaw === null ? 100 : Number(topRaw);
    if (!Number.isInteger(top) || top < 1 || top > 999) {
      return graphError(
        400,
        'Request_BadRequest',
        `Invalid page size specified: '${topRaw}'. Must be between 1 and 999 inclusive.`,
      );
    }
    const skip = Number(
      Buffer.from(url.searchParams.get('$skiptoken') ?? 'MA', 'base64url').toString() || '0',
    );
    const page = matched.slice(skip, skip + top);
    const body: Record<string, unknown> = { value: page.map((i) => render(i, selectOf(url))) };
    if (skip + top < matched.length) {
      const next = new URL(url);
      next.searchParams.set('$skiptoken', Buffer.from(String(skip + top)).toString('base64url'));
      body['@odata.nextLink'] = next.toString();
    }
    return this.json(body);
  }

  /** The simulator's counterpart of a failed probe or a guarded call: used by tests. */
  withhold(permission: (typeof ENTRA_PERMISSIONS)[number]): void {
    this.granted.delete(permission);
    // Tokens already issued keep their roles until they expire; drop them so the next call asks again.
    this.accessTokens.clear();
  }
}

function selectOf(url: URL): string[] | undefined {
  const s = url.searchParams.get('$select');
  return s ? s.split(',').map((f) => f.trim()) : undefined;
}

function pick(o: object, select: string[] | undefined): Record<string, unknown> {
  const all = o as Record<string, unknown>;
  if (!select) return { ...all };
  return Object.fromEntries(select.filter((f) => f in all).map((f) => [f, all[f]]));
}

/**
 * The OData `$filter` forms Graph supports on these fields: `field eq 'v'` and `startswith(field,'v')`,
 * joined by `or` (REF/../graph/filter-query-parameter). String comparison is case-insensitive for directory
 * objects. Anything else is unsupported (undefined).
 */
function parseFilter(
  filter: string,
  fields: string[],
): ((o: Record<string, unknown>) => boolean) | undefined {
  const literal = "'((?:[^']|'')*)'";
  const clauses = filter.split(/ or /);
  const preds: ((o: Record<string, unknown>) => boolean)[] = [];
  for (const clause of clauses) {
    const eq = new RegExp(`^\\s*(\\w+) eq ${literal}\\s*$`).exec(clause);
    const sw = new RegExp(`^\\s*startswith\\((\\w+),\\s*${literal}\\)\\s*$`).exec(clause);
    const m = eq ?? sw;
    if (!m || !fields.includes(m[1]!)) return undefined;
    const field = m[1]!;
    const value = m[2]!.replace(/''/g, "'").toLowerCase();
    preds.push((o) => {
      const v = o[field];
      if (typeof v !== 'string') return false;
      return eq ? v.toLowerCase() === value : v.toLowerCase().startsWith(value);
    });
  }
  return (o) => preds.some((p) => p(o));
}
