import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Auth0IdentityProvider } from '../../../../src/identity/adapters/auth0.ts';
import { IdpRateLimitedError } from '../../../../src/identity/errors.ts';

const BASE = 'https://acme.auth0.test';
const API = `${BASE}/api/v2`;
const server = setupServer();
const calls: string[] = [];
let tokenBodies: unknown[] = [];
beforeAll(() => {
  server.listen({ onUnhandledFrame: 'error' });
  server.events.on('request:start', ({ request }) => {
    const u = new URL(request.url);
    if (!u.pathname.startsWith('/api/v2')) return;
    if (request.headers.get('authorization') !== 'Bearer mgmt-at') calls.push('MISSING BEARER');
    calls.push(
      `${request.method} ${decodeURIComponent(u.pathname + u.search.replace(/\+/g, ' ')).replace('/api/v2', '')}`,
    );
  });
});
beforeEach(() => {
  tokenBodies = [];
  server.use(
    http.post(`${BASE}/oauth/token`, async ({ request }) => {
      tokenBodies.push(await request.json());
      return HttpResponse.json({ access_token: 'mgmt-at', expires_in: 86400, token_type: 'Bearer' });
    }),
  );
});
afterEach(() => {
  server.resetHandlers();
  calls.length = 0;
});
afterAll(() => server.close());

const make = () =>
  new Auth0IdentityProvider({
    domain: 'acme.auth0.com',
    clientId: 'm2m',
    clientSecret: 'm2m-secret',
    baseUrl: BASE,
  });

// `GET /api/v2/users/{id}/refresh-tokens` item.
const rt = (id: string, userId: string, clientId: string, audience = 'https://api.acme') => ({
  id,
  user_id: userId,
  created_at: '2023-11-07T05:31:56Z',
  idle_expires_at: '2023-11-14T05:31:56Z',
  expires_at: '2023-12-07T05:31:56Z',
  device: { initial_ip: '1.2.3.4' },
  client_id: clientId,
  session_id: 'sess',
  rotating: true,
  resource_servers: [{ audience, scopes: 'read:things write:things' }],
  last_exchanged_at: '2023-11-08T05:31:56Z',
});

