import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KeycloakIdentityProvider } from '../../../../src/identity/adapters/keycloak.ts';
import { IdpTransientError, IdpUnsupportedError } from '../../../../src/identity/errors.ts';
import { guardContract, type VendorContract } from '../../../helpers/vendor-contract.ts';

const KC = 'https://sso.test';
const ADMIN = `${KC}/admin/realms/acme`;
const NOW = Date.parse('2026-02-01T12:00:00Z');

/**
 * The Keycloak Admin REST API operations the adapter uses (keycloak.org/docs-api/latest/rest-api/index.html;
 * roles from the server's `UserResource`/`ClientResource`/`RealmAdminResource`: realm-management
 * view-users, manage-users, view-clients, manage-clients). Paging: `first`/`max` (max defaults to 100 on
 * client sessions). Keycloak itself has no rate limit (a proxy in front may answer 429/503).
 */
const REF = 'https://www.keycloak.org/docs-api/latest/rest-api/index.html';
const RL = 'none built in (proxy 429/503)';
const KEYCLOAK: VendorContract = {
  [ADMIN]: [
    {
      method: 'GET',
      path: '/users',
      query: [
        'search',
        'max',
        'first',
        'briefRepresentation',
        'email',
        'exact',
        'username',
        'firstName',
        'lastName',
        'enabled',
        'emailVerified',
        'idpAlias',
        'idpUserId',
        'q',
      ],
      permission: 'view-users (or query-users)',
      pagination: 'first/max',
      rateLimit: RL,
      source: `${REF}#_get_adminrealmsrealmusers`,
    },
    {
      method: 'GET',
      path: '/users/{userId}',
      query: ['userProfileMetadata'],
      permission: 'view-users',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}#_get_adminrealmsrealmusersuser_id`,
    },
    {
      method: 'GET',
      path: '/users/{userId}/sessions',
      permission: 'view-users',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}#_get_adminrealmsrealmusersuser_idsessions`,
    },
    {
      method: 'GET',
      path: '/users/{userId}/consents',
      permission: 'view-users',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}#_get_adminrealmsrealmusersuser_idconsents`,
    },
    {
      method: 'GET',
      path: '/users/{userId}/offline-sessions/{clientUuid}',
      permission: 'view-users',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}#_get_adminrealmsrealmusersuser_idoffline_sessionsclientuuid`,
    },
    {
      method: 'DELETE',
      path: '/users/{userId}/consents/{client}',
      permission: 'manage-users',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}#_delete_adminrealmsrealmusersuser_idconsentsclient`,
    },
    {
      method: 'POST',
      path: '/users/{userId}/logout',
      permission: 'manage-users',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}#_post_adminrealmsrealmusersuser_idlogout`,
    },
    {
      method: 'DELETE',
      path: '/sessions/{session}',
      query: ['isOffline'],
      permission: 'manage-users',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}#_delete_adminrealmsrealmsessionssession`,
    },
    {
      method: 'GET',
      path: '/clients',
      query: ['clientId', 'first', 'max', 'q', 'search', 'viewableOnly'],
      permission: 'view-clients (or query-clients)',
      pagination: 'first/max',
      rateLimit: RL,
      source: `${REF}#_get_adminrealmsrealmclients`,
    },
    {
      method: 'GET',
      path: '/clients/{clientUuid}',
      permission: 'view-clients',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}#_get_adminrealmsrealmclientsclient_uuid`,
    },
    {
      method: 'PUT',
      path: '/clients/{clientUuid}',
      permission: 'manage-clients',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}#_put_adminrealmsrealmclientsclient_uuid`,
    },
    {
      method: 'POST',
      path: '/clients/{clientUuid}/push-revocation',
      permission: 'manage-clients',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}#_post_adminrealmsrealmclientsclient_uuidpush_revocation`,
    },
    {
      method: 'GET',
      path: '/clients/{clientUuid}/user-sessions',
      query: ['first', 'max'],
      permission: 'view-clients',
      pagination: 'first/max, max defaults to 100',
      rateLimit: RL,
      source: `${REF}#_get_adminrealmsrealmclientsclient_uuiduser_sessions`,
    },
    {
      method: 'GET',
      path: '/clients/{clientUuid}/offline-sessions',
      query: ['first', 'max'],
      permission: 'view-clients',
      pagination: 'first/max, max defaults to 100',
      rateLimit: RL,
      source: `${REF}#_get_adminrealmsrealmclientsclient_uuidoffline_sessions`,
    },
  ],
  // The version probe for `isOffline` (honoured from 24.0.2); system info only to master-realm admins from 26.4.0.
  [`${KC}/admin/serverinfo`]: [
    {
      method: 'GET',
      path: '/',
      permission: 'an admin token (systemInfo for master-realm admins only, from 26.4.0)',
      pagination: 'none',
      rateLimit: RL,
      source:
        'https://www.keycloak.org/docs/latest/upgrading/index.html#the-serverinfo-endpoint-only-returns-the-system-info-for-administrators-in-the-administrator-realm',
    },
  ],
  [`${KC}/realms/acme/protocol/openid-connect/token`]: [
    {
      method: 'POST',
      path: '/',
      permission: 'confidential client with service account',
      pagination: 'none',
      rateLimit: RL,
      source: 'https://www.keycloak.org/securing-apps/oidc-layers#_client_credentials_grant',
    },
  ],
};

