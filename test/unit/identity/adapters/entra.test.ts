import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError } from '../../../../src/domain/errors.ts';
import { EntraIdentityProvider, graphScope } from '../../../../src/identity/adapters/entra.ts';
import {
  IdpNotFoundError,
  IdpRateLimitedError,
  IdpTransientError,
  IdpUnsupportedError,
} from '../../../../src/identity/errors.ts';
import type { IdpBudget } from '../../../../src/identity/idp-budget.ts';
import { withIdpCall } from '../../../../src/identity/idp-call-context.ts';
import { guardContract, type VendorContract } from '../../../helpers/vendor-contract.ts';
import { ENTRA_PERMISSIONS, EntraSimulator } from '../../../simulators/entra.ts';

const GRAPH = 'https://graph.test/v1.0';
const LOGIN = 'https://login.test';

/**
 * The Microsoft Graph v1.0 operations the adapter uses (Graph REST reference, learn.microsoft.com/graph/api/…,
 * each page's "Permissions" table for the least-privileged application permission). Paging:
 * `@odata.nextLink` (learn.microsoft.com/graph/paging). Throttling: 429 + Retry-After
 * (learn.microsoft.com/graph/throttling). Token: the identity platform's client-credentials flow through
 * MSAL (@azure/identity), which first reads the authority's OpenID metadata.
 */
