import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EntraIdentityProvider } from '../../../../src/identity/adapters/entra.ts';
import { IdpRateLimitedError, IdpUnsupportedError } from '../../../../src/identity/errors.ts';

const GRAPH = 'https://graph.test/v1.0';
const LOGIN = 'https://login.test';
const server = setupServer();
const calls: string[] = [];
let tokenRequests: URLSearchParams[] = [];
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
    expect(Object.fromEntries(tokenRequests[0]!)).toEqual({
      grant_type: 'client_credentials',
      client_id: 'app-client',
      client_secret: 'app-secret',
      scope: 'https://graph.microsoft.com/.default',
    });
  });

  it('revokes an application by deleting its delegated grants, following @odata.nextLink', async () => {
    const idp = make();
    server.use(
      http.get(`${GRAPH}/oauth2PermissionGrants`, ({ request }) => {
        const u = new URL(request.url);
        if (u.searchParams.get('$skiptoken')) return HttpResponse.json({ value: [grant('g2', null)] });
        return HttpResponse.json({
          value: [grant('g1', 'u-1')],
          '@odata.nextLink': `${GRAPH}/oauth2PermissionGrants?$filter=clientId eq 'sp-client'&$skiptoken=X`,
        });
      }),
      http.delete(`${GRAPH}/oauth2PermissionGrants/:id`, () => new HttpResponse(null, { status: 204 })),
    );
    const plan = await idp.plan({ kind: 'application', applicationId: 'sp-client' });
    expect(plan).toMatchObject({
      steps: [{ kind: 'application', applicationId: 'sp-client' }],
      userCount: 1,
    });
    expect(plan.tokenCount).toBeUndefined();
    calls.length = 0;
    await idp.revoke({ kind: 'application', applicationId: 'sp-client' });
    expect(calls).toEqual([
      "GET /v1.0/oauth2PermissionGrants?$filter=clientId eq 'sp-client'",
      "GET /v1.0/oauth2PermissionGrants?$filter=clientId eq 'sp-client'&$skiptoken=X",
      'DELETE /v1.0/oauth2PermissionGrants/g1',
      'DELETE /v1.0/oauth2PermissionGrants/g2',
    ]);
  });

  it('filters grants by resourceId for an API, and verifies by listing again', async () => {
    const idp = make();
    server.use(
      http.get(`${GRAPH}/oauth2PermissionGrants`, () => HttpResponse.json({ value: [grant('g1', 'u-1')] })),
    );
    expect(await idp.verify({ kind: 'resourceServer', resourceServerId: "sp-o'api" })).toEqual({
      ok: false,
      remaining: [{ id: 'g1', userId: 'u-1' }],
      method: 'list',
    });
    expect(calls).toEqual(["GET /v1.0/oauth2PermissionGrants?$filter=resourceId eq 'sp-o''api'"]);
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
});
