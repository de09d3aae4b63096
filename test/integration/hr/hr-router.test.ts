import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHrEventQueue, HR_JOB_ATTEMPTS, type HrEventQueue } from '../../../src/hr/hr-event-queue.ts';
import { createHrRouter } from '../../../src/hr/hr-router.ts';
import { createMetrics } from '../../../src/metrics.ts';
import { type HrRouterFixture, startHrRouter } from '../../helpers/hr-router-fixture.ts';
import { HR_TEST_SECRETS, signHrDelivery } from '../../helpers/hr-signing.ts';
import type { MemoryAuditLog } from '../../helpers/memory-audit.ts';

let hr: HrRouterFixture;
let prefix: string;
let queue: HrEventQueue;
let audit: MemoryAuditLog;
let base: string;
let metrics: ReturnType<typeof createMetrics>;

beforeEach(async () => {
  metrics = createMetrics();
  hr = await startHrRouter(
    { secrets: { standard: HR_TEST_SECRETS.standard!, gusto: HR_TEST_SECRETS.gusto! }, metrics },
    { routes: (app) => app.get('/ping', (_req, res) => void res.json({ ok: true })) },
  );
  ({ prefix, queue, audit, base } = hr);
});

afterEach(() => hr.close());

const TERMINATED = JSON.stringify({
  type: 'employee.terminated',
  data: { employeeId: 'E123', email: 'alice@example.com', effectiveAt: '2026-12-01T00:00:00Z' },
});

function post(source: string, body: string | Buffer, headers: Record<string, string>) {
  return fetch(`${base}/webhooks/hr/${source}`, { method: 'POST', body, headers });
}