const REF = 'https://learn.microsoft.com/graph/api';
const RL = '429 + Retry-After';
const NEXT = '@odata.nextLink';
const ODATA = ['$filter', '$top', '$select', '$count', '$search', '$orderby'];
const ENTRA: VendorContract = {
  [GRAPH]: [
    {
      method: 'GET',
      path: '/users',
      query: ODATA,
      permission: 'User.Read.All',
      pagination: NEXT,
      rateLimit: RL,
      source: `${REF}/user-list`,
    },
    {
      method: 'GET',
      path: '/users/$count',
      permission: 'User.Read.All (header ConsistencyLevel: eventual)',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/user-list#example-3-get-only-a-count-of-users`,
    },
    {
      method: 'GET',
      path: '/users/{id}',
      query: ['$select'],
      permission: 'User.Read.All',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/user-get`,
    },
    {
      method: 'POST',
      path: '/users/{id}/revokeSignInSessions',
      permission: 'User.RevokeSessions.All',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/user-revokesigninsessions`,
    },
    {
      method: 'GET',
      path: '/servicePrincipals',
      query: ODATA,
      permission: 'Application.Read.All',
      pagination: NEXT,
      rateLimit: RL,
      source: `${REF}/serviceprincipal-list`,
    },
    {
      method: 'GET',
      path: '/servicePrincipals/{id}',
      query: ['$select'],
      permission: 'Application.Read.All',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/serviceprincipal-get`,
    },
    {
      method: 'GET',
      path: "/servicePrincipals(appId='{appId}')",
      query: ['$select'],
      permission: 'Application.Read.All',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/serviceprincipal-get#http-request`,
    },
    {
      method: 'GET',
      path: '/servicePrincipals/{id}/appRoleAssignments',
      permission: 'Application.Read.All',
      pagination: NEXT,
      rateLimit: RL,
      source: `${REF}/serviceprincipal-list-approleassignments`,
    },
    {
      method: 'GET',
      path: '/servicePrincipals/{id}/appRoleAssignedTo',
      permission: 'Application.Read.All',
      pagination: NEXT,
      rateLimit: RL,
      source: `${REF}/serviceprincipal-list-approleassignedto`,
    },
    {
      method: 'DELETE',
      path: '/servicePrincipals/{id}/appRoleAssignments/{assignmentId}',
      permission: 'AppRoleAssignment.ReadWrite.All',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/serviceprincipal-delete-approleassignments`,
    },
    {
      method: 'DELETE',
      path: '/servicePrincipals/{id}/appRoleAssignedTo/{assignmentId}',
      permission: 'AppRoleAssignment.ReadWrite.All',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/serviceprincipal-delete-approleassignedto`,
    },
    {
      method: 'GET',
      path: "/applications(appId='{appId}')",
      query: ['$select'],
      permission: 'Application.Read.All',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/application-get#http-request`,
    },
    {
      method: 'GET',
      path: '/oauth2PermissionGrants',
      query: ['$filter', '$top', '$select', '$skiptoken'],
      permission: 'DelegatedPermissionGrant.Read.All',
      pagination: NEXT,
      rateLimit: RL,
      source: `${REF}/oauth2permissiongrant-list`,
    },
    {
      method: 'DELETE',
      path: '/oauth2PermissionGrants/{id}',
      permission: 'DelegatedPermissionGrant.ReadWrite.All',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/oauth2permissiongrant-delete`,
    },
  ],
  [LOGIN]: [
    {
      method: 'GET',
      path: '/{tenant}/v2.0/.well-known/openid-configuration',
      permission: 'none',
      pagination: 'none',
      rateLimit: '429',
      source:
        'https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc#find-your-apps-openid-configuration-document-uri',
    },
    {
      method: 'POST',
      path: '/{tenant}/oauth2/v2.0/token',
      query: ['client-request-id'],
      permission: 'client secret or certificate',
      pagination: 'none',
      rateLimit: '429',
      source:
        'https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow#first-case-access-token-request-with-a-shared-secret',
    },
  ],
};

const server = setupServer();
const calls: string[] = [];
let tokenRequests: URLSearchParams[] = [];
const contract = guardContract(server, ENTRA);
beforeAll(() => {
  server.listen({ onUnhandledFrame: 'error' });
  server.events.on('request:start', ({ request }) => {
    const u = new URL(request.url);
    if (u.origin === new URL(GRAPH).origin) {
      // A call without the app-only bearer shows up in `calls`, so the assertions on calls catch it.
      if (request.headers.get('authorization') !== 'Bearer graph-at-1') calls.push('MISSING BEARER');
      calls.push(`${request.method} ${decodeURIComponent(u.pathname + u.search).replace(/\+/g, ' ')}`);
    }
  });
});
beforeEach(() => {
  tokenRequests = [];
  server.use(
    http.get(`${LOGIN}/:tenant/v2.0/.well-known/openid-configuration`, ({ params }) =>
      HttpResponse.json({
        issuer: `${LOGIN}/${String(params.tenant)}/v2.0`,
        token_endpoint: `${LOGIN}/${String(params.tenant)}/oauth2/v2.0/token`,
        authorization_endpoint: `${LOGIN}/${String(params.tenant)}/oauth2/v2.0/authorize`,
        jwks_uri: `${LOGIN}/${String(params.tenant)}/discovery/v2.0/keys`,
        end_session_endpoint: `${LOGIN}/${String(params.tenant)}/oauth2/v2.0/logout`,
      }),
    ),
    http.post(`${LOGIN}/tenant-1/oauth2/v2.0/token`, async ({ request }) => {
      tokenRequests.push(new URLSearchParams(await request.text()));
      return HttpResponse.json({
        token_type: 'Bearer',
        expires_in: 3599,
        ext_expires_in: 3599,
        access_token: 'graph-at-1',
      });
    }),
  );
});
afterEach(() => {
  expect(contract.violations.splice(0), 'requests Microsoft does not document').toEqual([]);
  server.resetHandlers();
  calls.length = 0;
});
afterAll(() => server.close());

const make = () =>
  new EntraIdentityProvider({
    tenantId: 'tenant-1',
    clientId: 'app-client',
    clientSecret: 'app-secret',
    graphUrl: GRAPH,
    loginUrl: LOGIN,
  });

const SP_FIELDS = 'id,appId,displayName,servicePrincipalNames,oauth2PermissionScopes';
/** Graph's service principals by object id, and by appId through the alternate key. */
const servicePrincipals = (...ids: string[]) => [
  http.get(`${GRAPH}/servicePrincipals/:id`, ({ params }) =>
    ids.includes(String(params.id))
      ? HttpResponse.json({ id: String(params.id), appId: `app-of-${String(params.id)}`, displayName: 'SP' })
      : HttpResponse.json(
          { error: { code: 'Request_ResourceNotFound', message: 'Resource does not exist' } },
          { status: 404 },
        ),
  ),
];

const grant = (id: string, principalId: string | null) => ({
  clientId: 'sp-client',
  consentType: principalId ? 'Principal' : 'AllPrincipals',
  id,
  principalId,
  resourceId: 'sp-graph',
  scope: 'User.Read',
});

describe('EntraIdentityProvider', () => {
  it('declares honest capabilities: no single-token revocation, no listing', () => {
    const idp = make();
    expect(idp.capabilities.scopes).toEqual({
      token: false,
      user: true,
      application: true,
      resourceServer: true,
    });
    expect(idp.capabilities.unsupportedReasons.token).toBe(
      "Microsoft Entra ID cannot revoke a single token; revoke all of the user's sessions instead.",
    );
    expect(idp.capabilities.listTokens).toBe(false);
  });

  it('gets an app-only token once, then revokes a user’s sign-in sessions', async () => {
    const idp = make();
    server.use(
      http.post(`${GRAPH}/users/:id/revokeSignInSessions`, () =>
        HttpResponse.json({ '@odata.context': `${GRAPH}/$metadata#Edm.Boolean`, value: true }),
      ),
    );
    expect(await idp.revoke({ kind: 'user', userId: 'alice@contoso.com' })).toEqual({ revoked: [] });
    await idp.revoke({ kind: 'user', userId: 'u-2' });
    expect(calls).toEqual([
      'POST /v1.0/users/alice@contoso.com/revokeSignInSessions',
      'POST /v1.0/users/u-2/revokeSignInSessions',
    ]);
    expect(tokenRequests).toHaveLength(1);
    expect(Object.fromEntries(tokenRequests[0]!)).toMatchObject({
      grant_type: 'client_credentials',
      client_id: 'app-client',
      client_secret: 'app-secret',
      scope: 'https://graph.test/.default',
    });
  });

  it('revokes an application by deleting its delegated grants, following @odata.nextLink', async () => {
    const idp = make();
    server.use(
      http.get(`${GRAPH}/oauth2PermissionGrants`, ({ request }) => {
        const u = new URL(request.url);
        if (u.searchParams.get('$skiptoken')) return HttpResponse.json({ value: [grant('g2', 'u-1')] });
        return HttpResponse.json({
          value: [grant('g1', 'u-1'), grant('g1b', 'u-1')],
          '@odata.nextLink': `${GRAPH}/oauth2PermissionGrants?$filter=clientId eq 'sp-client'&$skiptoken=X`,
        });
      }),
      http.delete(`${GRAPH}/oauth2PermissionGrants/:id`, () => new HttpResponse(null, { status: 204 })),
      http.get(`${GRAPH}/servicePrincipals/:id/appRoleAssignments`, () => HttpResponse.json({ value: [] })),
    );
    server.use(...servicePrincipals('sp-client'));
    const plan = await idp.plan({ kind: 'application', applicationId: 'sp-client' });
    expect(plan).toMatchObject({
      steps: [{ kind: 'application', applicationId: 'sp-client' }],
      userCount: 1,
    });
    expect(plan.tokenCount).toBeUndefined();
    calls.length = 0;
    await idp.revoke({ kind: 'application', applicationId: 'sp-client' });
    expect(calls).toEqual([
      `GET /v1.0/servicePrincipals/sp-client?$select=${SP_FIELDS}`,
      "GET /v1.0/oauth2PermissionGrants?$filter=clientId eq 'sp-client'",
      "GET /v1.0/oauth2PermissionGrants?$filter=clientId eq 'sp-client'&$skiptoken=X",
      'DELETE /v1.0/oauth2PermissionGrants/g1',
      'DELETE /v1.0/oauth2PermissionGrants/g1b',
      'DELETE /v1.0/oauth2PermissionGrants/g2',
      'GET /v1.0/servicePrincipals/sp-client/appRoleAssignments',
    ]);
  });

  it('filters grants by resourceId for an API, and verifies by listing again', async () => {
    const idp = make();
    server.use(
      ...servicePrincipals("sp-o'api"),
      http.get(`${GRAPH}/oauth2PermissionGrants`, () => HttpResponse.json({ value: [grant('g1', 'u-1')] })),
      http.get(`${GRAPH}/servicePrincipals/:id/appRoleAssignedTo`, () => HttpResponse.json({ value: [] })),
      http.get(`${GRAPH}/applications(appId=':appId')`, () =>
        HttpResponse.json({ api: { preAuthorizedApplications: [] } }),
      ),
    );
    expect(await idp.verify({ kind: 'resourceServer', resourceServerId: "sp-o'api" })).toMatchObject({
      ok: false,
      remaining: [{ id: 'g1', userId: 'u-1' }],
      method: 'list',
    });
    expect(calls).toEqual([
      `GET /v1.0/servicePrincipals/sp-o'api?$select=${SP_FIELDS}`,
      "GET /v1.0/oauth2PermissionGrants?$filter=resourceId eq 'sp-o''api'",
      "GET /v1.0/servicePrincipals/sp-o'api/appRoleAssignedTo",
      "GET /v1.0/applications(appId='app-of-sp-o''api')?$select=api",
    ]);
  });

  it('refuses a single token with the admin-facing reason', async () => {
    const idp = make();
    const err = await idp.revoke({ kind: 'token', userId: 'u', tokenId: 't' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdpUnsupportedError);
    expect((err as Error).message).toContain('cannot revoke a single token');
    await expect(idp.listUserTokens('u')).rejects.toBeInstanceOf(IdpUnsupportedError);
  });

  it('searches users and service principals with $filter startswith', async () => {
    const idp = make();
    server.use(
      http.get(`${GRAPH}/users`, () =>
        HttpResponse.json({
          value: [
            {
              id: 'u-1',
              displayName: 'Adele Vance',
              userPrincipalName: 'adele@contoso.com',
              mail: 'adele@contoso.com',
              accountEnabled: true,
            },
          ],
        }),
      ),
      http.get(`${GRAPH}/servicePrincipals`, () =>
        HttpResponse.json({
          value: [
            { id: 'sp-1', appId: 'app-1', displayName: 'Payroll', servicePrincipalNames: ['api://payroll'] },
          ],
        }),
      ),
    );
    expect(await idp.searchUsers('ad', 3)).toEqual([
      {
        id: 'u-1',
        userName: 'adele@contoso.com',
        email: 'adele@contoso.com',
        displayName: 'Adele Vance',
        active: true,
      },
    ]);
    expect(await idp.searchApplications('Pay')).toEqual([{ id: 'sp-1', name: 'Payroll' }]);
    expect(await idp.searchResourceServers('Pay')).toEqual([
      { id: 'sp-1', name: 'Payroll', audience: 'api://payroll', scopes: [] },
    ]);
    expect(calls[0]).toBe(
      "GET /v1.0/users?$filter=startswith(displayName,'ad') or startswith(userPrincipalName,'ad') or startswith(mail,'ad')&$top=3&$select=id,displayName,userPrincipalName,mail,accountEnabled,userType",
    );
    expect(calls[1]).toBe(
      "GET /v1.0/servicePrincipals?$filter=startswith(displayName,'Pay')&$top=20&$select=id,appId,displayName,servicePrincipalNames,oauth2PermissionScopes",
    );
  });

  it('maps Graph 429 + Retry-After to rate-limited', async () => {
    const idp = make();
    server.use(
      http.post(`${GRAPH}/users/:id/revokeSignInSessions`, () =>
        HttpResponse.json(
          { error: { code: 'TooManyRequests', message: 'Too many requests' } },
          { status: 429, headers: { 'Retry-After': '4' } },
        ),
      ),
    );
    const err = await idp.revoke({ kind: 'user', userId: 'u-1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdpRateLimitedError);
    expect((err as IdpRateLimitedError).retryAfterMs).toBe(4000);
    expect((err as Error).message).toContain('TooManyRequests');
  });

  it('point 1: a national-cloud tenant asks for the .default scope of its own Graph root', async () => {
    expect(graphScope('https://graph.microsoft.us/v1.0')).toBe('https://graph.microsoft.us/.default');
    expect(graphScope('https://microsoftgraph.chinacloudapi.cn/v1.0')).toBe(
      'https://microsoftgraph.chinacloudapi.cn/.default',
    );
    const idp = make();
    server.use(
      http.post(`${GRAPH}/users/:id/revokeSignInSessions`, () => HttpResponse.json({ value: true })),
    );
    await idp.revoke({ kind: 'user', userId: 'u-1' });
    expect(tokenRequests[0]!.get('scope')).toBe('https://graph.test/.default');
  });

  it('point 2: an application id that is no service principal fails instead of finding zero grants', async () => {
    const idp = make();
    server.use(
      ...servicePrincipals('sp-client'),
      http.get(`${GRAPH}/oauth2PermissionGrants`, () => HttpResponse.json({ value: [] })),
    );
    await expect(idp.plan({ kind: 'application', applicationId: 'typo' })).rejects.toBeInstanceOf(
      IdpNotFoundError,
    );
    await expect(idp.verify({ kind: 'application', applicationId: 'typo' })).rejects.toThrow(
      /no service principal with object id or appId "typo"/,
    );
    expect(calls.some((c) => c.includes('oauth2PermissionGrants'))).toBe(false);
  });

  it('point 2: an appId is translated to its service principal through the appId alternate key', async () => {
    const idp = make();
    const appId = '00000003-0000-0000-c000-000000000000';
    server.use(
      ...servicePrincipals('sp-client'),
      http.get(`${GRAPH}/servicePrincipals(appId=':appId')`, () =>
        HttpResponse.json({ id: 'sp-client', appId, displayName: 'Payroll' }),
      ),
      http.get(`${GRAPH}/oauth2PermissionGrants`, () => HttpResponse.json({ value: [grant('g1', 'u-1')] })),
    );
    expect((await idp.plan({ kind: 'application', applicationId: appId })).userCount).toBe(1);
    expect(calls).toEqual([
      `GET /v1.0/servicePrincipals/${appId}?$select=${SP_FIELDS}`,
      `GET /v1.0/servicePrincipals(appId='${appId}')?$select=${SP_FIELDS}`,
      "GET /v1.0/oauth2PermissionGrants?$filter=clientId eq 'sp-client'",
    ]);
  });

  it('point 3: an admin-consented (AllPrincipals) app counts every user of the tenant', async () => {
    const idp = make();
    let consistency: string | null = null;
    server.use(
      ...servicePrincipals('sp-client'),
      http.get(`${GRAPH}/oauth2PermissionGrants`, () => HttpResponse.json({ value: [grant('g1', null)] })),
      http.get(`${GRAPH}/users/$count`, ({ request }) => {
        consistency = request.headers.get('consistencylevel');
        return new HttpResponse('1234', { headers: { 'Content-Type': 'text/plain' } });
      }),
    );
    expect((await idp.plan({ kind: 'application', applicationId: 'sp-client' })).userCount).toBe(1234);
    expect(consistency).toBe('eventual');
  });

  it('point 15: the user scope is verified by reading signInSessionsValidFromDateTime back', async () => {
    const idp = make();
    let validFrom = '2026-01-01T00:00:00Z';
    server.use(
      http.get(`${GRAPH}/users/u-1`, () =>
        HttpResponse.json({ id: 'u-1', signInSessionsValidFromDateTime: validFrom }),
      ),
    );
    const since = new Date('2026-03-01T10:00:00Z');
    expect(await idp.verify({ kind: 'user', userId: 'u-1' }, { since })).toMatchObject({
      ok: false,
      remaining: [{ id: 'sign-in-sessions', userId: 'u-1' }],
      method: 'not-before',
    });
    validFrom = '2026-03-01T10:00:02Z';
    expect(await idp.verify({ kind: 'user', userId: 'u-1' }, { since })).toMatchObject({
      ok: true,
      remaining: [],
      method: 'not-before',
    });
    expect(calls.at(-1)).toBe(
      'GET /v1.0/users/u-1?$select=id,userPrincipalName,userType,signInSessionsValidFromDateTime',
    );
  });
});

/**
 * Issue 18, against the stateful Entra simulator: the oracle is `sim.stillWorks` (what Entra would still
 * honour), never the adapter's own verify.
 */
describe('EntraIdentityProvider against the Entra simulator', () => {
  const sim = new EntraSimulator({ graphUrl: GRAPH, loginUrl: LOGIN, tenantId: 'tenant-1' });
  const adapter = (extra: { timeoutMs?: number } = {}) =>
    new EntraIdentityProvider({ ...sim.adapterOptions(), ...extra });
  let targets: ReturnType<EntraSimulator['seedScenario']>;
  beforeEach(() => {
    sim.reset();
    targets = sim.seedScenario();
    server.use(...sim.handlers);
  });
  const user = () => targets.user!;

  it('item 1: an earlier revocation’s cut-off is not this one’s, and a retry after a 503 calls again', async () => {
    const idp = adapter();
    // An earlier revocation 20 s ago; Alice signed in again since: her new tokens work.
    sim.users.find((u) => u.id === 'u-alice')!.signInSessionsValidFrom = sim.now() - 20_000;
    sim.signIn('u-alice', 'sp-app', 'sp-api', sim.now() - 1000);
    const since = new Date();
    sim.failOnce({ method: 'POST', url: /revokeSignInSessions$/ }, '503');
    await expect(idp.revoke(user())).rejects.toBeInstanceOf(IdpTransientError);
    expect(sim.stillWorks(user(), { before: since })).not.toEqual([]);
    // What the pipeline asks on a retry (without since) and what finalize asks (with since): neither may
    // read the earlier cut-off as this revocation's.
    expect((await idp.verify(user())).ok).toBe(false);
    const before = await idp.verify(user(), { since });
    expect(before.ok).toBe(false);
    expect(before.parts?.[0]).toMatchObject({ outcome: 'failed' });
    await idp.revoke(user());
    expect(sim.stillWorks(user(), { before: since })).toEqual([]);
    expect(await idp.verify(user(), { since })).toMatchObject({
      ok: true,
      parts: [{ outcome: 'verified', method: 'not-before' }],
    });
  });

  it('item 1: Entra’s clock is read from its Date header, so a skewed server clock needs no wide window', async () => {
    sim.reset();
    sim.clockSkewMs = -30_000; // Entra's clock is 30 s behind ours
    sim.seedScenario();
    const idp = adapter();
    const since = new Date();
    await idp.revoke(user());
    expect(sim.stillWorks(user(), { before: since })).toEqual([]);
    expect((await idp.verify(user(), { since })).ok).toBe(true);
    // The other way: Entra 30 s ahead, an earlier revocation 10 s ago on its clock: not this one.
    sim.clockSkewMs = 30_000;
    sim.users.find((u) => u.id === 'u-alice')!.signInSessionsValidFrom = sim.now() - 10_000;
    expect((await idp.verify(user(), { since: new Date() })).ok).toBe(false);
  });

  it('item 9: any 2xx from revokeSignInSessions is success, with or without a body', async () => {
    for (const answer of ['204', '200'] as const) {
      sim.reset();
      sim.seedScenario();
      sim.revokeAnswer = answer;
      const since = new Date();
      await expect(adapter().revoke(user())).resolves.toEqual({ revoked: [] });
      expect(sim.stillWorks(user(), { before: since })).toEqual([]);
      expect(sim.calls.filter((c) => c.url.endsWith('revokeSignInSessions')).map((c) => c.status)).toEqual([
        Number(answer),
      ]);
    }
  });

  it('item 6: an external (guest) user is refused at planning, and never reported verified', async () => {
    const idp = adapter();
    const guest = { kind: 'user', userId: 'u-guest' } as const;
    const err = await idp.plan(guest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdpUnsupportedError);
    expect((err as Error).message).toMatch(
      /external \(guest\) user.*doesn't revoke sign-in sessions for external users/,
    );
    // Even if revoked anyway, the guest's tokens still work (they sign in at home) and verify says so.
    const since = new Date();
    await idp.revoke(guest);
    expect(sim.stillWorks(guest, { before: since })).not.toEqual([]);
    const v = await idp.verify(guest, { since });
    expect(v.parts).toEqual([
      expect.objectContaining({ outcome: 'unverifiable', why: expect.stringMatching(/external users/) }),
    ]);
  });

  it('item 6: the application scope removes app-role assignments too, and says what it cannot see', async () => {
    const idp = adapter();
    const app = targets.application!;
    const since = new Date();
    expect(sim.stillWorks(app)).toEqual([
      expect.stringMatching(/^refresh_token .*user u-alice, client sp-app/),
      'app-only access ara-app-api (client sp-app, resource sp-api)',
    ]);
    for (const step of (await idp.plan(app)).steps) await idp.revoke(step);
    expect(sim.stillWorks(app, { before: since })).toEqual([]);
    const v = await idp.verify(app, { since });
    expect(v.ok).toBe(true);
    expect(v.parts).toEqual([
      { part: 'delegated permission grants', outcome: 'verified', method: 'list' },
      { part: 'application permissions (app-role assignments)', outcome: 'verified', method: 'list' },
      expect.objectContaining({ part: 'pre-authorized access', outcome: 'unverifiable' }),
    ]);
  });

  it('item 6: zero grants is not "verified" while an app-role assignment remains', async () => {
    const idp = adapter();
    const app = targets.application!;
    sim.grants = sim.grants.filter((g) => g.clientId !== 'sp-app');
    sim.withhold('AppRoleAssignment.ReadWrite.All');
    await expect(idp.revoke(app)).rejects.toThrow(/403/);
    expect(sim.stillWorks(app)).toContain('app-only access ara-app-api (client sp-app, resource sp-api)');
    const v = await idp.verify(app, { since: new Date() });
    expect(v.ok).toBe(false);
    expect(v.remaining).toEqual([{ id: 'ara-app-api', userId: 'sp-app' }]);
  });

  it('item 6: an API with a pre-authorized client is reported as still working, naming it', async () => {
    const idp = adapter();
    const api = targets.resourceServer!;
    sim.servicePrincipals.push({
      id: 'sp-pre',
      appId: '66666666-6666-4666-8666-666666666666',
      displayName: 'Pre-authorized client',
      servicePrincipalNames: [],
      oauth2PermissionScopes: [],
    });
    sim.applications[0]!.preAuthorizedAppIds.push('66666666-6666-4666-8666-666666666666');
    sim.signIn('u-bob', 'sp-pre', 'sp-api', sim.now() - 1000); // before this revocation
    const since = new Date();
    for (const step of (await idp.plan(api)).steps) await idp.revoke(step);
    const still = sim.stillWorks(api, { before: since });
    expect(still).toEqual([expect.stringMatching(/^refresh_token .*client sp-pre/)]);
    const v = await idp.verify(api, { since });
    expect(v.ok).toBe(false);
    expect(v.parts?.find((p) => p.part === 'pre-authorized clients')).toMatchObject({
      outcome: 'failed',
      why: expect.stringMatching(/66666666-6666-4666-8666-666666666666/),
    });
  });

  it('item 7: a look-up by email refuses several enabled accounts or only disabled ones, naming the ids', async () => {
    const idp = adapter();
    // Alice's old, disabled account shares her mail and is listed first: it must not be picked.
    sim.users.sort((a) => (a.id === 'u-alice-old' ? -1 : 1));
    expect((await idp.findUserByEmail('ALICE@contoso.test'))?.id).toBe('u-alice');
    sim.addUser({
      id: 'u-carol-old',
      userPrincipalName: 'carol.old@contoso.test',
      mail: 'carol@contoso.test',
      accountEnabled: false,
    });
    const disabled = await idp.findUserByEmail('carol@contoso.test').catch((e: unknown) => e);
    expect(disabled).toBeInstanceOf(ConflictError);
    expect((disabled as ConflictError).code).toBe('revoker_conflict');
    expect((disabled as Error).message).toMatch(/only disabled .*u-carol-old/);
    sim.addUser({ id: 'u-alice-2', userPrincipalName: 'alice2@contoso.test', mail: 'alice@contoso.test' });
    const several = await idp.findUserByEmail('alice@contoso.test').catch((e: unknown) => e);
    expect(several).toBeInstanceOf(ConflictError);
    expect((several as Error).message).toMatch(
      /2 enabled .*u-alice, u-alice-2|2 enabled .*u-alice-2, u-alice/,
    );
    expect(await idp.findUserByEmail('nobody@contoso.test')).toBeUndefined();
  });

  it('item 12: token fetches take a permit from the shared budget; access tokens live 60–90 minutes', async () => {
    let permits = 0;
    const budget = { acquire: async () => void permits++ } as unknown as IdpBudget;
    const idp = adapter();
    await withIdpCall({ budget }, () => idp.revoke(user()));
    // Every HTTP call (OpenID metadata and token from MSAL, then Graph) took one.
    expect(sim.calls.some((c) => c.url.includes('/oauth2/v2.0/token'))).toBe(true);
    expect(permits).toBe(sim.calls.length);
    expect(idp.capabilities.notes?.user).toContain('60–90 minutes');
  });

  it('item 14: probes each write permission without revoking anything, naming the one withheld', async () => {
    const before = sim.snapshot();
    const all = await adapter().probePermissions();
    expect(all.every((p) => p.ok)).toBe(true);
    expect(new Set(all.map((p) => p.permission))).toEqual(new Set(ENTRA_PERMISSIONS));
    for (const withheld of [
      'User.RevokeSessions.All',
      'DelegatedPermissionGrant.ReadWrite.All',
      'AppRoleAssignment.ReadWrite.All',
    ] as const) {
      sim.reset();
      sim.seedScenario();
      sim.withhold(withheld);
      const probes = await adapter().probePermissions();
      const failed = probes.filter((p) => !p.ok);
      expect(failed.length).toBeGreaterThan(0);
      expect(new Set(failed.map((p) => p.permission))).toEqual(new Set([withheld]));
      expect(failed[0]!.detail).toContain(withheld);
    }
    expect(sim.snapshot()).toEqual(before);
  });

  it('item 15: tokens issued after the revocation started are outside it, and the part says so', async () => {
    const idp = adapter();
    const since = new Date();
    await idp.revoke(user());
    sim.signIn('u-alice', 'sp-app', 'sp-api'); // Alice signs in again mid-request
    expect(sim.stillWorks(user())).not.toEqual([]);
    expect(sim.stillWorks(user(), { before: since })).toEqual([]);
    const v = await idp.verify(user(), { since });
    expect(v.ok).toBe(true);
    expect(v.parts?.[0]?.part).toBe('refresh tokens and sign-in sessions issued before the revocation');
  });

  it('a 401 from Graph fetches a new token; a 503 from the token endpoint does not stall the next attempt', async () => {
    const idp = adapter();
    expect((await idp.getUser('u-bob')).id).toBe('u-bob');
    sim.withhold('User.RevokeSessions.All'); // drops issued tokens: the next Graph call is a 401
    sim.granted.add('User.RevokeSessions.All');
    expect((await idp.getUser('u-bob')).id).toBe('u-bob');
    expect(sim.calls.filter((c) => c.status === 401)).toHaveLength(1);
    // MSAL alone would refuse token requests for 60 s after a 5xx; the adapter starts afresh instead.
    sim.withhold('User.RevokeSessions.All');
    sim.granted.add('User.RevokeSessions.All');
    sim.failOnce({ method: 'POST', url: /\/oauth2\/v2\.0\/token$/ }, '503');
    await expect(idp.getUser('u-bob')).rejects.toBeInstanceOf(IdpTransientError);
    expect((await idp.getUser('u-bob')).id).toBe('u-bob');
  });

  it('a token request that never answers is bounded by the call timeout, then retried afresh', async () => {
    const idp = adapter({ timeoutMs: 300 });
    sim.failOnce({ method: 'POST', url: /\/oauth2\/v2\.0\/token$/ }, 'timeout-after-commit');
    const started = Date.now();
    await expect(idp.getUser('u-bob')).rejects.toBeInstanceOf(IdpTransientError);
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await idp.getUser('u-bob')).id).toBe('u-bob');
  });

  it('item 16: the simulator refuses what Graph refuses', async () => {
    const idp = adapter();
    // $top is 1–999 for users (learn.microsoft.com/graph/query-parameters#top-parameter).
    await expect(idp.searchUsers('a', 1000)).rejects.toThrow(/400/);
    // A bearer Entra never issued is a 401; $count without ConsistencyLevel: eventual is a 400.
    const other = await fetch(`${GRAPH}/users/u-bob`, { headers: { Authorization: 'Bearer someone-else' } });
    expect(other.status).toBe(401);
    const token = await fetch(`${LOGIN}/tenant-1/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: sim.adapterOptions().clientId,
        client_secret: 'entra-sim-secret',
        scope: 'https://graph.test/.default',
      }),
    }).then((r) => r.json() as Promise<{ access_token: string }>);
    const count = await fetch(`${GRAPH}/users/$count`, {
      headers: { Authorization: `Bearer ${token.access_token}` },
    });
    expect(count.status).toBe(400);
    // A wrong secret is 401 invalid_client (AADSTS7000215).
    const bad = await fetch(`${LOGIN}/tenant-1/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: sim.adapterOptions().clientId,
        client_secret: 'wrong',
        scope: 'https://graph.test/.default',
      }),
    });
    expect(bad.status).toBe(401);
  });

  it('a timeout after Entra applied the revocation: the retry calls again and ends as the no-fault run', async () => {
    const since = new Date();
    sim.failOnce({ method: 'POST', url: /revokeSignInSessions$/ }, 'timeout-after-commit');
    const idp = adapter({ timeoutMs: 300 });
    await expect(idp.revoke(user())).rejects.toBeInstanceOf(IdpTransientError);
    await idp.revoke(user());
    const faulted = sim.snapshot();
    sim.reset();
    sim.seedScenario();
    await adapter().revoke(user());
    expect(faulted).toEqual(sim.snapshot());
    expect(sim.stillWorks(user(), { before: since })).toEqual([]);
  });
});
