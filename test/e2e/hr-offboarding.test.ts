import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedTokens } from '../../src/idaas/index.ts';
import type { RequestRecord } from '../../src/intake/types.ts';
import { jobIds } from '../../src/queue/names.ts';
import { CLI_TIMEOUT_MS, runRevoker } from '../helpers/cli.ts';
import { delayedJob, dueAt, fireNow } from '../helpers/delayed-jobs.ts';
import { deliverHr, signHrDelivery } from '../helpers/hr-signing.ts';
import {
  hrJobCount,
  isAlive,
  isDead,
  mintOne,
  startTestService,
  type TestService,
} from '../helpers/service.ts';
import { until } from '../helpers/wait.ts';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
let t: TestService;

beforeAll(async () => {
  t = await startTestService({ HR_STANDARD_SECRET: SECRET });
});
afterAll(async () => {
  await t?.close();
});

function terminated(email: string, extra: Record<string, string> = {}, type = 'employee.terminated') {
  return JSON.stringify({
    type,
    data: { employeeId: `E-${email}`, email, reason: 'left the company', ...extra },
  });
}

const deliver = (body: string, headers = signHrDelivery('standard', SECRET, body)) =>
  deliverHr(t.url, 'standard', body, headers);

const mint = (user: string, application?: string, resourceServer?: string) =>
  mintOne(t, user, application, resourceServer);

/** The HR request for `userId`, once the hr-events worker has turned the delivery into one. */
function hrRequestFor(userId: string): Promise<RequestRecord> {
  return until(`the HR request for ${userId}`, async () =>
    (await t.rt.intake.list({ source: 'hr', limit: 100 })).find(
      (r) => r.target.kind === 'user' && r.target.userId === userId,
    ),
  );
}

const hrJobs = () => hrJobCount(t);
const DAY_MS = 86_400_000;

/** The audit actions recorded for a request, in order. */
async function actionsOf(requestId: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of t.rt.audit.entries({ requestId })) out.push(e.action);
  return out;
}

/** The request's delayed start is due at `at` (BullMQ stamps it a moment after the intake's clock read). */
async function expectStartDueAt(requestId: string, at: Date): Promise<void> {
  const { dueAt } = await delayedJob(t.rt.queues.revocations, jobIds.start(requestId));
  expect(Math.abs(dueAt - at.getTime())).toBeLessThan(60_000);
}

