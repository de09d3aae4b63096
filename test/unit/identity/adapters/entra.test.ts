import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EntraIdentityProvider, graphScope } from '../../../../src/identity/adapters/entra.ts';
import {
  IdpNotFoundError,
  IdpRateLimitedError,
  IdpUnsupportedError,
} from '../../../../src/identity/errors.ts';
import { guardContract, type VendorContract } from '../../../helpers/vendor-contract.ts';

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
    ]);
  });

  it('filters grants by resourceId for an API, and verifies by listing again', async () => {
    const idp = make();
    server.use(
      ...servicePrincipals("sp-o'api"),
      http.get(`${GRAPH}/oauth2PermissionGrants`, () => HttpResponse.json({ value: [grant('g1', 'u-1')] })),
    );
    expect(await idp.verify({ kind: 'resourceServer', resourceServerId: "sp-o'api" })).toEqual({
      ok: false,
      remaining: [{ id: 'g1', userId: 'u-1' }],
      method: 'list',
    });
    expect(calls).toEqual([
      `GET /v1.0/servicePrincipals/sp-o'api?$select=${SP_FIELDS}`,
      "GET /v1.0/oauth2PermissionGrants?$filter=resourceId eq 'sp-o''api'",
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
      "GET /v1.0/users?$filter=startswith(displayName,'ad') or startswith(userPrincipalName,'ad') or startswith(mail,'ad')&$top=3&$select=id,displayName,userPrincipalName,mail,accountEnabled",
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
    expect(await idp.verify({ kind: 'user', userId: 'u-1' }, { since })).toEqual({
      ok: false,
      remaining: [{ id: 'sign-in-sessions', userId: 'u-1' }],
      method: 'not-before',
    });
    validFrom = '2026-03-01T10:00:02Z';
    expect(await idp.verify({ kind: 'user', userId: 'u-1' }, { since })).toEqual({
      ok: true,
      remaining: [],
      method: 'not-before',
    });
    expect(calls.at(-1)).toBe('GET /v1.0/users/u-1?$select=id,signInSessionsValidFromDateTime');
  });
});
