import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KeycloakIdentityProvider } from '../../../../src/identity/adapters/keycloak.ts';
import { IdpTransientError, IdpUnsupportedError } from '../../../../src/identity/errors.ts';

const KC = 'https://sso.test';
const ADMIN = `${KC}/admin/realms/acme`;
const NOW = Date.parse('2026-02-01T12:00:00Z');
const server = setupServer();
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
    await idp.revoke(plan.steps[0]!);
    expect(calls).toEqual(['GET /users/u1/sessions', 'DELETE /sessions/s1', 'POST /users/u1/logout']);
    expect((await idp.listUserTokens('u1'))[0]).toMatchObject({ id: 's1', applicationId: 'wiki' });
  });

  it('revokes an application with not-before = now, then push-revocation', async () => {
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
    expect(put).toEqual({
      id: 'c-uuid-1',
      clientId: 'wiki',
      name: 'Wiki',
      enabled: true,
      notBefore: NOW / 1000,
    });
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
});
