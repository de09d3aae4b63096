import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RedisAuditLog } from '../../../src/audit/redis-audit-log.ts';
import {
  createHttpApp,
  type HttpAppOptions,
  type RunningHttpServer,
  startHttpServer,
} from '../../../src/http/index.ts';
import { checkReportFile } from '../../../src/report/report-service.ts';
import { connectRedis, deleteKeys, randomPrefix } from '../../helpers/redis.ts';

const USER = 'admin';
const PASSWORD = 'correct horse battery staple';
const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

let redis: Redis;
let prefix: string;
let audit: RedisAuditLog;
let running: RunningHttpServer | undefined;

/** One HR offboarding, as the intake and workers write it into the chain. */
async function story(audit: RedisAuditLog, requestId: string, effectiveAt: string): Promise<void> {
  const target = { kind: 'user' as const, userId: 'u_dave' };
  const system = { source: 'system', id: 'revoker' };
  await audit.append({
    action: 'request.created',
    actor: { source: 'hr', id: 'standard' },
    requestId,
    target,
    detail: {
      reason: 'HR offboarding',
      effectiveAt: null,
      hrEffectiveAt: effectiveAt,
      hrSource: 'standard',
      hrEvent: 'employee.terminated',
      targetName: 'Dave <script>',
    },
  });
  for (const action of ['request.queued', 'request.started', 'request.verified'] as const)
    await audit.append({ action, actor: system, requestId, target, detail: {} });
}

beforeEach(async () => {
  redis = connectRedis();
  prefix = randomPrefix('admin-report');
  audit = new RedisAuditLog({ redis, prefix });
  await story(audit, 'req_dave', new Date(Date.now() - 10 * 60_000).toISOString());
});

afterEach(async () => {
  await running?.close();
  running = undefined;
  await deleteKeys(redis, prefix);
  await redis.quit();
});

async function start(options: HttpAppOptions): Promise<string> {
  running = await startHttpServer(createHttpApp(options), { port: 0, host: '127.0.0.1' });
  return running.url;
}

const dashboard = () => ({ queues: [], user: USER, password: PASSWORD, lockout: { redis, prefix } });
const adminReport = () => ({ audit, slaMs: 3_600_000 });

describe('GET /admin/report', () => {
  it('is not there (404) unless the dashboard is configured: no credentials, no report', async () => {
    const url = await start({ adminReport: adminReport() });
    expect((await fetch(`${url}/admin/report`, { headers: basic(USER, PASSWORD) })).status).toBe(404);
  });

  it('asks for the dashboard’s credentials, then serves the self-contained page, read-only', async () => {
    const url = await start({ dashboard: dashboard(), adminReport: adminReport() });
    const none = await fetch(`${url}/admin/report`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm="revoker-admin"/);

    const ok = await fetch(`${url}/admin/report`, { headers: basic(USER, PASSWORD) });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toContain('text/html');
    expect(ok.headers.get('cache-control')).toBe('no-store');
    expect(ok.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await ok.text();
    expect(html).toContain('<tr data-request="req_dave"');
    expect(html).toContain('Dave &lt;script&gt;');
    expect(html).not.toMatch(/<script|<link|@import|url\(/i);
    // The page served is a report like the CLI's: it checks against the chain.
    expect(await checkReportFile(html, audit)).toMatchObject({ ok: true, rows: 1 });

    const json = await fetch(`${url}/admin/report?format=json&since=2020-01-01`, {
      headers: basic(USER, PASSWORD),
    });
    expect((await json.json()) as object).toMatchObject({
      summary: { count: 1, verified: 1 },
      period: { since: '2020-01-01T00:00:00.000Z' },
    });

    const post = await fetch(`${url}/admin/report`, { method: 'POST', headers: basic(USER, PASSWORD) });
    expect(post.status).toBe(405);
  });

  it('answers 400 to a bad period, never 500', async () => {
    const url = await start({ dashboard: dashboard(), adminReport: adminReport() });
    for (const q of [
      'since=yesterday',
      'until=2026-13-45',
      'since=2026-12-02&until=2026-12-01',
      'format=pdf',
      'since=2026-01-01&since=2026-01-02',
    ]) {
      const res = await fetch(`${url}/admin/report?${q}`, { headers: basic(USER, PASSWORD) });
      expect(res.status, q).toBe(400);
    }
  });

  it('shares the dashboard’s lockout: 5 wrong passwords on /admin/queues lock /admin/report too', async () => {
    const url = await start({ dashboard: dashboard(), adminReport: adminReport() });
    for (let i = 0; i < 5; i++) {
      expect((await fetch(`${url}/admin/queues`, { headers: basic(USER, 'wrong') })).status).toBe(401);
    }
    const locked = await fetch(`${url}/admin/report`, { headers: basic(USER, PASSWORD) });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
