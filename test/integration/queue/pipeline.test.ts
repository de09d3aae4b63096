import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/domain/errors.ts';
import type { Actor } from '../../../src/domain/request.ts';
import type { Target } from '../../../src/domain/target.ts';
import {
  IdpRateLimitedError,
  IdpTransientError,
  IdpUnauthorizedError,
} from '../../../src/identity/errors.ts';
import type { RevocationPlan, RevokeResult } from '../../../src/identity/port.ts';
import { RedisRequestStore } from '../../../src/intake/request-store.ts';
import type { RequestRef } from '../../../src/queue/job-priority.ts';
import { RevocationQueues } from '../../../src/queue/revocation-queues.ts';
import { MemoryIdp } from '../../helpers/memory-idp.ts';
import { createPipeline, type Pipeline } from '../../helpers/pipeline.ts';
import { approvalsPerScope } from '../../helpers/test-workflows.ts';
import { until } from '../../helpers/wait.ts';

const admin: Actor = { source: 'slack', id: 'UADMIN1', name: 'Ada' };
const approver1: Actor = { source: 'slack', id: 'UAPPROVER1' };
const approver2: Actor = { source: 'slack', id: 'UAPPROVER2' };

let pipe: Pipeline | undefined;
afterEach(async () => {
  await pipe?.close();
  pipe = undefined;
});

function seed(idp: MemoryIdp, users: number, tokensEach: number) {
  for (let u = 0; u < users; u++) {
    idp.addUser(`usr_${u}`);
    for (let t = 0; t < tokensEach; t++)
      idp.addToken(`usr_${u}`, u % 2 === 0 ? 'app-even' : 'app-odd', 'rs-1');
  }
}

/**
 * An IdP whose widest call covers a whole user and answers nothing (Okta's `DELETE …/sessions?oauthTokens=true`
 * answers 204): the plan's listing is all the audit has to go on.
 */
class SilentBulkIdp extends MemoryIdp {
  override async plan(target: Target): Promise<RevocationPlan> {
    const plan = await super.plan(target);
    return target.kind === 'token' ? plan : { ...plan, steps: [target], sweep: undefined };
  }
  override async revoke(step: Target): Promise<RevokeResult> {
    await super.revoke(step);
    return { revoked: [] };
  }
}

/** Queues whose first `addSteps` dies after two steps are in, as a plan job killed mid-way would. */
class DiesWhileAddingSteps extends RevocationQueues {
  died = false;
  override async addSteps(request: RequestRef, steps: readonly Target[]): Promise<void> {
    if (this.died) return super.addSteps(request, steps);
    this.died = true;
    await super.addSteps(request, steps.slice(0, 2));
    throw new Error('the process died while adding the steps');
  }
}

/** A store that loses the first settling of a failed step, as a process dying right after BullMQ failed it. */
class LosesFirstFailedStep extends RedisRequestStore {
  lost = 0;
  override async failStep(id: string, stepKey: string): Promise<{ done: number; isNew: boolean }> {
    if (this.lost++ === 0) throw new Error('the process died before settling the step');
    return super.failStep(id, stepKey);
  }
}

