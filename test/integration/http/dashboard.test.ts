import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createHttpApp,
  type HttpAppOptions,
  type RunningHttpServer,
  startHttpServer,
} from '../../../src/http/index.ts';
import { connectRedis, deleteKeys, randomPrefix } from '../../helpers/redis.ts';

const USER = 'admin';
const PASSWORD = 'correct horse battery staple';

function basic(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

let redis: Redis;
let queue: Queue;
let running: RunningHttpServer | undefined;
let loginPrefix: string;

beforeEach(() => {
  redis = connectRedis();
  queue = new Queue(randomPrefix('http-queue'), { connection: redis, prefix: randomPrefix('bull') });
  loginPrefix = randomPrefix('login');
});

afterEach(async () => {
  await running?.close();
  running = undefined;
  await queue.obliterate({ force: true });
  await queue.close();
  await deleteKeys(redis, loginPrefix);
  await redis.quit();
});

async function start(options: HttpAppOptions): Promise<string> {
  running = await startHttpServer(createHttpApp(options), { port: 0, host: '127.0.0.1' });
  return running.url;
}

describe('GET /metrics', () => {
  it('serves Prometheus text with revoker_queue_depth refreshed from the queue', async () => {
    await queue.addBulk([1, 2, 3].map((n) => ({ name: 'revoke', data: { n } })));
    const url = await start({ queueDepth: [queue] });
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain(`revoker_queue_depth{queue="${queue.name}",state="waiting"} 3`);
    expect(text).toContain(`revoker_queue_depth{queue="${queue.name}",state="failed"} 0`);

    await queue.add('revoke', { n: 4 });
    const again = await (await fetch(`${url}/metrics`)).text();
    expect(again).toContain(`revoker_queue_depth{queue="${queue.name}",state="waiting"} 4`);
  });
});

describe('METRICS_TOKEN', () => {
  it('closes /metrics to scrapes without the bearer token (401 + Bearer challenge) and serves it with it', async () => {
    const url = await start({ metricsToken: 's3cret-metrics' });
    const none = await fetch(`${url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(await none.text()).not.toContain('revoker_');
    const wrong = await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer s3cret-metricz' } });
    expect(wrong.status).toBe(401);
    const ok = await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer s3cret-metrics' } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('revoker_');
  });
});

describe('TRUST_PROXY', () => {
  const lockedOut = async (url: string, forwardedFor: string) => {
    const headers = { 'x-forwarded-for': forwardedFor };
    for (let i = 0; i < 5; i++)
      await fetch(`${url}/admin/queues`, { headers: { ...headers, ...basic(USER, 'x') } });
  };
  const dashboard = () => ({
    queues: [queue],
    user: USER,
    password: PASSWORD,
    lockout: { redis, prefix: loginPrefix },
  });

  it('behind a trusted proxy, the lockout is per client the proxy names, not one for everyone', async () => {
    const url = await start({ dashboard: dashboard(), trustProxy: ['127.0.0.1'] });
    await lockedOut(url, '203.0.113.7');
    const guesser = await fetch(`${url}/admin/queues`, {
      headers: { 'x-forwarded-for': '203.0.113.7', ...basic(USER, PASSWORD) },
    });
    expect(guesser.status).toBe(429);
    const other = await fetch(`${url}/admin/queues`, {
      headers: { 'x-forwarded-for': '198.51.100.9', ...basic(USER, PASSWORD) },
    });
    expect(other.status).toBe(200);
  });

  it('without TRUST_PROXY a forged X-Forwarded-For does not escape the lockout', async () => {
    const url = await start({ dashboard: dashboard() });
    await lockedOut(url, '203.0.113.7');
    const forged = await fetch(`${url}/admin/queues`, {
      headers: { 'x-forwarded-for': '198.51.100.9', ...basic(USER, PASSWORD) },
    });
    expect(forged.status).toBe(429);
  });
});

describe('/admin/queues dashboard', () => {
  const dashboard = () => ({
    queues: [queue],
    user: USER,
    password: PASSWORD,
    lockout: { redis, prefix: loginPrefix },
  });

  it('is not mounted (404) without credentials configured', async () => {
    const url = await start({});
    const res = await fetch(`${url}/admin/queues`, { headers: basic(USER, PASSWORD) });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'not_found' });
  });

  it('refuses missing and wrong credentials with 401 and a Basic challenge; accepts the right ones', async () => {
    const url = await start({ dashboard: dashboard() });
    const none = await fetch(`${url}/admin/queues`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    expect(await none.json()).toEqual({ error: 'unauthorized', message: 'authentication required' });

    for (const [user, password] of [
      [USER, 'wrong'],
      ['root', PASSWORD],
      [USER, `${PASSWORD}x`],
      ['', ''],
    ] as const) {
      const wrong = await fetch(`${url}/admin/queues/api/queues`, { headers: basic(user, password) });
      expect(wrong.status).toBe(401);
    }

    const ok = await fetch(`${url}/admin/queues`, { headers: basic(USER, PASSWORD) });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toContain('text/html');
    expect(ok.headers.get('cache-control')).toBe('no-store');
  });

  it('two web processes share one lockout through Redis: 5 guesses in all, not 5 each', async () => {
    let now = Date.parse('2026-11-30T12:00:00Z');
    const lockout = { redis, prefix: loginPrefix, now: () => now };
    const servers = await Promise.all(
      [0, 1].map(() =>
        startHttpServer(createHttpApp({ dashboard: { ...dashboard(), lockout } }), {
          port: 0,
          host: '127.0.0.1',
        }),
      ),
    );
    try {
      const [a, b] = servers.map((s) => `${s.url}/admin/queues`) as [string, string];
      const statuses: number[] = [];
      // Three guesses at one process, two at the other: the fifth locks the address out at both.
      for (const url of [a, a, a, b, b])
        statuses.push((await fetch(url, { headers: basic(USER, 'guess') })).status);
      expect(statuses).toEqual([401, 401, 401, 401, 401]);
      for (const url of [a, b]) {
        const locked = await fetch(url, { headers: basic(USER, PASSWORD) });
        expect(locked.status).toBe(429);
        expect(locked.headers.get('retry-after')).toBe(String(15 * 60));
      }
      // No client-chosen text in the key: one hashed key for the address, expiring by itself.
      const keys = await redis.keys(`${lockout.prefix}:login:*`);
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatch(/:login:[0-9a-f]{32}$/);
      expect(await redis.pttl(keys[0]!)).toBeGreaterThan(0);
      // A quarter of an hour later the right password gets in, and clears the count.
      now += 15 * 60_000 + 1;
      expect((await fetch(b, { headers: basic(USER, PASSWORD) })).status).toBe(200);
      expect(await redis.exists(keys[0]!)).toBe(0);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  it('is read-only by default: bull-board write APIs are refused and nothing changes', async () => {
    const job = await queue.add('revoke', { tokenId: 'tok_1' });
    const url = await start({ dashboard: dashboard() });
    const auth = basic(USER, PASSWORD);
    const retry = await fetch(`${url}/admin/queues/api/queues/${queue.name}/retry/failed`, {
      method: 'PUT',
      headers: auth,
    });
    expect(retry.status).toBe(405);
    const clean = await fetch(`${url}/admin/queues/api/queues/${queue.name}/${job.id}/clean`, {
      method: 'PUT',
      headers: auth,
    });
    expect(clean.status).toBe(405);
    const add = await fetch(`${url}/admin/queues/api/queues/${queue.name}/add`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'evil', data: {} }),
    });
    expect(add.status).toBe(405);
    expect(await queue.getWaitingCount()).toBe(1);
    expect(await queue.getJob(job.id!)).toBeDefined();

    const listing = await fetch(`${url}/admin/queues/api/queues`, { headers: auth });
    const body = (await listing.json()) as { queues: { name: string; readOnlyMode: boolean }[] };
    expect(body.queues.find((q) => q.name === queue.name)?.readOnlyMode).toBe(true);
  });

  it('write mode retries and removes jobs only: add, data updates, promote, clean, obliterate, pause → 403', async () => {
    const failed = await queue.add('revoke', { tokenId: 'tok_1' });
    const worker = new Worker(
      queue.name,
      async () => {
        throw new Error('boom');
      },
      { connection: redis, prefix: queue.opts.prefix! },
    );
    await new Promise<void>((resolve) => worker.once('failed', () => resolve()));
    await worker.close();
    const waiting = await queue.add('revoke', { tokenId: 'tok_2' }, { delay: 60_000 });
    const url = await start({ dashboard: { ...dashboard(), readOnly: false } });
    const auth = basic(USER, PASSWORD);
    const json = { ...auth, 'content-type': 'application/json' };
    const api = `${url}/admin/queues/api/queues/${queue.name}`;
    const refused: [string, string, string?][] = [
      ['POST', `${api}/add`, JSON.stringify({ name: 'evil', data: { requestId: 'req_x' } })],
      ['PUT', `${api}/${waiting.id}/update-data`, JSON.stringify({ jobData: { tokenId: 'other' } })],
      ['PUT', `${api}/${waiting.id}/promote`],
      ['PUT', `${api}/promote`],
      ['PUT', `${api}/clean/completed`],
      ['PUT', `${api}/empty`],
      ['PUT', `${api}/obliterate`],
      ['PUT', `${api}/pause`],
    ];
    for (const [method, href, body] of refused) {
      const res = await fetch(href, { method, headers: json, ...(body ? { body } : {}) });
      expect({ href, status: res.status }).toEqual({ href, status: 403 });
    }
    expect(await queue.getDelayedCount()).toBe(1);
    expect((await queue.getJob(waiting.id!))?.data).toEqual({ tokenId: 'tok_2' });
    expect(await queue.isPaused()).toBe(false);

    const retry = await fetch(`${api}/${failed.id}/retry`, { method: 'PUT', headers: auth });
    expect(retry.status).toBe(204);
    expect(await queue.getFailedCount()).toBe(0);
    const remove = await fetch(`${api}/${waiting.id}/clean`, { method: 'PUT', headers: auth });
    expect(remove.status).toBe(204);
    expect(await queue.getJob(waiting.id!)).toBeUndefined();
  });

  it('masks secrets and emails in job data and return values; keeps token ids', async () => {
    await queue.add('revoke', {
      tokenId: 'tok_x',
      refresh_token: 'secret-value',
      email: 'a@b.example',
      nested: { headers: { authorization: 'Bearer abc.def' }, reason: 'offboarding c@d.example' },
    });
    const url = await start({ dashboard: dashboard() });
    const res = await fetch(`${url}/admin/queues/api/queues?activeQueue=${queue.name}&status=waiting`, {
      headers: basic(USER, PASSWORD),
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    const body = JSON.parse(text) as { queues: { name: string; jobs: { data: unknown }[] }[] };
    const jobs = body.queues.find((q) => q.name === queue.name)?.jobs ?? [];
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.data).toEqual({
      tokenId: 'tok_x',
      refresh_token: '***',
      email: '***',
      nested: { headers: { authorization: '***' }, reason: 'offboarding ***' },
    });
    expect(text).toContain('tok_x');
    expect(text).not.toContain('secret-value');
    expect(text).not.toContain('a@b.example');
    expect(text).not.toContain('c@d.example');
    expect(text).not.toContain('abc.def');
  });
});