describe('Auth0IdentityProvider', () => {
  it('gets a Management API token with client credentials (JSON, audience)', async () => {
    const idp = make();
    server.use(http.get(`${API}/clients`, () => HttpResponse.json([{ client_id: 'c1', name: 'App' }])));
    await idp.ping();
    expect(tokenBodies).toEqual([
      {
        grant_type: 'client_credentials',
        client_id: 'm2m',
        client_secret: 'm2m-secret',
        audience: 'https://acme.auth0.com/api/v2/',
      },
    ]);
  });

  it('plans a user from their refresh tokens (checkpoint pagination), and revokes with the bulk calls', async () => {
    const idp = make();
    server.use(
      http.get(`${API}/users/:id/refresh-tokens`, ({ request }) =>
        new URL(request.url).searchParams.get('from')
          ? HttpResponse.json({ tokens: [rt('rt2', 'auth0|1', 'c2')] })
          : HttpResponse.json({ tokens: [rt('rt1', 'auth0|1', 'c1')], next: 'cursor-2' }),
      ),
      http.delete(`${API}/users/:id/refresh-tokens`, () => new HttpResponse(null, { status: 202 })),
      http.delete(`${API}/users/:id/sessions`, () => new HttpResponse(null, { status: 202 })),
      http.delete(`${API}/refresh-tokens/:id`, () => new HttpResponse(null, { status: 202 })),
    );
    const plan = await idp.plan({ kind: 'user', userId: 'auth0|1' });
    expect(plan.steps).toEqual([
      { kind: 'token', userId: 'auth0|1', tokenId: 'rt1' },
      { kind: 'token', userId: 'auth0|1', tokenId: 'rt2' },
    ]);
    expect(plan.sweep).toEqual({ kind: 'user', userId: 'auth0|1' });
    expect(await idp.revoke(plan.steps[0]!)).toEqual({ revoked: [{ id: 'rt1', userId: 'auth0|1' }] });
    await idp.revoke(plan.sweep!);
    expect(calls).toEqual([
      'GET /users/auth0|1/refresh-tokens?take=100',
      'GET /users/auth0|1/refresh-tokens?take=100&from=cursor-2',
      'DELETE /refresh-tokens/rt1',
      'DELETE /users/auth0|1/refresh-tokens',
      'DELETE /users/auth0|1/sessions',
    ]);
  });

  it('finds an application’s tokens user by user (per user × client)', async () => {
    const idp = make();
    server.use(
      http.get(`${API}/users`, () => HttpResponse.json([{ user_id: 'auth0|1' }, { user_id: 'auth0|2' }])),
      http.get(`${API}/users/:id/refresh-tokens`, ({ params }) =>
        HttpResponse.json({
          tokens:
            params.id === 'auth0|1'
              ? [rt('a', 'auth0|1', 'c1'), rt('b', 'auth0|1', 'other')]
              : [rt('c', 'auth0|2', 'c1')],
        }),
      ),
    );
    const plan = await idp.plan({ kind: 'application', applicationId: 'c1' });
    expect(plan.tokens).toEqual([
      { id: 'a', userId: 'auth0|1' },
      { id: 'c', userId: 'auth0|2' },
    ]);
    expect(plan.userCount).toBe(2);
    expect(calls[0]).toBe('GET /users?fields=user_id&include_fields=true&per_page=100&page=0');
  });

  it('finds a resource server’s tokens by its audience (per user × client × audience)', async () => {
    const idp = make();
    server.use(
      http.get(`${API}/resource-servers/rs1`, () =>
        HttpResponse.json({
          id: 'rs1',
          name: 'Things',
          identifier: 'https://api.acme',
          scopes: [{ value: 'read:things' }],
        }),
      ),
      http.get(`${API}/users`, () => HttpResponse.json([{ user_id: 'auth0|1' }])),
      http.get(`${API}/users/:id/refresh-tokens`, () =>
        HttpResponse.json({ tokens: [rt('a', 'auth0|1', 'c1'), rt('b', 'auth0|1', 'c1', 'https://other')] }),
      ),
    );
    const plan = await idp.plan({ kind: 'resourceServer', resourceServerId: 'rs1' });
    expect(plan.tokens).toEqual([{ id: 'a', userId: 'auth0|1' }]);
  });

  it('searches users with a v3 Lucene query, and by email', async () => {
    const idp = make();
    server.use(
      http.get(`${API}/users`, () =>
        HttpResponse.json([{ user_id: 'auth0|1', email: 'jo@acme.com', name: 'Jo', blocked: false }]),
      ),
      http.get(`${API}/users-by-email`, () =>
        HttpResponse.json([{ user_id: 'auth0|1', email: 'jo@acme.com' }]),
      ),
    );
    expect(await idp.searchUsers('jo@a', 5)).toEqual([
      { id: 'auth0|1', userName: 'jo@acme.com', email: 'jo@acme.com', displayName: 'Jo', active: true },
    ]);
    expect((await idp.findUserByEmail('jo@acme.com'))?.id).toBe('auth0|1');
    expect(calls).toEqual([
      'GET /users?q=email:jo@a* OR name:jo@a*&search_engine=v3&per_page=5',
      'GET /users-by-email?email=jo@acme.com',
    ]);
  });

  it('maps 429 with x-ratelimit-reset to rate-limited', async () => {
    const idp = make();
    const reset = Math.floor(Date.now() / 1000) + 10;
    server.use(
      http.delete(`${API}/refresh-tokens/:id`, () =>
        HttpResponse.json(
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
              'x-ratelimit-reset': `${reset}`,
            },
          },
        ),
      ),
    );
    const err = await idp.revoke({ kind: 'token', userId: 'u', tokenId: 'rt1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdpRateLimitedError);
    expect((err as IdpRateLimitedError).retryAfterMs).toBeGreaterThan(8000);
    expect((err as IdpRateLimitedError).retryAfterMs).toBeLessThanOrEqual(10_000);
  });
});
