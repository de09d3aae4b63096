import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdminErrorBodySchema,
  AdminTokenListSchema,
  AdminUserSchema,
} from '../../../src/idaas/admin-contract.ts';
import { type Idaas, startIdaas } from '../../../src/idaas/index.ts';
import { admin, issue } from './fixtures/token-matrix.ts';

let idaas: Idaas;
beforeAll(async () => {
  idaas = await startIdaas();
});
afterAll(() => idaas.close());

async function raw(path: string, init: RequestInit = {}) {
  const res = await fetch(`${idaas.url}/admin/v1${path}`, init);
  const text = await res.text();
  return { status: res.status, text, headers: res.headers };
}
const auth = () => ({ authorization: `Bearer ${idaas.adminToken}` });

function expectError(r: { status: number; text: string }, status: number, error: string) {
  expect(r.status).toBe(status);
  const body = AdminErrorBodySchema.parse(JSON.parse(r.text));
  expect(body.error).toBe(error);
  expect(body.message.length).toBeGreaterThan(0);
}

describe('admin API errors', () => {
  it('401 without or with a wrong bearer token', async () => {
    expectError(await raw('/users'), 401, 'unauthorized');
    expectError(await raw('/users', { headers: { authorization: 'Bearer nope' } }), 401, 'unauthorized');
    expectError(
      await raw('/users', { headers: { authorization: `Basic ${idaas.adminToken}` } }),
      401,
      'unauthorized',
    );
  });

  it('404 for unknown users, tokens, applications and resource servers', async () => {
    expectError(await raw('/users/nobody', { headers: auth() }), 404, 'not_found');
    expectError(
      await raw('/users/alice/tokens/tok_doesnotexist', { method: 'DELETE', headers: auth() }),
      404,
      'not_found',
    );
    expectError(await raw('/applications/nope/tokens', { headers: auth() }), 404, 'not_found');
    expectError(
      await raw('/resource-servers/nope/tokens', { method: 'DELETE', headers: auth() }),
      404,
      'not_found',
    );
  });

  it('404 for a token of another user (ids are not guessable across users)', async () => {
    const [t] = await idaas.mintTokens({ user: 'bob', application: 'expense-portal' });
    expectError(
      await raw(`/users/alice/tokens/${t!.accessTokenId}`, { method: 'DELETE', headers: auth() }),
      404,
      'not_found',
    );
  });

  it('400 for malformed JSON and for unknown fields, naming the problem', async () => {
    const headers = { ...auth(), 'content-type': 'application/json' };
    const bad = await raw('/users/alice', { method: 'PATCH', headers, body: '{"state": ' });
    expectError(bad, 400, 'invalid_request');
    const unknown = await raw('/users/alice', { method: 'PATCH', headers, body: '{"role":"admin"}' });
    expectError(unknown, 400, 'invalid_request');
    expect(unknown.text).toContain('role');
    const wrong = await raw('/users/alice', { method: 'PATCH', headers, body: '{"state":"sleeping"}' });
    expectError(wrong, 400, 'invalid_request');
    expect(wrong.text).toContain('state');
  });

  it('413 for bodies over 64 KB', async () => {
    const body = JSON.stringify({ userId: 'x'.repeat(70 * 1024) });
    expectError(
      await raw('/users/alice', { method: 'PATCH', headers: auth(), body }),
      413,
      'payload_too_large',
    );
  });

  it('lists users by query, and tokens without ever showing a token value', async () => {
    const users = await admin(idaas, 'GET', '/users?q=EXAMPLE.com');
    expect((users.body.users as unknown[]).length).toBeGreaterThanOrEqual(4);
    const alice = AdminUserSchema.parse((await admin(idaas, 'GET', '/users/alice@example.com')).body);
    expect(alice.id).toMatch(/^usr_/);

    const app = idaas.seed.applications[0]!;
    const viaFlow = await issue(idaas, 'alice', 'alice-password-1', app.client_id, 'reports-api');
    const minted = await idaas.mintTokens({ user: 'alice', application: 'team-wiki', count: 3 });
    const values = [
      viaFlow.access_token,
      viaFlow.refresh_token!,
      ...minted.flatMap((m) => [m.access_token, m.refresh_token!]),
    ];
    for (const path of [
      '/users/alice/tokens',
      '/applications/team-wiki/tokens',
      '/resource-servers/reports-api/tokens',
    ]) {
      const r = await admin(idaas, 'GET', path);
      expect(r.status).toBe(200);
      const list = AdminTokenListSchema.parse(r.body);
      expect(list.tokens.length).toBeGreaterThan(0);
      for (const v of values) expect(r.raw).not.toContain(v);
    }
    const mine = AdminTokenListSchema.parse((await admin(idaas, 'GET', '/users/alice/tokens')).body);
    expect(mine.tokens.map((t) => t.id)).toEqual(expect.arrayContaining(minted.map((m) => m.accessTokenId)));
    const rsToken = mine.tokens.find(
      (t) => t.resourceServerId === 'reports-api' && t.type === 'access_token',
    );
    expect(rsToken).toMatchObject({
      applicationId: app.client_id,
      userId: alice.id,
      scopes: ['reports:read'],
    });
  });

  it('lists 1,000 tokens in one answer (how fast: bench/idaas.bench.ts, "list tokens")', async () => {
    await idaas.mintTokens({ user: 'dave', application: 'team-wiki', count: 500 });
    const r = await admin(idaas, 'GET', '/users/dave/tokens');
    expect(AdminTokenListSchema.parse(r.body).tokens).toHaveLength(1000);
  });

  it('adds users programmatically (200+)', async () => {
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        idaas.addUser({
          userId: `load${i}`,
          email: `load${i}@example.com`,
          name: `Load ${i}`,
          password: 'load-password',
        }),
      ),
    );
    expect((await admin(idaas, 'GET', '/users/load199@example.com')).status).toBe(200);
  });
});

