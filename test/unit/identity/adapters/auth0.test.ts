import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError } from '../../../../src/domain/errors.ts';
import { AUTH0_PLAN_REASON, Auth0IdentityProvider } from '../../../../src/identity/adapters/auth0.ts';
import {
  IdpRateLimitedError,
  IdpUnauthorizedError,
  IdpUnsupportedError,
} from '../../../../src/identity/errors.ts';
import { createPipeline } from '../../../helpers/pipeline.ts';
import { guardContract, type VendorContract } from '../../../helpers/vendor-contract.ts';

const BASE = 'https://acme.auth0.test';
const API = `${BASE}/api/v2`;
const EXPORTS = 'https://exports.auth0.test';

/**
 * The Auth0 Management API v2 operations the adapter uses (auth0.com/docs/api/management/v2, each
 * endpoint's "Scopes" and query parameters). Offset paging (`page`, `per_page` ≤ 100) stops at 1,000 results
 * (auth0.com/docs/manage-users/user-search/retrieve-users-with-get-users-endpoint); refresh tokens page by
 * checkpoint (`from`, `take`). Rate limits: 429 + `X-RateLimit-Reset`
 * (auth0.com/docs/troubleshoot/customer-support/operational-policies/rate-limit-policy). The refresh-token and
 * session endpoints are Enterprise-plan only (auth0.com/docs/secure/tokens/manage-refresh-tokens-with-auth0-management-api).
 */
