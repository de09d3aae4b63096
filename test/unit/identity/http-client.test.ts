import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ClientCredentialsTokenCache } from '../../../src/identity/client-credentials.ts';
import {
  IdpBadResponseError,
  IdpNotFoundError,
  IdpRateLimitedError,
  IdpTransientError,
  IdpUnauthorizedError,
} from '../../../src/identity/errors.ts';
import { createIdpHttpClient, parseResponse } from '../../../src/identity/http-client.ts';

const BASE = 'https://idp.test';
const NOW = Date.parse('2026-01-01T00:00:00Z');
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const client = createIdpHttpClient({ baseURL: BASE, idpName: 'Test', now: () => NOW });

async function failure(status: number, init: { headers?: Record<string, string>; body?: unknown } = {}) {
  server.use(
    http.get(`${BASE}/thing`, () => HttpResponse.json(init.body ?? {}, { status, headers: init.headers })),
  );
  return client.get('/thing').then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => err,
  );
}

describe('createIdpHttpClient error mapping', () => {
  it('maps 429 + Retry-After seconds to rate-limited', async () => {
    const err = await failure(429, { headers: { 'Retry-After': '7' } });
    expect(err).toBeInstanceOf(IdpRateLimitedError);
    expect((err as IdpRateLimitedError).retryAfterMs).toBe(7000);
    expect((err as IdpRateLimitedError).status).toBe(429);
  });

  it('maps 429 + Retry-After HTTP-date, measured against the Date header', async () => {
    const err = await failure(429, {
      headers: { 'Retry-After': 'Thu, 01 Jan 2026 00:00:30 GMT', Date: 'Thu, 01 Jan 2026 00:00:10 GMT' },
    });
    expect((err as IdpRateLimitedError).retryAfterMs).toBe(20_000);
  });

  it('reads Okta X-Rate-Limit-Reset (epoch seconds)', async () => {
    const err = await failure(429, {
      headers: {
        'X-Rate-Limit-Limit': '600',
        'X-Rate-Limit-Remaining': '0',
        'X-Rate-Limit-Reset': `${NOW / 1000 + 12}`,
      },
      body: { errorCode: 'E0000047', errorSummary: 'API call exceeded rate limit due to too many requests.' },
    });
    expect(err).toBeInstanceOf(IdpRateLimitedError);
    expect((err as IdpRateLimitedError).retryAfterMs).toBe(12_000);
    expect((err as Error).message).toContain('E0000047');
  });

  it('reads Auth0 x-ratelimit-reset (epoch seconds) relative to the Date header', async () => {
    const err = await failure(429, {
      headers: { 'x-ratelimit-reset': `${NOW / 1000 + 5}`, Date: new Date(NOW + 2000).toUTCString() },
    });
    expect((err as IdpRateLimitedError).retryAfterMs).toBe(3000);
  });

  it('defaults to 1 s when a 429 names no reset', async () => {
    const err = await failure(429);
    expect((err as IdpRateLimitedError).retryAfterMs).toBe(1000);
  });

  it('treats Google 403 userRateLimitExceeded / rateLimitExceeded as rate-limited', async () => {
    for (const reason of ['userRateLimitExceeded', 'rateLimitExceeded']) {
      const err = await failure(403, {
        body: {
          error: { code: 403, message: 'Rate Limit Exceeded', errors: [{ domain: 'usageLimits', reason }] },
        },
      });
      expect(err).toBeInstanceOf(IdpRateLimitedError);
      expect((err as IdpRateLimitedError).retryAfterMs).toBe(1000);
    }
  });

  it('maps 5xx to transient, keeping a 503 Retry-After', async () => {
    const e503 = await failure(503, { headers: { 'Retry-After': '3' } });
    expect(e503).toBeInstanceOf(IdpTransientError);
    expect((e503 as IdpTransientError).retryAfterMs).toBe(3000);
    const e500 = await failure(500);
    expect(e500).toBeInstanceOf(IdpTransientError);
    expect((e500 as IdpTransientError).retryAfterMs).toBeUndefined();
    expect((e500 as IdpTransientError).retryable).toBe(true);
  });

  it("does not read Okta's ordinary X-Rate-Limit-Reset on a 503 as a wait (issue 18 item 13)", async () => {
    // Okta sends X-Rate-Limit-* on every answer (developer.okta.com/docs/reference/rl-best-practices/): on a
    // 503 the reset is the end of the current window, not a wait; only a 429 or Retry-After names one.
    const err = await failure(503, {
      headers: {
        'X-Rate-Limit-Limit': '600',
        'X-Rate-Limit-Remaining': '599',
        'X-Rate-Limit-Reset': `${NOW / 1000 + 55}`,
      },
    });
    expect(err).toBeInstanceOf(IdpTransientError);
    expect((err as IdpTransientError).retryAfterMs).toBeUndefined();
  });

  it('maps 401 and a plain 403 to unauthorized, 404 to not found, other 4xx to bad response', async () => {
    expect(await failure(401)).toBeInstanceOf(IdpUnauthorizedError);
    expect(
      await failure(403, { body: { error: { code: 403, errors: [{ reason: 'forbidden' }] } } }),
    ).toBeInstanceOf(IdpUnauthorizedError);
    const nf = await failure(404, { body: { error: 'not_found', message: 'no such user' } });
    expect(nf).toBeInstanceOf(IdpNotFoundError);
    expect((nf as IdpNotFoundError).retryable).toBe(false);
    expect((nf as Error).message).toBe('Test GET /thing answered 404 (not_found)');
    expect(await failure(400)).toBeInstanceOf(IdpBadResponseError);
    expect(await failure(409)).toBeInstanceOf(IdpBadResponseError);
  });

  it('maps connection refused and timeouts to transient', async () => {
    // A port nobody listens on: bind, read the port, close.
    const s: Server = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    server.close(); // let real sockets through
    try {
      const refused = createIdpHttpClient({ baseURL: `http://127.0.0.1:${port}` });
      await expect(refused.get('/x')).rejects.toBeInstanceOf(IdpTransientError);

      const slow = createServer((_req, res) => setTimeout(() => res.end('{}'), 500));
      await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
      const slowPort = (slow.address() as AddressInfo).port;
      const timeout = createIdpHttpClient({ baseURL: `http://127.0.0.1:${slowPort}`, timeoutMs: 50 });
      const err = await timeout.get('/x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IdpTransientError);
      slow.closeAllConnections();
      await new Promise<void>((r) => slow.close(() => r()));
    } finally {
      server.listen({ onUnhandledFrame: 'error' });
    }
  });

  it('sends the bearer from `auth`, and on 401 drops it and retries once with a fresh one', async () => {
    const seen: (string | null)[] = [];
    server.use(
      http.get(`${BASE}/me`, ({ request }) => {
        const auth = request.headers.get('authorization');
        seen.push(auth);
        return auth === 'Bearer t2'
          ? HttpResponse.json({ ok: true })
          : HttpResponse.json({}, { status: 401 });
      }),
    );
    let n = 0;
    let invalidated = 0;
    const c = createIdpHttpClient({
      baseURL: BASE,
      auth: async () => `t${n === 0 ? ++n : n}`,
      invalidateAuth: () => {
        invalidated++;
        n++;
      },
    });
    const res = await c.get('/me');
    expect(res.data).toEqual({ ok: true });
    expect(seen).toEqual(['Bearer t1', 'Bearer t2']);
    expect(invalidated).toBe(1);
  });
});

describe('parseResponse', () => {
  it('names the field that did not match, not its value', () => {
    const schema = z.object({ users: z.array(z.object({ id: z.string() })) });
    expect(parseResponse(schema, { users: [{ id: 'a' }] }, 'X')).toEqual({ users: [{ id: 'a' }] });
    const err = (() => {
      try {
        parseResponse(schema, { users: [{ id: 42 }] }, 'Okta user list');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(IdpBadResponseError);
    expect((err as Error).message).toMatch(/^Okta user list: unexpected answer at users\.0\.id/);
    expect((err as Error).message).not.toContain('42');
  });
});

describe('ClientCredentialsTokenCache', () => {
  it('fetches once, shares concurrent calls, refreshes before expiry', async () => {
    let now = NOW;
    const bodies: string[] = [];
    server.use(
      http.post(`${BASE}/oauth2/token`, async ({ request }) => {
        bodies.push(await request.text());
        return HttpResponse.json({
          access_token: `at${bodies.length}`,
          expires_in: 3600,
          token_type: 'Bearer',
        });
      }),
    );
    const cache = new ClientCredentialsTokenCache({
      tokenUrl: `${BASE}/oauth2/token`,
      clientId: 'cid',
      clientSecret: 's3cret',
      scope: 'https://graph.microsoft.com/.default',
      now: () => now,
    });
    const [a, b] = await Promise.all([cache.getToken(), cache.getToken()]);
    expect([a, b]).toEqual(['at1', 'at1']);
    expect(bodies).toHaveLength(1);
    expect(Object.fromEntries(new URLSearchParams(bodies[0]))).toEqual({
      grant_type: 'client_credentials',
      client_id: 'cid',
      client_secret: 's3cret',
      scope: 'https://graph.microsoft.com/.default',
    });
    now += 3_550_000; // 50 s left: inside the 60 s refresh margin
    expect(await cache.getToken()).toBe('at2');
    cache.invalidate();
    expect(await cache.getToken()).toBe('at3');
  });

  it('sends JSON when asked (Auth0) and maps invalid_client to unauthorized without the secret', async () => {
    server.use(
      http.post(`${BASE}/oauth/token`, async ({ request }) => {
        expect(request.headers.get('content-type')).toContain('application/json');
        expect(await request.json()).toMatchObject({
          audience: 'https://x/api/v2/',
          client_secret: 'bad-secret',
        });
        return HttpResponse.json({ error: 'invalid_client', error_description: 'no' }, { status: 400 });
      }),
    );
    const cache = new ClientCredentialsTokenCache({
      tokenUrl: `${BASE}/oauth/token`,
      clientId: 'cid',
      clientSecret: 'bad-secret',
      audience: 'https://x/api/v2/',
      bodyFormat: 'json',
    });
    const err = await cache.getToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdpUnauthorizedError);
    expect((err as Error).message).not.toContain('bad-secret');
  });
});