describe('POST /webhooks/hr/:source', () => {
  it('enqueues a signed delivery once, even when it arrives 10 times at once', async () => {
    const headers = signHrDelivery('standard', HR_TEST_SECRETS.standard!, TERMINATED, new Date(), 'msg_same');
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => post('standard', TERMINATED, headers)),
    );
    const bodies = await Promise.all(answers.map((r) => r.json() as Promise<{ status: string }>));
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(202));
    expect(bodies.filter((b) => b.status === 'accepted')).toHaveLength(1);
    expect(bodies.filter((b) => b.status === 'duplicate')).toHaveLength(9);
    expect(await queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed')).toMatchObject({
      waiting: 1,
    });
    const [job] = await queue.getJobs(['waiting']);
    expect(job!.id).toBe('standard.msg_same');
    expect(job!.data).toMatchObject({ kind: 'terminate', employeeId: 'E123', email: 'alice@example.com' });
    // Completed jobs (whose ids refuse repeats) outlive every vendor's redelivery span, twice.
    expect(job!.opts.removeOnComplete).toEqual({ age: 6 * 86400 });
    // Retried across the vendors' redelivery span (3 days), not ~68 minutes.
    expect(job!.opts.attempts).toBe(HR_JOB_ATTEMPTS);
    expect(HR_JOB_ATTEMPTS).toBeGreaterThan(12);
  });

  it('401s a bad signature and a stale one, audits and counts them, never storing the body', async () => {
    const wrong = signHrDelivery(
      'standard',
      `whsec_${Buffer.from('nope-nope-nope').toString('base64')}`,
      TERMINATED,
    );
    expect((await post('standard', TERMINATED, wrong)).status).toBe(401);
    const stale = signHrDelivery(
      'standard',
      HR_TEST_SECRETS.standard!,
      TERMINATED,
      new Date(Date.now() - 600_000),
    );
    const res = await post('standard', TERMINATED, stale);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'signature_stale' });
    expect(audit.of('webhook.rejected').map((e) => e.detail?.reason)).toEqual([
      'signature_invalid',
      'signature_stale',
    ]);
    expect(JSON.stringify(audit.list)).not.toContain('alice@example.com');
    const rejections = await metrics.rejections.get();
    expect(rejections.values.find((v) => v.labels.reason === 'signature_stale')?.value).toBe(1);
    expect(await queue.count()).toBe(0);
  });

  it('answers Gusto’s unsigned verification_token 200 before HR_GUSTO_SECRET exists, and keeps it', async () => {
    const kept: [string, string][] = [];
    const noSecret = await startHrRouter({
      secrets: { standard: HR_TEST_SECRETS.standard! },
      handshakes: {
        store: async (source, value) => {
          kept.push([source, value]);
          return true;
        },
      },
    });
    try {
      const token = '6590f590-3dba-495e-9bea-c361e1e2efc0';
      const res = await fetch(`${noSecret.base}/webhooks/hr/gusto`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ verification_token: token }),
      });
      expect(res.status).toBe(200);
      expect(kept).toEqual([['gusto', token]]);
      expect(JSON.stringify(noSecret.audit.list)).not.toContain(token);
      // Anything else from Gusto still needs the secret.
      const event = await fetch(`${noSecret.base}/webhooks/hr/gusto`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ event_type: 'employee.terminated', entity_uuid: 'x' }),
      });
      expect(event.status).toBe(404);
      expect(await noSecret.queue.count()).toBe(0);
    } finally {
      await noSecret.close();
    }
  });

  it('404s an unknown source and a source with no secret, then keeps serving', async () => {
    const a = await post('workday', TERMINATED, { 'content-type': 'application/json' });
    expect(a.status).toBe(404);
    expect(await a.json()).toEqual({ error: 'unknown_source' });
    const b = await post('hibob', TERMINATED, signHrDelivery('hibob', HR_TEST_SECRETS.hibob!, TERMINATED));
    expect(b.status).toBe(404);
    expect(await b.json()).toEqual({ error: 'source_not_enabled' });
    expect(audit.of('webhook.rejected').map((e) => e.actor.id)).toEqual(['unknown', 'hibob']);
    expect((await fetch(`${base}/ping`)).status).toBe(200);
  });

  it('413s a body over 1 MB, as JSON, and keeps serving', async () => {
    const big = Buffer.alloc(1024 * 1024 + 10, 'a');
    const res = await post('standard', big, { 'content-type': 'application/json' });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: 'payload_too_large' });
    expect(audit.of('webhook.rejected')[0]?.detail?.reason).toBe('payload_too_large');
    const ok = await post(
      'standard',
      TERMINATED,
      signHrDelivery('standard', HR_TEST_SECRETS.standard!, TERMINATED),
    );
    expect(ok.status).toBe(202);
  });

  it('400s a verified payload it cannot read, with the reason', async () => {
    const body = JSON.stringify({ type: 'employee.terminated', data: {} });
    const res = await post('standard', body, signHrDelivery('standard', HR_TEST_SECRETS.standard!, body));
    expect(res.status).toBe(400);
    const answer = (await res.json()) as { error: string; detail: string };
    expect(answer.error).toBe('payload_invalid');
    expect(answer.detail).toContain('data.employeeId');
  });

  it('answers 202 ignored for a verified event that is not about offboarding (Gusto employee.updated)', async () => {
    const body = JSON.stringify({ uuid: 'u-1', event_type: 'employee.updated', entity_uuid: 'e-1' });
    const res = await post('gusto', body, signHrDelivery('gusto', HR_TEST_SECRETS.gusto!, body));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ status: 'ignored' });
    expect(await queue.count()).toBe(0);
  });

  it('answers 503 when Redis does not take the job, so the vendor retries', async () => {
    const dead = createHrEventQueue({
      connection: { host: '127.0.0.1', port: 1, maxRetriesPerRequest: 1, enableOfflineQueue: false },
      prefix,
    });
    dead.on('error', () => {});
    const app = express();
    app.use(
      '/webhooks/hr',
      createHrRouter({ secrets: HR_TEST_SECRETS, queue: dead, audit, enqueueTimeoutMs: 500 }),
    );
    const s = app.listen(0);
    await new Promise<void>((resolve) => s.once('listening', resolve));
    try {
      const port = (s.address() as AddressInfo).port;
      const res = await fetch(`http://127.0.0.1:${port}/webhooks/hr/standard`, {
        method: 'POST',
        body: TERMINATED,
        headers: signHrDelivery('standard', HR_TEST_SECRETS.standard!, TERMINATED),
      });
      expect(res.status).toBe(503);
      expect(audit.of('webhook.rejected')[0]?.detail?.reason).toBe('enqueue_failed');
    } finally {
      await new Promise<void>((resolve) => s.close(() => resolve()));
      await dead.close().catch(() => {});
    }
  });
});