describe('pipeline: intake → queue → workers → IdP → audit', () => {
  it('a bulk call that answers nothing: the recorded listing, once verified gone, is audited exactly once', async () => {
    const idp = new SilentBulkIdp();
    seed(idp, 2, 3);
    pipe = await createPipeline({ idp });
    await pipe.startWorkers();
    const done = await pipe.submitAndWait({
      target: { kind: 'user', userId: 'usr_0' },
      reason: 'offboarding',
      requestedBy: admin,
      source: 'cli',
    });
    expect(done.state).toBe('verified');
    expect(done.result).toMatchObject({ ok: true, revoked: 3, remaining: 0 });
    expect(done.progress).toEqual({ done: 1, total: 1, tokens: 3 });
    expect(done.impact).toEqual({ userCount: 1, tokenCount: 3 });
    expect(idp.revokeCalls).toBe(1);
    expect(idp.planCalls).toBe(1);
    expect(await pipe.revokedTokenIds(done.id)).toEqual(['tok_1_usr_0', 'tok_2_usr_0', 'tok_3_usr_0']);
  });

  it('revokes every token of a user, verifies, and audits each token exactly once', async () => {
    const idp = new MemoryIdp();
    seed(idp, 3, 4);
    pipe = await createPipeline({ idp });
    await pipe.startWorkers();
    const { request } = await pipe.intake.submit({
      target: { kind: 'user', userId: 'usr_1' },
      reason: 'laptop stolen',
      requestedBy: admin,
      source: 'slack',
    });
    expect(request.state).toBe('queued');
    const done = await pipe.intake.waitForOutcome(request.id, 20_000);
    expect(done.state).toBe('verified');
    expect(done.result).toMatchObject({ ok: true, revoked: 4, remaining: 0 });
    expect([...idp.tokens.values()].filter((t) => t.userId === 'usr_1')).toHaveLength(0);
    expect(idp.tokens.size).toBe(8);
    const entries = await pipe.auditEntries();
    const revoked = entries.filter((e) => e.action === 'token.revoked');
    expect(revoked).toHaveLength(4);
    expect(new Set(revoked.map((e) => e.detail?.tokenId)).size).toBe(4);
    expect(entries.map((e) => e.action)).toEqual(
      expect.arrayContaining(['request.created', 'request.queued', 'request.started', 'request.verified']),
    );
    expect(await pipe.audit.verify()).toMatchObject({ ok: true });
  });

  it('the same request submitted 10 times concurrently executes once', async () => {
    const idp = new MemoryIdp();
    seed(idp, 2, 3);
    pipe = await createPipeline({ idp });
    await pipe.startWorkers();
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        pipe!.intake.submit({
          target: { kind: 'application', applicationId: 'app-even' },
          reason: 'client secret leaked',
          requestedBy: admin,
          source: 'cli',
          idempotencyKey: 'cli:leak-1',
        }),
      ),
    );
    expect(new Set(results.map((r) => r.request.id)).size).toBe(1);
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    const done = await pipe.intake.waitForOutcome(results[0]!.request.id, 20_000);
    expect(done.state).toBe('verified');
    const entries = await pipe.auditEntries();
    expect(entries.filter((e) => e.action === 'request.created')).toHaveLength(1);
    expect(entries.filter((e) => e.action === 'token.revoked')).toHaveLength(3);
    // 3 token steps + 1 sweep: nothing ran twice.
    expect(idp.revokeCalls).toBe(4);
  });

  it('needs two different approvers for an application; self and outsider approvals are refused', async () => {
    const idp = new MemoryIdp();
    seed(idp, 2, 1);
    pipe = await createPipeline({ idp, workflows: await approvalsPerScope({ application: 2 }) });
    await pipe.startWorkers();
    const { request } = await pipe.intake.submit({
      target: { kind: 'application', applicationId: 'app-odd' },
      reason: 'retire app',
      requestedBy: { source: 'slack', id: 'UAPPROVER3' },
      source: 'slack',
    });
    expect(request.state).toBe('pending_approval');
    await expect(
      pipe.intake.approve(request.id, { source: 'slack', id: 'UAPPROVER3' }),
    ).rejects.toMatchObject({
      code: ErrorCode.Forbidden,
    });
    await expect(pipe.intake.approve(request.id, { source: 'slack', id: 'UOUTSIDER' })).rejects.toMatchObject(
      {
        code: ErrorCode.Forbidden,
      },
    );
    const first = await pipe.intake.approve(request.id, approver1);
    expect(first.state).toBe('pending_approval');
    await expect(pipe.intake.approve(request.id, approver1)).rejects.toMatchObject({
      code: ErrorCode.Conflict,
    });
    const second = await pipe.intake.approve(request.id, approver2);
    expect(['queued', 'running', 'verified']).toContain(second.state);
    expect((await pipe.intake.waitForOutcome(request.id, 20_000)).state).toBe('verified');
    const entries = await pipe.auditEntries();
    expect(entries.filter((e) => e.action === 'request.approval_recorded')).toHaveLength(2);
    expect(entries.filter((e) => e.action === 'request.rejected')).toHaveLength(2);
  });

  it('two approvals racing, and approve racing deny, give one outcome recorded once', async () => {
    const idp = new MemoryIdp();
    seed(idp, 2, 1);
    pipe = await createPipeline({ idp, workflows: await approvalsPerScope({ user: 1 }) });
    await pipe.startWorkers();
    const submit = (key: string) =>
      pipe!.intake.submit({
        target: { kind: 'user', userId: 'usr_0' },
        reason: 'race',
        requestedBy: admin,
        source: 'slack',
        idempotencyKey: key,
      });
    const a = (await submit('race-a')).request;
    const settled = await Promise.allSettled([
      pipe.intake.approve(a.id, approver1),
      pipe.intake.approve(a.id, approver2),
    ]);
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(1);
    expect((await pipe.intake.waitForOutcome(a.id, 20_000)).state).toBe('verified');

    const b = (await submit('race-b')).request;
    const raced = await Promise.allSettled([
      pipe.intake.approve(b.id, approver1),
      pipe.intake.deny(b.id, approver2, 'not needed'),
    ]);
    expect(raced.filter((s) => s.status === 'fulfilled')).toHaveLength(1);
    const final = await pipe.intake.waitForOutcome(b.id, 20_000);
    expect(['verified', 'denied']).toContain(final.state);
    const entries = await pipe.auditEntries();
    const outcomes = entries.filter(
      (e) => e.requestId === b.id && (e.action === 'request.approved' || e.action === 'request.denied'),
    );
    expect(outcomes).toHaveLength(1);
  });

  it('an approval that expires cannot be approved late', async () => {
    const idp = new MemoryIdp();
    seed(idp, 1, 1);
    let now = Date.now();
    pipe = await createPipeline({
      idp,
      workflows: await approvalsPerScope({ user: 1 }, undefined, '60s'),
      clock: () => new Date(now),
    });
    const intake = pipe.intake;
    const { request } = await intake.submit({
      target: { kind: 'user', userId: 'usr_0' },
      reason: 'late',
      requestedBy: admin,
      source: 'slack',
    });
    now += 61_000;
    await expect(intake.approve(request.id, approver1)).rejects.toMatchObject({ code: ErrorCode.Conflict });
    expect((await intake.get(request.id))?.state).toBe('expired');
    expect(idp.revokeCalls).toBe(0);
  });

  it('waits out a 429 and transient errors, and fails fast on a permanent one', async () => {
    const idp = new MemoryIdp();
    seed(idp, 1, 2);
    idp.failNext.push(
      new IdpRateLimitedError('slow down', { status: 429, retryAfterMs: 200 }),
      new IdpTransientError('bad gateway', { status: 502 }),
    );
    pipe = await createPipeline({ idp });
    await pipe.startWorkers();
    const ok = await pipe.intake.submit({
      target: { kind: 'user', userId: 'usr_0' },
      reason: 'flaky idp',
      requestedBy: admin,
      source: 'cli',
    });
    expect((await pipe.intake.waitForOutcome(ok.request.id, 20_000)).state).toBe('verified');

    const stuck = idp.addToken('usr_0', 'app-even');
    idp.failNext.push(new IdpUnauthorizedError('bad api token', { status: 401 }));
    idp.failNext.push(new IdpUnauthorizedError('bad api token', { status: 401 }));
    const bad = await pipe.intake.submit({
      target: { kind: 'user', userId: 'usr_0' },
      reason: 'broken credentials',
      requestedBy: admin,
      source: 'cli',
    });
    const failed = await pipe.intake.waitForOutcome(bad.request.id, 20_000);
    // The step failed at once (no retries), then the sweep did too: dead-lettered, failed, token alive.
    const dead = await pipe.queues.deadLetters.getJobs(['waiting', 'completed', 'failed', 'delayed']);
    expect(dead.filter((j) => j.data.requestId === bad.request.id).map((j) => j.data.errorCode)).toEqual([
      ErrorCode.IdpUnauthorized,
      ErrorCode.IdpUnauthorized,
    ]);
    expect(failed.state).toBe('failed');
    expect(failed.result?.error).toContain(ErrorCode.IdpUnauthorized);
    expect(idp.tokens.has(stuck.id)).toBe(true);
  });

  it('the reconciler re-creates a scheduled start that was lost, and a lost plan job', async () => {
    const idp = new MemoryIdp();
    seed(idp, 2, 1);
    pipe = await createPipeline({ idp });
    const workers = await pipe.startWorkers();
    const later = await pipe.intake.submit({
      target: { kind: 'user', userId: 'usr_0' },
      reason: 'leaves tomorrow',
      requestedBy: admin,
      source: 'cli',
      effectiveAt: new Date(Date.now() + 500).toISOString(),
    });
    expect(later.request.state).toBe('scheduled');
    await pipe.queues.cancelStart(later.request.id);
    expect(await pipe.queues.revocations.getJob(`${later.request.id}.start`)).toBeUndefined();

    // A request left 'queued' with no job, as after a crash between the state change and the enqueue.
    const record = {
      ...later.request,
      id: 'req_orphan',
      state: 'queued' as const,
      target: { kind: 'user' as const, userId: 'usr_1' },
    };
    await pipe.store.create(record);

    await workers.reconcile();
    expect((await pipe.intake.waitForOutcome(later.request.id, 10_000)).state).toBe('verified');
    expect((await pipe.intake.waitForOutcome('req_orphan', 10_000)).state).toBe('verified');
  });

  it('an impact the requester was already shown is kept, and the intake does not plan again', async () => {
    const idp = new MemoryIdp();
    seed(idp, 1, 3);
    pipe = await createPipeline({ idp, workflows: await approvalsPerScope({ user: 1 }) });
    const shown = await pipe.intake.submit({
      target: { kind: 'user', userId: 'usr_0' },
      reason: 'confirmed in Slack',
      requestedBy: admin,
      source: 'slack',
      impact: { tokenCount: 3, userCount: 1 },
    });
    expect(shown.request.impact).toEqual({ tokenCount: 3, userCount: 1 });
    expect(idp.planCalls).toBe(0);
    const unknown = await pipe.intake.submit({
      target: { kind: 'user', userId: 'usr_0' },
      reason: 'from the shell',
      requestedBy: admin,
      source: 'cli',
    });
    expect(unknown.request.impact).toEqual({ tokenCount: 3, userCount: 1 });
    expect(idp.planCalls).toBe(1);
  });

  it('a plan job that died while adding its steps reruns with the stored plan: no second plan call, each token once', async () => {
    const idp = new MemoryIdp();
    seed(idp, 1, 6);
    pipe = await createPipeline({ idp });
    const queues = new DiesWhileAddingSteps({ connection: pipe.redis, prefix: pipe.prefix });
    try {
      await pipe.startWorkers({ queues });
      const { request } = await pipe.intake.submit({
        target: { kind: 'user', userId: 'usr_0' },
        reason: 'offboarding',
        requestedBy: admin,
        source: 'cli',
      });
      const plansAtIntake = idp.planCalls;
      const done = await pipe.intake.waitForOutcome(request.id, 20_000);
      expect(queues.died).toBe(true);
      expect(done.state).toBe('verified');
      expect(done.result).toMatchObject({ ok: true, revoked: 6, remaining: 0 });
      // The worker planned once; its rerun took the stored plan. One call per token, then the sweep.
      expect(idp.planCalls - plansAtIntake).toBe(1);
      expect(idp.revokeCalls).toBe(7);
      expect(await pipe.revokedTokenIds(request.id)).toEqual(
        Array.from({ length: 6 }, (_, i) => `tok_${i + 1}_usr_0`).sort(),
      );
      // Once every job was added, the stored steps left Redis (the jobs hold them).
      expect(await pipe.store.planInfo(request.id)).toMatchObject({ added: true, total: 6 });
      expect(await pipe.store.planOf(request.id)).toBeUndefined();
      expect(await pipe.redis.hexists(`${pipe.prefix}:req:plan:${request.id}`, 'steps')).toBe(0);
    } finally {
      await queues.close();
    }
  });

  it('a failed step whose settling was lost is settled by the reconciler, and its request finalizes', async () => {
    const idp = new MemoryIdp();
    seed(idp, 1, 2);
    pipe = await createPipeline({ idp });
    const store = new LosesFirstFailedStep({ redis: pipe.redis, prefix: pipe.prefix });
    const workers = await pipe.startWorkers({ store });
    // One step fails for good (401); the sweep that follows is refused too.
    idp.failNext.push(new IdpUnauthorizedError('bad api token', { status: 401 }));
    const { request } = await pipe.intake.submit({
      target: { kind: 'user', userId: 'usr_0' },
      reason: 'offboarding',
      requestedBy: admin,
      source: 'cli',
    });
    await until('the failed step', async () => {
      const failed = await pipe!.queues.idpCalls.getFailed();
      return failed.find((j) => j.data.requestId === request.id);
    });
    // The other step is done, the failed one was never settled: nothing will finalize the request…
    await until('the other step settled', async () =>
      (await pipe!.store.countSettled(request.id)) === 1 ? true : undefined,
    );
    expect(store.lost).toBe(1);
    expect((await pipe.store.get(request.id))?.state).toBe('running');
    expect(await pipe.queues.workQueueOf(request).getJob(`${request.id}.finalize`)).toBeUndefined();
    // …until the reconciler finds the failed job.
    await workers.reconcile();
    const done = await pipe.intake.waitForOutcome(request.id, 20_000);
    expect(done.result?.error ?? '').not.toContain('still work');
    // A step that failed for good never lets the request end verified (issue 18): it is a failed part
    // naming the call, whatever the sweep and the listing showed afterwards.
    expect(done.state).toBe('failed');
    expect(done.result?.error).toContain('call token:usr_0:tok_1_usr_0');
    expect(done.result?.parts).toContainEqual({
      part: 'call token:usr_0:tok_1_usr_0',
      outcome: 'failed',
      why: 'the IdP call failed for good (idp_unauthorized)',
    });
    expect(done.result).toMatchObject({ revoked: 2, remaining: 0 });
    expect(await pipe.revokedTokenIds(request.id)).toEqual(['tok_1_usr_0', 'tok_2_usr_0']);
  });
});