const server = setupServer();
const contract = guardContract(server, KEYCLOAK);
/**
 * Values, beyond the parameters' names: `isOffline` is a boolean query parameter that only `true` changes
 * (RealmAdminResource.deleteSession, `@DefaultValue("false")`); `first` ≥ 0 and `max` ≥ 1 (paging); `exact`,
 * `briefRepresentation` (users) and `search` (clients) are booleans.
 */
server.events.on('request:start', ({ request }) => {
  const u = new URL(request.url);
  const q = u.searchParams;
  const what = `${request.method} ${u.pathname}${u.search}`;
  if (q.has('isOffline') && q.get('isOffline') !== 'true')
    contract.violations.push(`${what}: isOffline other than true`);
  if (q.has('first') && !(Number(q.get('first')) >= 0)) contract.violations.push(`${what}: first below 0`);
  if (q.has('max') && !(Number(q.get('max')) >= 1)) contract.violations.push(`${what}: max below 1`);
  // `search` is a string on /users but a boolean on /clients (search by clientId substring).
  const booleans = u.pathname.endsWith('/clients')
    ? ['search', 'viewableOnly']
    : ['exact', 'briefRepresentation'];
  for (const k of booleans)
    if (q.has(k) && !['true', 'false'].includes(q.get(k)!))
      contract.violations.push(`${what}: ${k} not boolean`);
});
const calls: string[] = [];
let tokenForms: URLSearchParams[] = [];
beforeAll(() => {
  server.listen({ onUnhandledFrame: 'error' });
  server.events.on('request:start', ({ request }) => {
    const u = new URL(request.url);
    if (!u.pathname.startsWith('/admin/')) return;
    if (request.headers.get('authorization') !== 'Bearer kc-at') calls.push('MISSING BEARER');
    calls.push(`${request.method} ${u.pathname.replace('/admin/realms/acme', '')}${u.search}`);
  });
});
beforeEach(() => {
  tokenForms = [];
  server.use(
    http.post(`${KC}/realms/acme/protocol/openid-connect/token`, async ({ request }) => {
      tokenForms.push(new URLSearchParams(await request.text()));
      return HttpResponse.json({ access_token: 'kc-at', expires_in: 300, token_type: 'Bearer' });
    }),
  );
});
afterEach(() => {
  expect(contract.violations.splice(0), 'requests Keycloak does not document').toEqual([]);
  server.resetHandlers();
  calls.length = 0;
});
afterAll(() => server.close());

const make = () =>
  new KeycloakIdentityProvider({
    url: KC,
    realm: 'acme',
    clientId: 'revoker',
    clientSecret: 'kc-secret',
    now: () => NOW,
    serverVersion: '26.0.0',
  });

// UserSessionRepresentation.
const session = (id: string, userId = 'u1') => ({
  id,
  username: 'alice',
  userId,
  ipAddress: '10.0.0.1',
  start: 1_700_000_000_000,
  lastAccess: 1_700_000_100_000,
  rememberMe: false,
  clients: { 'c-uuid-1': 'wiki' },
});