describe('HR offboarding through the real service (standard webhooks)', () => {
  it('a signed termination kills every token of that user, and only theirs', async () => {
    const dave = await Promise.all([
      mint('dave'),
      mint('dave', 'team-wiki'),
      mint('dave', 'expense-portal', 'payroll-api'),
    ]);
    const carol = await mint('carol');
    for (const tok of [...dave, carol]) expect(await isAlive(t.idaas, tok)).toBe(true);

    const res = await deliver(terminated('dave@example.com'));
    expect(res.status).toBe(202);
    const rec = await hrRequestFor(dave[0]!.userId);
    const done = await t.rt.intake.waitForOutcome(rec.id, 20_000);
    expect(done.state).toBe('verified');
    for (const tok of dave) expect(await isDead(t.idaas, tok)).toBe(true);
    expect(await isAlive(t.idaas, carol)).toBe(true);
  });

  it('/metrics counts requests by source and scope, tokens revoked, IdP calls by outcome and deliveries', async () => {
    const text = await (await fetch(`${t.url}/metrics`)).text();
    expect(text).toMatch(/revoker_requests_total\{source="hr",scope="user"\} [1-9]/);
    expect(text).toMatch(/revoker_tokens_revoked_total [1-9]/);
    expect(text).toMatch(/revoker_idp_calls_total\{idp="idaas",operation="revoke",outcome="ok"\} [1-9]/);
    expect(text).toMatch(/revoker_webhook_deliveries_total\{source="standard",outcome="accepted"\} [1-9]/);
    expect(text).toMatch(/revoker_job_latency_seconds_count\{queue="idp-calls"\} [1-9]/);
    expect(text).toMatch(/revoker_queue_depth\{queue="revocations",state="completed"\} \d+/);
  });

  it('the same delivery ten times at once enqueues one request and one set of audit entries', async () => {
    const bob = await mint('bob');
    const body = terminated('bob@example.com');
    const headers = signHrDelivery(
      'standard',
      SECRET,
      body,
      new Date(),
      `msg_${randomBytes(6).toString('hex')}`,
    );
    const answers = await Promise.all(Array.from({ length: 10 }, () => deliver(body, headers)));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(202));
    expect(answers.filter((a) => a.body.status === 'accepted')).toHaveLength(1);
    const rec = await hrRequestFor(bob.userId);
    expect((await t.rt.intake.waitForOutcome(rec.id, 20_000)).state).toBe('verified');
    const recs = (await t.rt.intake.list({ source: 'hr', limit: 100 })).filter(
      (r) => r.target.kind === 'user' && r.target.userId === bob.userId,
    );
    expect(recs).toHaveLength(1);
    const created: string[] = [];
    for await (const e of t.rt.audit.entries({ requestId: rec.id }))
      if (e.action === 'request.created') created.push(e.id);
    expect(created).toHaveLength(1);
    expect(await isDead(t.idaas, bob)).toBe(true);
  });

  it('wrong secret, altered body and stale timestamp answer 401 and enqueue nothing', async () => {
    const before = await hrJobs();
    const body = terminated('carol@example.com');
    const wrong = signHrDelivery('standard', `whsec_${randomBytes(24).toString('base64')}`, body);
    expect((await deliver(body, wrong)).status).toBe(401);
    const good = signHrDelivery('standard', SECRET, body);
    expect((await deliver(body.replace('carol', 'alice'), good)).status).toBe(401);
    const stale = signHrDelivery('standard', SECRET, body, new Date(Date.now() - 6 * 60_000));
    expect((await deliver(body, stale)).status).toBe(401);
    expect(await hrJobs()).toBe(before);
    // Refusals are counted per reason and minute, then written as one entry each with the count.
    await t.rt.refusals.flush({ all: true });
    let refused = 0;
    for await (const e of t.rt.audit.entries())
      if (e.action === 'webhook.rejected') refused += Number(e.detail?.count);
    expect(refused).toBeGreaterThanOrEqual(3);
  });

  it('oversized, malformed, unknown-source and unknown-employee deliveries get clear answers; the service keeps serving', async () => {
    const big = JSON.stringify({ type: 'employee.terminated', data: { pad: 'x'.repeat(1_100_000) } });
    const tooBig = await fetch(`${t.url}/webhooks/hr/standard`, {
      method: 'POST',
      headers: signHrDelivery('standard', SECRET, big),
      body: big,
    });
    expect(tooBig.status).toBe(413);
    const malformed = '{"type":"employee.terminated","data":';
    expect((await deliver(malformed)).status).toBe(400);
    const unknown = await fetch(`${t.url}/webhooks/hr/nosuchvendor`, { method: 'POST', body: '{}' });
    expect(unknown.status).toBe(404);
    const ghost = await deliver(terminated('nobody@example.com'));
    expect(ghost.status).toBe(202);
    await until('the unknown employee in the audit log', async () => {
      for await (const e of t.rt.audit.entries()) if (e.action === 'webhook.unknown_employee') return true;
      return undefined;
    });
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });

  it('a future-dated termination revokes nothing before its time and everything when it comes', async () => {
    const alice = await mint('alice', 'team-wiki');
    const effectiveAt = new Date(Math.ceil((Date.now() + DAY_MS) / 1000) * 1000);
    expect(
      (await deliver(terminated('alice@example.com', { effectiveAt: effectiveAt.toISOString() }))).status,
    ).toBe(202);
    const rec = await hrRequestFor(alice.userId);
    expect(rec.state).toBe('scheduled');
    expect(rec.effectiveAt).toBe(effectiveAt.toISOString());
    // Its start waits in BullMQ's delayed set, due at the effective time; nothing ran meanwhile.
    await expectStartDueAt(rec.id, effectiveAt);
    expect(await actionsOf(rec.id)).not.toContain('request.started');
    expect(await isAlive(t.idaas, alice)).toBe(true);
    // The time comes.
    await fireNow(t.rt.queues.revocations, jobIds.start(rec.id));
    const done = await t.rt.intake.waitForOutcome(rec.id, 20_000);
    expect(done.state).toBe('verified');
    expect(await actionsOf(rec.id)).toEqual(expect.arrayContaining(['request.scheduled', 'token.revoked']));
    expect(await isDead(t.idaas, alice)).toBe(true);
  });
});