const REF = 'https://auth0.com/docs/api/management/v2';
const RL = '429 + X-RateLimit-Reset';
const OFFSET = 'page/per_page (≤ 100), at most 1,000 results';
const CHECKPOINT = 'checkpoint: from/take';
const AUTH0: VendorContract = {
  [API]: [
    {
      method: 'GET',
      path: '/users',
      query: [
        'q',
        'search_engine',
        'per_page',
        'page',
        'include_totals',
        'sort',
        'connection',
        'fields',
        'include_fields',
      ],
      permission: 'read:users',
      pagination: OFFSET,
      rateLimit: RL,
      source: `${REF}/users/get-users`,
    },
    {
      method: 'GET',
      path: '/users/{id}',
      query: ['fields', 'include_fields'],
      permission: 'read:users',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/users/get-users-by-id`,
    },
    {
      method: 'GET',
      path: '/users-by-email',
      query: ['email!', 'fields', 'include_fields'],
      permission: 'read:users',
      pagination: 'none (exact, case-sensitive match)',
      rateLimit: RL,
      source: `${REF}/users-by-email/get-users-by-email`,
    },
    {
      method: 'GET',
      path: '/clients',
      query: [
        'fields',
        'include_fields',
        'page',
        'per_page',
        'include_totals',
        'is_global',
        'is_first_party',
        'app_type',
        'q',
      ],
      permission: 'read:clients',
      pagination: OFFSET,
      rateLimit: RL,
      source: `${REF}/clients/get-clients`,
    },
    {
      method: 'GET',
      path: '/clients/{id}',
      query: ['fields', 'include_fields'],
      permission: 'read:clients',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/clients/get-clients-by-id`,
    },
    {
      method: 'GET',
      path: '/resource-servers',
      query: ['identifiers', 'page', 'per_page', 'include_totals', 'include_fields'],
      permission: 'read:resource_servers',
      pagination: OFFSET,
      rateLimit: RL,
      source: `${REF}/resource-servers/get-resource-servers`,
    },
    {
      method: 'GET',
      path: '/resource-servers/{id}',
      query: ['include_fields'],
      permission: 'read:resource_servers',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/resource-servers/get-resource-servers-by-id`,
    },
    {
      method: 'GET',
      path: '/users/{user_id}/refresh-tokens',
      query: ['include_totals', 'from', 'take', 'fields', 'include_fields'],
      permission: 'read:refresh_tokens (Enterprise)',
      pagination: CHECKPOINT,
      rateLimit: RL,
      source: `${REF}/users/get-refresh-tokens-for-user`,
    },
    {
      method: 'DELETE',
      path: '/users/{user_id}/refresh-tokens',
      permission: 'delete:refresh_tokens (Enterprise)',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/users/delete-refresh-tokens-for-user`,
    },
    {
      method: 'DELETE',
      path: '/users/{user_id}/sessions',
      permission: 'delete:sessions (Enterprise)',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/users/delete-sessions-for-user`,
    },
    {
      method: 'GET',
      path: '/refresh-tokens/{id}',
      permission: 'read:refresh_tokens (Enterprise)',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/refresh-tokens/get-refresh-token`,
    },
    {
      method: 'DELETE',
      path: '/refresh-tokens/{id}',
      permission: 'delete:refresh_tokens (Enterprise)',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/refresh-tokens/delete-refresh-token`,
    },
    {
      method: 'GET',
      path: '/users/{user_id}/sessions',
      query: ['from', 'take'],
      permission: 'read:sessions (Enterprise)',
      pagination: CHECKPOINT,
      rateLimit: RL,
      source: `${REF}/users/get-sessions-for-user`,
    },
    {
      method: 'GET',
      path: '/grants',
      query: ['per_page', 'page', 'include_totals', 'user_id', 'client_id', 'audience'],
      permission: 'read:grants',
      pagination: 'page/per_page, include_totals',
      rateLimit: RL,
      source: `${REF}/grants/get-grants`,
    },
    {
      method: 'DELETE',
      path: '/grants/{id}',
      permission: 'delete:grants',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/grants/delete-grants-by-id`,
    },
    {
      method: 'DELETE',
      path: '/grants',
      query: ['user_id!'],
      permission: 'delete:grants',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/grants/delete-grants-by-user-id`,
    },
    {
      method: 'GET',
      path: '/device-credentials',
      query: [
        'fields',
        'include_fields',
        'user_id',
        'client_id',
        'type',
        'page',
        'per_page',
        'include_totals',
      ],
      permission: 'read:device_credentials',
      pagination: 'page/per_page',
      rateLimit: RL,
      source: `${REF}/device-credentials/get-device-credentials`,
    },
    {
      method: 'DELETE',
      path: '/device-credentials/{id}',
      permission: 'delete:device_credentials',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/device-credentials/delete-device-credentials-by-id`,
    },
    {
      method: 'POST',
      path: '/jobs/users-exports',
      permission: 'read:users',
      pagination: 'the whole tenant, as a file',
      rateLimit: RL,
      source: `${REF}/jobs/post-users-exports`,
    },
    {
      method: 'GET',
      path: '/jobs/{id}',
      permission: 'create:users or read:users',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/jobs/get-jobs-by-id`,
    },
  ],
  [`${BASE}/oauth/token`]: [
    {
      method: 'POST',
      path: '/',
      permission: 'M2M app authorised for the Management API',
      pagination: 'none',
      rateLimit: RL,
      source:
        'https://auth0.com/docs/secure/tokens/access-tokens/management-api-access-tokens/get-management-api-access-tokens-for-production',
    },
  ],
  // The export file: the job's `location`, a pre-signed download URL (auth0.com/docs/manage-users/user-migration/bulk-user-exports).
  [EXPORTS]: [
    {
      method: 'GET',
      path: '/{file}',
      permission: 'pre-signed URL',
      pagination: 'none',
      rateLimit: 'none',
      source: 'https://auth0.com/docs/manage-users/user-migration/bulk-user-exports#check-export-status',
    },
  ],
};

const server = setupServer();
const contract = guardContract(server, AUTH0);
/**
 * Values, beyond the parameters' names: offset paging takes `per_page` ≤ 100 (get-users, get-grants), checkpoint
 * paging `take` ≤ 100 (get-refresh-tokens-for-user, get-sessions-for-user); a Lucene `q` is sent with
 * `search_engine=v3` (v2 is retired: user-search/user-search-query-syntax); `DELETE /grants` names `user_id`
 * (delete-grants-by-user-id, "user_id … required").
 */
server.events.on('request:start', ({ request }) => {
  const u = new URL(request.url);
  if (!u.pathname.startsWith('/api/v2')) return;
  const q = u.searchParams;
  const what = `${request.method} ${u.pathname}${u.search}`;
  for (const k of ['per_page', 'take'])
    if (q.has(k) && !(Number(q.get(k)) >= 1 && Number(q.get(k)) <= 100))
      contract.violations.push(`${what}: ${k} out of 1..100`);
  if (q.has('q') && q.get('search_engine') !== 'v3')
    contract.violations.push(`${what}: q without search_engine=v3`);
  if (request.method === 'DELETE' && u.pathname === '/api/v2/grants' && !q.get('user_id'))
    contract.violations.push(`${what}: DELETE /grants without user_id`);
});
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
  expect(contract.violations.splice(0), 'requests Auth0 does not document').toEqual([]);
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
    server.use(
      http.get(`${API}/clients`, () => HttpResponse.json([{ client_id: 'c1', name: 'App' }])),
      http.get(`${API}/users`, () => HttpResponse.json([])),
    );
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

  it('plans a user from their refresh tokens (checkpoint pagination) as one bulk step, and revokes with the bulk calls', async () => {
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
    // One bulk step, no per-token calls and no sweep; the listing is the record of what was in scope.
    expect(plan.steps).toEqual([{ kind: 'user', userId: 'auth0|1' }]);
    expect(plan.sweep).toBeUndefined();
    expect(plan.tokens).toEqual([
      { id: 'rt1', userId: 'auth0|1' },
      { id: 'rt2', userId: 'auth0|1' },
    ]);
    expect(plan.tokenCount).toBe(2);
    expect(await idp.revoke(plan.steps[0]!)).toEqual({ revoked: [] });
    expect(calls).toEqual([
      'GET /users/auth0|1/refresh-tokens?take=100',
      'GET /users/auth0|1/refresh-tokens?take=100&from=cursor-2',
      'DELETE /users/auth0|1/refresh-tokens',
      'DELETE /users/auth0|1/sessions',
    ]);
  });

  it('through the pipeline: a user’s tokens die in one bulk call (deleted eventually, as Auth0 does), each audited once from the listing', async () => {
    // A stateful tenant that deletes as Auth0 documents: the bulk DELETE answers 202 ("Refresh token
    // deletion request accepted", users/delete-refresh-tokens-for-user), and "refresh token revocation
    // (DELETE) operations are performed asynchronously and are eventually consistent" (manage refresh
    // tokens, Limitations): the next listing still shows the tokens, the one after does not.
    let live = [rt('rt1', 'auth0|1', 'c1'), rt('rt2', 'auth0|1', 'c2'), rt('rt3', 'auth0|1', 'c1')];
    let pendingDelete: string | undefined;
    server.use(
      http.get(`${API}/users/:id/refresh-tokens`, ({ params }) => {
        const listed = live.filter((t) => t.user_id === params.id);
        if (pendingDelete === params.id) {
          live = live.filter((t) => t.user_id !== params.id);
          pendingDelete = undefined;
        }
        return HttpResponse.json({ tokens: listed });
      }),
      http.delete(`${API}/users/:id/refresh-tokens`, ({ params }) => {
        pendingDelete = String(params.id);
        return new HttpResponse(null, { status: 202 });
      }),
      http.delete(`${API}/users/:id/sessions`, () => new HttpResponse(null, { status: 202 })),
      http.get(`${API}/users/:id/sessions`, () => HttpResponse.json({ sessions: [] })),
      http.get(`${API}/users/:id`, ({ params }) =>
        HttpResponse.json({ user_id: params.id, email: 'ada@acme.test', name: 'Ada' }),
      ),
    );
    const pipe = await createPipeline({ idp: make() });
    try {
      await pipe.startWorkers();
      const done = await pipe.submitAndWait({
        target: { kind: 'user', userId: 'auth0|1' },
        reason: 'offboarding',
        requestedBy: { source: 'cli', id: 'admin' },
        source: 'cli',
        impact: { userCount: 1, tokenCount: 3 },
      });
      expect(done.state).toBe('verified');
      expect(done.result).toMatchObject({ ok: true, revoked: 3, remaining: 0 });
      expect(done.progress).toMatchObject({ done: 1, total: 1, tokens: 3 });
      expect(await pipe.revokedTokenIds(done.id)).toEqual(['rt1', 'rt2', 'rt3']);
      // The floor (the user named at the intake, the listing that is the record, the bulk call and its
      // sessions, the verifying listing), plus one listing more: the first verify still saw the deletion
      // in progress, so the request was not called failed but verified again.
      expect(calls).toEqual([
        'GET /users/auth0|1',
        'GET /users/auth0|1/refresh-tokens?take=100',
        'DELETE /users/auth0|1/refresh-tokens',
        'DELETE /users/auth0|1/sessions',
        'GET /users/auth0|1/refresh-tokens?take=100',
        'GET /users/auth0|1/sessions?take=100',
        'GET /users/auth0|1/refresh-tokens?take=100',
        'GET /users/auth0|1/sessions?take=100',
      ]);
    } finally {
      await pipe.close();
    }
  });

  it('plans an application and an API from their grants (GET /grants?client_id= / ?audience=), no user scan', async () => {
    const idp = make();
    const grant = (id: string, user_id: string, clientID: string, audience: string) => ({
      id,
      clientID,
      user_id,
      audience,
      scope: ['offline_access'],
    });
    server.use(
      http.get(`${API}/resource-servers/rs1`, () =>
        HttpResponse.json({ id: 'rs1', name: 'Things', identifier: 'https://api.acme', scopes: [] }),
      ),
      http.get(`${API}/grants`, ({ request }) => {
        const q = new URL(request.url).searchParams;
        const all = [
          grant('g1', 'auth0|1', 'c1', 'https://api.acme'),
          grant('g2', 'auth0|2', 'c1', 'https://other'),
        ];
        const hits = all.filter(
          (g) =>
            (!q.get('client_id') || g.clientID === q.get('client_id')) &&
            (!q.get('audience') || g.audience === q.get('audience')),
        );
        return HttpResponse.json({ grants: hits, start: 0, limit: 100, total: hits.length });
      }),
    );
    const plan = await idp.plan({ kind: 'application', applicationId: 'c1' });
    expect(plan.steps).toEqual([{ kind: 'application', applicationId: 'c1' }]);
    expect(plan.tokens).toEqual([
      { id: 'grant:g1', userId: 'auth0|1' },
      { id: 'grant:g2', userId: 'auth0|2' },
    ]);
    expect(plan.userCount).toBe(2);
    const api = await idp.plan({ kind: 'resourceServer', resourceServerId: 'rs1' });
    expect(api.tokens).toEqual([{ id: 'grant:g1', userId: 'auth0|1' }]);
    expect(calls).toEqual([
      'GET /grants?client_id=c1&per_page=100&page=0&include_totals=true',
      'GET /resource-servers/rs1',
      'GET /grants?audience=https://api.acme&per_page=100&page=0&include_totals=true',
    ]);
  });

  it('searches users with a v3 Lucene query, and by email', async () => {
    const idp = make();
    server.use(
      http.get(`${API}/users`, () =>
        HttpResponse.json([{ user_id: 'auth0|1', email: 'jo@acme.com', name: 'Jo', blocked: false }]),
      ),
    );
    expect(await idp.searchUsers('jo@a', 5)).toEqual([
      { id: 'auth0|1', userName: 'jo@acme.com', email: 'jo@acme.com', displayName: 'Jo', active: true },
    ]);
    expect((await idp.findUserByEmail('jo@acme.com'))?.id).toBe('auth0|1');
    expect(calls).toEqual([
      'GET /users?q=email:jo@a* OR name:jo@a*&search_engine=v3&per_page=5',
      'GET /users?q=email:"jo@acme.com"&search_engine=v3&per_page=10',
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

  it('point 5: a plan without the Enterprise endpoints is found out and the token scope declared unsupported', async () => {
    const idp = make();
    server.use(
      http.get(`${API}/clients`, () => HttpResponse.json([{ client_id: 'c1', name: 'App' }])),
      http.get(`${API}/users`, () => HttpResponse.json([{ user_id: 'auth0|1' }])),
      http.get(`${API}/users/:id/refresh-tokens`, () =>
        HttpResponse.json(
          { statusCode: 403, error: 'Forbidden', message: 'This feature is not available on your plan' },
          { status: 403 },
        ),
      ),
    );
    expect(idp.capabilities.scopes.user).toBe(true);
    await idp.ping(); // the start-up probe: ready, with the scopes it cannot do declared
    // Only one refresh token by id needs the Enterprise endpoints: users, applications and APIs go through grants.
    expect(idp.capabilities.scopes).toEqual({
      token: false,
      user: true,
      application: true,
      resourceServer: true,
    });
    expect(idp.capabilities.unsupportedReasons.token).toBe(AUTH0_PLAN_REASON);
    const err = await idp
      .revoke({ kind: 'token', userId: 'auth0|1', tokenId: 'rt1' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdpUnsupportedError);
    expect((err as Error).message).toMatch(/^Unsupported on this Auth0 plan/);
  });

  it('point 5: a missing permission (insufficient_scope) stays a permission error', async () => {
    const idp = make();
    server.use(
      http.get(`${API}/users/:id/refresh-tokens`, () =>
        HttpResponse.json(
          {
            statusCode: 403,
            error: 'Forbidden',
            message: 'Insufficient scope',
            errorCode: 'insufficient_scope',
          },
          { status: 403 },
        ),
      ),
    );
    await expect(idp.plan({ kind: 'user', userId: 'auth0|1' })).rejects.toBeInstanceOf(IdpUnauthorizedError);
    expect(idp.capabilities.scopes.user).toBe(true);
  });

  it('point 7: a user the search index does not show yet is asked for exactly, as given and lower case', async () => {
    const idp = make();
    server.use(
      http.get(`${API}/users`, () => HttpResponse.json([])),
      http.get(`${API}/users-by-email`, ({ request }) =>
        HttpResponse.json(
          new URL(request.url).searchParams.get('email') === 'new@acme.com'
            ? [{ user_id: 'auth0|new', email: 'new@acme.com' }]
            : [],
        ),
      ),
    );
    expect((await idp.findUserByEmail('New@Acme.com'))?.id).toBe('auth0|new');
    expect(calls).toEqual([
      'GET /users?q=email:"New@Acme.com"&search_engine=v3&per_page=10',
      'GET /users-by-email?email=New@Acme.com',
      'GET /users-by-email?email=new@acme.com',
    ]);
  });

  it('point 7: a look-up by email searches case-insensitively (user search v3) and refuses several users', async () => {
    const idp = make();
    let users: unknown[] = [{ user_id: 'auth0|1', email: 'jo@acme.com' }];
    server.use(http.get(`${API}/users`, () => HttpResponse.json(users)));
    expect((await idp.findUserByEmail('Jo@Acme.com'))?.id).toBe('auth0|1');
    expect(calls).toEqual(['GET /users?q=email:"Jo@Acme.com"&search_engine=v3&per_page=10']);
    users = [
      { user_id: 'auth0|1', email: 'jo@acme.com' },
      { user_id: 'google-oauth2|9', email: 'Jo@Acme.com' },
    ];
    const err = await idp.findUserByEmail('jo@acme.com').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as Error).message).toContain(
      '2 Auth0 users have the email jo@acme.com (auth0|1, google-oauth2|9)',
    );
  });
});
