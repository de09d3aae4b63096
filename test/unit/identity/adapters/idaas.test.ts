import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AdminToken } from '../../../../src/idaas/admin-contract.ts';
import { IdaasIdentityProvider } from '../../../../src/identity/adapters/idaas.ts';
import {
  IdpBadResponseError,
  IdpNotFoundError,
  IdpRateLimitedError,
  IdpTransientError,
  IdpUnauthorizedError,
} from '../../../../src/identity/errors.ts';

const BASE = 'http://idaas.test';
const API = `${BASE}/admin/v1`;
const server = setupServer();
const calls: string[] = [];
const auths = new Set<string | null>();
beforeAll(() => {
  server.listen({ onUnhandledFrame: 'error' });
  server.events.on('request:start', ({ request }) => {
    const u = new URL(request.url);
    calls.push(`${request.method} ${u.pathname}${u.search}`);
    auths.add(request.headers.get('authorization'));
  });
});
afterEach(() => {
  // Every call, in every test, carried the admin bearer.
  if (calls.length > 0) expect([...auths]).toEqual(['Bearer admin-secret']);
  server.resetHandlers();
  calls.length = 0;
  auths.clear();
});
afterAll(() => server.close());

const idp = new IdaasIdentityProvider({ baseUrl: `${BASE}/`, adminToken: 'admin-secret' });

const tok = (id: string, userId: string, extra: Partial<AdminToken> = {}): AdminToken => ({
  id,
  type: 'access_token',
  userId,
  applicationId: 'app1',
  resourceServerId: null,
  scopes: ['openid'],
  issuedAt: '2026-01-01T00:00:00Z',
  expiresAt: null,
  ...extra,
});
const alice = { id: 'usr_1', userId: 'alice', email: 'alice@example.com', name: 'Alice', state: 'active' };