describe('KeycloakIdentityProvider', () => {
  it('uses the realm’s token endpoint with client credentials', async () => {
    const idp = make();
    server.use(http.get(`${ADMIN}/clients`, () => HttpResponse.json([])));
    await idp.ping();
    expect(Object.fromEntries(tokenForms[0]!)).toEqual({
      grant_type: 'client_credentials',
      client_id: 'revoker',
      client_secret: 'kc-secret',
    });
    expect(calls).toEqual(['GET /clients?max=1']);
  });

  it('plans a user as the one logout, their sessions as the record; revokes a session or logs the user out', async () => {
    const idp = make();
    server.use(
      http.get(`${ADMIN}/users/u1/sessions`, () => HttpResponse.json([session('s1'), session('s2')])),
      http.get(`${ADMIN}/users/u1/consents`, () => HttpResponse.json([])),
      http.delete(`${ADMIN}/sessions/:id`, () => new HttpResponse(null, { status: 204 })),
      http.post(`${ADMIN}/users/u1/logout`, () => new HttpResponse(null, { status: 204 })),
    );
    const plan = await idp.plan({ kind: 'user', userId: 'u1' });
    expect(plan.steps).toEqual([{ kind: 'user', userId: 'u1' }]);
    expect(plan.sweep).toBeUndefined();
    expect(plan.tokens).toEqual([
      { id: 's1', userId: 'u1' },
      { id: 's2', userId: 'u1' },
    ]);
    expect(await idp.revoke({ kind: 'token', userId: 'u1', tokenId: 's1' })).toEqual({
      revoked: [{ id: 's1', userId: 'u1' }],
    });
    // The logout's answer names nothing: the plan's listing is the record, reconciled by verification.
    expect(await idp.revoke(plan.steps[0]!)).toEqual({ revoked: [] });
    expect(calls).toEqual([
      'GET /users/u1/sessions',
      'GET /users/u1/consents',
      'DELETE /sessions/s1',
      'POST /users/u1/logout',
      'GET /users/u1/consents',
    ]);
    // Point 10: the client's UUID, as every other call takes it (not its clientId "wiki").
    expect((await idp.listUserTokens('u1'))[0]).toMatchObject({ id: 's1', applicationId: 'c-uuid-1' });
  });

  it('revokes an application with not-before = the server’s now (a minimal update, no secret), then push-revocation', async () => {
    const idp = make();
    let put: unknown;
    server.use(
      http.get(`${ADMIN}/clients/c-uuid-1`, () =>
        HttpResponse.json({ id: 'c-uuid-1', clientId: 'wiki', name: 'Wiki', enabled: true, notBefore: 0 }),
      ),
      http.put(`${ADMIN}/clients/c-uuid-1`, async ({ request }) => {
        put = await request.json();
        return new HttpResponse(null, { status: 204 });
      }),
      http.post(`${ADMIN}/clients/c-uuid-1/push-revocation`, () =>
        HttpResponse.json({ successRequests: ['https://wiki/admin'], failedRequests: [] }),
      ),
    );
    await idp.revoke({ kind: 'application', applicationId: 'c-uuid-1' });
    // No `Date` on these answers: the server's clock is taken as Revoker's, 2 s ahead for whole seconds.
    expect(put).toEqual({ notBefore: NOW / 1000 + 2 });
    expect(calls).toEqual([
      'GET /clients/c-uuid-1',
      'PUT /clients/c-uuid-1',
      'POST /clients/c-uuid-1/push-revocation',
    ]);
  });

  it('searches users and clients; refuses resource servers with a reason', async () => {
    const idp = make();
    server.use(
      http.get(`${ADMIN}/users`, () =>
        HttpResponse.json([
          { id: 'u1', username: 'alice', email: 'a@acme', firstName: 'Alice', lastName: 'A', enabled: true },
        ]),
      ),
      http.get(`${ADMIN}/clients`, () => HttpResponse.json([{ id: 'c-uuid-1', clientId: 'wiki' }])),
    );
    expect(await idp.searchUsers('ali', 3)).toEqual([
      { id: 'u1', userName: 'alice', email: 'a@acme', displayName: 'Alice A', active: true },
    ]);
    expect(await idp.searchApplications('wi')).toEqual([{ id: 'c-uuid-1', name: 'wiki' }]);
    expect(calls).toEqual([
      'GET /users?search=ali&max=3&briefRepresentation=true',
      'GET /clients?clientId=wi&search=true&max=20',
    ]);
    expect(idp.capabilities.scopes.resourceServer).toBe(false);
    const err = await idp.revoke({ kind: 'resourceServer', resourceServerId: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdpUnsupportedError);
    expect((err as Error).message).toMatch(/^Keycloak cannot revoke tokens by audience/);
  });

  it('maps 503 to transient', async () => {
    const idp = make();
    server.use(http.post(`${ADMIN}/users/u1/logout`, () => new HttpResponse(null, { status: 503 })));
    await expect(idp.revoke({ kind: 'user', userId: 'u1' })).rejects.toBeInstanceOf(IdpTransientError);
  });

  it('point 8: offline (offline_access) sessions are listed, planned, revoked and verified', async () => {
    const idp = make();
    let offline = [session('o1')];
    let consented = true;
    server.use(
      http.get(`${ADMIN}/users/u1/sessions`, () => HttpResponse.json([session('s1')])),
      http.get(`${ADMIN}/users/u1/consents`, () =>
        HttpResponse.json(
          consented
            ? [
                {
                  clientId: 'wiki',
                  grantedClientScopes: ['offline_access'],
                  additionalGrants: [{ client: 'wiki', key: 'Offline Token' }],
                },
              ]
            : [],
        ),
      ),
      http.get(`${ADMIN}/clients`, () => HttpResponse.json([{ id: 'c-uuid-1', clientId: 'wiki' }])),
      http.get(`${ADMIN}/users/u1/offline-sessions/c-uuid-1`, () => HttpResponse.json(offline)),
      http.delete(`${ADMIN}/sessions/:id`, () => {
        offline = [];
        return new HttpResponse(null, { status: 204 });
      }),
      http.post(`${ADMIN}/users/u1/logout`, () => new HttpResponse(null, { status: 204 })),
      http.delete(`${ADMIN}/users/u1/consents/wiki`, () => {
        consented = false;
        return new HttpResponse(null, { status: 204 });
      }),
    );
    const plan = await idp.plan({ kind: 'user', userId: 'u1' });
    // One logout (plus the offline consents) is the plan; the listing, offline sessions included, its record.
    expect(plan.steps).toEqual([{ kind: 'user', userId: 'u1' }]);
    expect(plan.tokens).toEqual([
      { id: 's1', userId: 'u1' },
      { id: 'offline:o1', userId: 'u1' },
    ]);
    expect(calls).toEqual([
      'GET /users/u1/sessions',
      'GET /users/u1/consents',
      'GET /clients?clientId=wiki',
      'GET /users/u1/offline-sessions/c-uuid-1',
    ]);
    calls.length = 0;
    expect(await idp.verify({ kind: 'token', userId: 'u1', tokenId: 'offline:o1' })).toMatchObject({
      ok: false,
    });
    calls.length = 0;
    expect(await idp.revoke({ kind: 'token', userId: 'u1', tokenId: 'offline:o1' })).toEqual({
      revoked: [{ id: 'offline:o1', userId: 'u1' }],
    });
    expect(calls).toEqual(['DELETE /sessions/o1?isOffline=true']);
    calls.length = 0;
    offline = [session('o2')];
    await idp.revoke({ kind: 'user', userId: 'u1' });
    expect(calls).toEqual([
      'POST /users/u1/logout',
      'GET /users/u1/consents',
      'DELETE /users/u1/consents/wiki',
    ]);
  });

  it('point 9: client sessions are read page by page, past the default 100', async () => {
    const idp = make();
    const online = Array.from({ length: 150 }, (_, i) => session(`s${i}`, `u${i}`));
    server.use(
      http.get(`${ADMIN}/clients/c-uuid-1/user-sessions`, ({ request }) => {
        const q = new URL(request.url).searchParams;
        const first = Number(q.get('first'));
        return HttpResponse.json(online.slice(first, first + Number(q.get('max'))));
      }),
      http.get(`${ADMIN}/clients/c-uuid-1/offline-sessions`, () =>
        HttpResponse.json([session('o1', 'u999')]),
      ),
    );
    const plan = await idp.plan({ kind: 'application', applicationId: 'c-uuid-1' });
    expect(plan).toMatchObject({ tokenCount: 151, userCount: 151 });
    expect(calls).toEqual([
      'GET /clients/c-uuid-1/user-sessions?first=0&max=100',
      'GET /clients/c-uuid-1/user-sessions?first=100&max=100',
      'GET /clients/c-uuid-1/offline-sessions?first=0&max=100',
    ]);
  });

  it('point 11: application verification compares the not-before with this revocation’s time', async () => {
    const idp = make();
    let notBefore = Math.floor(NOW / 1000) - 86_400; // set by an earlier revocation, yesterday
    server.use(
      http.get(`${ADMIN}/clients/c-uuid-1`, () =>
        HttpResponse.json({ id: 'c-uuid-1', clientId: 'wiki', notBefore }),
      ),
      http.get(`${ADMIN}/clients/c-uuid-1/user-sessions`, () => HttpResponse.json([session('s1')])),
      http.get(`${ADMIN}/clients/c-uuid-1/offline-sessions`, () => HttpResponse.json([])),
    );
    const since = new Date(NOW);
    expect(await idp.verify({ kind: 'application', applicationId: 'c-uuid-1' }, { since })).toMatchObject({
      ok: false,
      method: 'not-before',
    });
    notBefore = Math.floor(NOW / 1000) + 1;
    expect(await idp.verify({ kind: 'application', applicationId: 'c-uuid-1' }, { since })).toMatchObject({
      ok: true,
      remaining: [],
      method: 'not-before',
    });
  });
});