describe('revoker hr pending', { timeout: CLI_TIMEOUT_MS }, () => {
  it('lists a scheduled offboarding with employee, email, time, request and state', async () => {
    const when = new Date(Date.now() + 3_600_000).toISOString();
    await t.idaas.addUser({
      userId: 'ivan',
      email: 'ivan@example.com',
      name: 'Ivan',
      password: 'ivan-password-1',
    });
    const body = terminated('ivan@example.com', { employeeId: 'E-IVAN', effectiveAt: when });
    expect((await deliver(body)).status).toBe(202);
    const rec = await until('the scheduled request', async () =>
      (await t.rt.intake.list({ source: 'hr', states: ['scheduled'] })).find((r) => r.effectiveAt === when),
    );
    const run = await runRevoker(['hr', 'pending'], {
      REDIS_URL: t.rt.config.REDIS_URL,
      REVOKER_PREFIX: t.prefix,
      LOG_LEVEL: 'silent',
    });
    expect(run.code).toBe(0);
    const row = run.stdout.split('\n').find((l) => l.includes(rec.id));
    // No HR_TIME_ZONE: the company's clock is UTC, shown local (with its offset), zone, then UTC.
    const local = `${when.slice(0, 10)} ${when.slice(11, 16)} \\+00:00`;
    expect(row).toMatch(
      new RegExp(
        `^standard:E-IVAN\\s+ivan@example.com\\s+${local}\\s+UTC\\s+${when.replace(/\./g, '\\.')}\\s+${rec.id}\\s+scheduled$`,
      ),
    );
  });
});

describe('future-dated terminations: cancelled and moved', () => {
  let tok: IssuedTokens;
  it('cancelled before its time ⇒ nothing revoked', async () => {
    const user = await t.idaas.addUser({
      userId: 'frank',
      email: 'frank@example.com',
      name: 'Frank',
      password: 'frank-password-1',
    });
    tok = await mint('frank');
    const when = new Date(Math.ceil((Date.now() + DAY_MS) / 1000) * 1000);
    expect(
      (
        await deliver(
          terminated('frank@example.com', { effectiveAt: when.toISOString(), employeeId: 'E-FRANK' }),
        )
      ).status,
    ).toBe(202);
    const rec = await hrRequestFor(user.id);
    expect(rec.state).toBe('scheduled');
    await expectStartDueAt(rec.id, when);
    const cancel = terminated(
      'frank@example.com',
      { employeeId: 'E-FRANK' },
      'employee.termination_cancelled',
    );
    expect((await deliver(cancel)).status).toBe(202);
    const final = await t.rt.intake.waitForOutcome(rec.id, 10_000);
    expect(final.state).toBe('cancelled');
    // Its delayed start goes (just after the state changes): nothing will run at the original time.
    await until('the delayed start removed', async () =>
      (await t.rt.queues.revocations.getJob(jobIds.start(rec.id))) ? undefined : true,
    );
    expect(await actionsOf(rec.id)).not.toContain('request.started');
    expect(await isAlive(t.idaas, tok)).toBe(true);
  });

  it('moved ⇒ runs at the new time, not the old one', async () => {
    const user = await t.idaas.addUser({
      userId: 'grace',
      email: 'grace@example.com',
      name: 'Grace',
      password: 'grace-password-1',
    });
    const g = await mint('grace');
    const first = new Date(Math.ceil((Date.now() + DAY_MS) / 1000) * 1000);
    const moved = new Date(first.getTime() + DAY_MS);
    await deliver(
      terminated('grace@example.com', { effectiveAt: first.toISOString(), employeeId: 'E-GRACE' }),
    );
    const rec = await hrRequestFor(user.id);
    await expectStartDueAt(rec.id, first);
    await deliver(
      terminated('grace@example.com', { effectiveAt: moved.toISOString(), employeeId: 'E-GRACE' }),
    );
    await until('the moved date', async () =>
      (await t.rt.intake.get(rec.id))?.effectiveAt === moved.toISOString() ? true : undefined,
    );
    // One start, due at the new time (moved just after the record); nothing is left at the old one.
    await until('the start moved', async () => {
      const due = await dueAt(t.rt.queues.revocations, jobIds.start(rec.id));
      return due !== undefined && due > first.getTime() + DAY_MS / 2 ? true : undefined;
    });
    await expectStartDueAt(rec.id, moved);
    expect(await isAlive(t.idaas, g)).toBe(true);
    await fireNow(t.rt.queues.revocations, jobIds.start(rec.id));
    const done = await t.rt.intake.waitForOutcome(rec.id, 20_000);
    expect(done.state).toBe('verified');
    expect(await isDead(t.idaas, g)).toBe(true);
  });
});