describe('IdaasIdentityProvider', () => {
  it('declares all four scopes, listing and search', () => {
    expect(idp.capabilities).toEqual({
      scopes: { token: true, user: true, application: true, resourceServer: true },
      unsupportedReasons: {},
      listTokens: true,
      search: true,
    });
  });

  it('searches users, applications and resource servers', async () => {
    server.use(
      http.get(`${API}/users`, () => HttpResponse.json({ users: [alice, { ...alice, id: 'usr_2' }] })),
      http.get(`${API}/applications`, () =>
        HttpResponse.json({ applications: [{ id: 'app1', name: 'App' }] }),
      ),
      http.get(`${API}/resource-servers`, () =>
        HttpResponse.json({
          resourceServers: [{ id: 'rs1', name: 'API', audience: 'https://api', scopes: ['read'] }],
        }),
      ),
    );
    expect(await idp.searchUsers('ali ce', 1)).toEqual([
      {
        id: 'usr_1',
        userName: 'alice',
        email: 'alice@example.com',
        displayName: 'Alice',
        active: true,
        groups: [],
      },
    ]);
    expect(await idp.searchApplications('ap')).toEqual([{ id: 'app1', name: 'App' }]);
    expect(await idp.searchResourceServers('a')).toEqual([
      { id: 'rs1', name: 'API', audience: 'https://api', scopes: ['read'] },
    ]);
    expect(calls).toEqual([
      'GET /admin/v1/users?q=ali+ce',
      'GET /admin/v1/applications?q=ap',
      'GET /admin/v1/resource-servers?q=a',
    ]);
  });

  it('finds a user by email, and answers undefined for an unknown one', async () => {
    server.use(
      http.get(`${API}/users/:id`, ({ params }) =>
        params.id === 'alice@example.com'
          ? HttpResponse.json(alice)
          : HttpResponse.json({ error: 'not_found', message: 'no user' }, { status: 404 }),
      ),
    );
    expect((await idp.findUserByEmail('alice@example.com'))?.id).toBe('usr_1');
    expect(await idp.findUserByEmail('bob@example.com')).toBeUndefined();
    await expect(idp.getUser('bob')).rejects.toBeInstanceOf(IdpNotFoundError);
  });

  it('plans a user: the listing is the record, one bulk call is the whole job', async () => {
    server.use(
      http.get(`${API}/users/alice/tokens`, () =>
        HttpResponse.json({
          tokens: [
            tok('tok_a', 'usr_1'),
            tok('tok_r', 'usr_1', { type: 'refresh_token', resourceServerId: 'rs1' }),
          ],
        }),
      ),
    );
    const plan = await idp.plan({ kind: 'user', userId: 'alice' });
    expect(plan).toEqual({
      target: { kind: 'user', userId: 'alice' },
      steps: [{ kind: 'user', userId: 'alice' }],
      tokens: [
        { id: 'tok_a', userId: 'usr_1' },
        { id: 'tok_r', userId: 'usr_1' },
      ],
      userCount: 1,
      tokenCount: 2,
    });
  });

  it('plans an application and a resource server from their listings, counting distinct users', async () => {
    server.use(
      http.get(`${API}/applications/app1/tokens`, () =>
        HttpResponse.json({ tokens: [tok('t1', 'usr_1'), tok('t2', 'usr_2'), tok('t3', 'usr_2')] }),
      ),
      http.get(`${API}/resource-servers/rs1/tokens`, () => HttpResponse.json({ tokens: [] })),
    );
    const app = await idp.plan({ kind: 'application', applicationId: 'app1' });
    expect(app.steps).toEqual([{ kind: 'application', applicationId: 'app1' }]);
    expect(app).toMatchObject({ userCount: 2, tokenCount: 3 });
    expect(app.sweep).toBeUndefined();
    const rs = await idp.plan({ kind: 'resourceServer', resourceServerId: 'rs1' });
    expect(rs).toMatchObject({
      steps: [{ kind: 'resourceServer', resourceServerId: 'rs1' }],
      tokens: [],
      userCount: 0,
      tokenCount: 0,
    });
    expect(rs.sweep).toBeUndefined();
  });

  it('plans a single token without calling the IdP, and with no sweep', async () => {
    const target = { kind: 'token', userId: 'usr_1', tokenId: 'tok_a' } as const;
    const plan = await idp.plan(target);
    expect(plan).toEqual({
      target,
      steps: [target],
      tokens: [{ id: 'tok_a', userId: 'usr_1' }],
      userCount: 1,
      tokenCount: 1,
    });
    expect(plan.sweep).toBeUndefined();
    expect(calls).toEqual([]);
  });

  it('revokes each scope with the matching DELETE', async () => {
    const revoked = (ids: string[]) =>
      HttpResponse.json({ revoked: ids.map((id) => ({ id, userId: 'usr_1' })) });
    server.use(
      http.delete(`${API}/users/usr_1/tokens/tok_a`, () => revoked(['tok_a'])),
      http.delete(`${API}/users/usr_1/tokens`, () => revoked(['t1', 't2'])),
      http.delete(`${API}/applications/app%201/tokens`, () => revoked(['t3'])),
      http.delete(`${API}/resource-servers/rs1/tokens`, () => revoked([])),
    );
    expect(await idp.revoke({ kind: 'token', userId: 'usr_1', tokenId: 'tok_a' })).toEqual({
      revoked: [{ id: 'tok_a', userId: 'usr_1' }],
    });
    expect((await idp.revoke({ kind: 'user', userId: 'usr_1' })).revoked).toHaveLength(2);
    expect((await idp.revoke({ kind: 'application', applicationId: 'app 1' })).revoked).toHaveLength(1);
    expect((await idp.revoke({ kind: 'resourceServer', resourceServerId: 'rs1' })).revoked).toEqual([]);
    expect(calls).toEqual([
      'DELETE /admin/v1/users/usr_1/tokens/tok_a',
      'DELETE /admin/v1/users/usr_1/tokens',
      'DELETE /admin/v1/applications/app%201/tokens',
      'DELETE /admin/v1/resource-servers/rs1/tokens',
    ]);
  });

  it('treats an already-gone token of a known user as revoked (a retried step), but not an unknown user', async () => {
    const notFound = () => HttpResponse.json({ error: 'not_found', message: 'gone' }, { status: 404 });
    server.use(
      http.delete(`${API}/users/:u/tokens/:t`, notFound),
      http.get(`${API}/users/usr_1`, () => HttpResponse.json(alice)),
      http.get(`${API}/users/nobody`, notFound),
    );
    expect(await idp.revoke({ kind: 'token', userId: 'usr_1', tokenId: 'tok_x' })).toEqual({ revoked: [] });
    await expect(idp.revoke({ kind: 'token', userId: 'nobody', tokenId: 'tok_x' })).rejects.toBeInstanceOf(
      IdpNotFoundError,
    );
  });

  it('verifies by listing again', async () => {
    server.use(
      http.get(`${API}/users/usr_1/tokens`, () => HttpResponse.json({ tokens: [tok('tok_b', 'usr_1')] })),
      http.get(`${API}/applications/app1/tokens`, () => HttpResponse.json({ tokens: [] })),
    );
    expect(await idp.verify({ kind: 'token', userId: 'usr_1', tokenId: 'tok_a' })).toMatchObject({
      ok: true,
      remaining: [],
      method: 'list',
    });
    expect(await idp.verify({ kind: 'token', userId: 'usr_1', tokenId: 'tok_b' })).toMatchObject({
      ok: false,
      remaining: [{ id: 'tok_b', userId: 'usr_1' }],
      method: 'list',
    });
    expect(await idp.verify({ kind: 'user', userId: 'usr_1' })).toMatchObject({ ok: false });
    expect(await idp.verify({ kind: 'application', applicationId: 'app1' })).toMatchObject({ ok: true });
  });

  it('lists a user’s tokens as TokenInfo', async () => {
    server.use(
      http.get(`${API}/users/usr_1/tokens`, () =>
        HttpResponse.json({
          tokens: [tok('tok_b', 'usr_1', { resourceServerId: 'rs1', expiresAt: '2026-01-02T00:00:00Z' })],
        }),
      ),
    );
    expect(await idp.listUserTokens('usr_1')).toEqual([
      {
        id: 'tok_b',
        userId: 'usr_1',
        type: 'access_token',
        applicationId: 'app1',
        resourceServerId: 'rs1',
        scopes: ['openid'],
        issuedAt: '2026-01-01T00:00:00Z',
        expiresAt: '2026-01-02T00:00:00Z',
      },
    ]);
  });

  it('maps the admin API’s errors and rejects answers off the contract', async () => {
    server.use(
      http.get(`${API}/applications`, () =>
        HttpResponse.json(
          { error: 'rate_limited', message: 'slow down' },
          { status: 429, headers: { 'Retry-After': '2' } },
        ),
      ),
      http.delete(`${API}/users/u1/tokens`, () =>
        HttpResponse.json(
          { error: 'unavailable', message: 'down' },
          { status: 503, headers: { 'Retry-After': '1' } },
        ),
      ),
      http.delete(`${API}/users/u2/tokens`, () =>
        HttpResponse.json({ error: 'unauthorized', message: 'no' }, { status: 401 }),
      ),
      http.get(`${API}/users/u3/tokens`, () => HttpResponse.json({ tokens: [{ id: 'x' }] })),
    );
    const rl = await idp.ping().catch((e: unknown) => e);
    expect(rl).toBeInstanceOf(IdpRateLimitedError);
    expect((rl as IdpRateLimitedError).retryAfterMs).toBe(2000);
    const tr = await idp.revoke({ kind: 'user', userId: 'u1' }).catch((e: unknown) => e);
    expect(tr).toBeInstanceOf(IdpTransientError);
    expect((tr as IdpTransientError).retryAfterMs).toBe(1000);
    await expect(idp.revoke({ kind: 'user', userId: 'u2' })).rejects.toBeInstanceOf(IdpUnauthorizedError);
    const bad = await idp.listUserTokens('u3').catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(IdpBadResponseError);
    expect((bad as Error).message).toContain('tokens.0.type');
  });
});