describe('fault switches', () => {
  it('429 with Retry-After and X-RateLimit-* beyond the rate, 503 during a failure window', async () => {
    const before = (await admin(idaas, 'GET', '/stats')).body as { rateLimited: number; failed: number };
    expect((await admin(idaas, 'PUT', '/faults', { rateLimitPerSecond: 2 })).status).toBe(200);
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof admin>> | undefined;
    for (let i = 0; i < 5; i++) {
      const r = await admin(idaas, 'GET', '/applications');
      statuses.push(r.status);
      if (r.status === 429) limited ??= r;
    }
    expect(statuses.slice(0, 2)).toEqual([200, 200]);
    expect(statuses).toContain(429);
    expect(limited!.body.error).toBe('rate_limited');
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number.isInteger(Number(limited!.headers.get('retry-after')))).toBe(true);
    expect(limited!.headers.get('x-ratelimit-limit')).toBe('2');
    expect(limited!.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(limited!.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000 - 1);

    await admin(idaas, 'PUT', '/faults', { rateLimitPerSecond: null, failForMs: 60_000 });
    const down = await admin(idaas, 'GET', '/users');
    expect(down.status).toBe(503);
    expect(down.body.error).toBe('unavailable');
    expect(Number(down.headers.get('retry-after'))).toBeGreaterThanOrEqual(59);
    // The OIDC side is unaffected by admin faults.
    expect((await fetch(`${idaas.url}/.well-known/openid-configuration`)).status).toBe(200);

    await admin(idaas, 'PUT', '/faults', { failForMs: 0 });
    expect((await admin(idaas, 'GET', '/users')).status).toBe(200);
    const after = (await admin(idaas, 'GET', '/stats')).body as {
      calls: number;
      rateLimited: number;
      failed: number;
    };
    expect(after.rateLimited - before.rateLimited).toBe(statuses.filter((s) => s === 429).length);
    expect(after.failed - before.failed).toBe(1);
    expect(idaas.stats()).toEqual(after);
  });

  it('rejects unknown fault fields', async () => {
    expect((await admin(idaas, 'PUT', '/faults', { explode: true })).status).toBe(400);
  });
});
