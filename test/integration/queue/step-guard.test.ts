import type { Job } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { type Target, targetKey } from '../../../src/domain/target.ts';
import type { RevokeResult } from '../../../src/identity/port.ts';
import { JOB } from '../../../src/queue/names.ts';
import { MemoryIdp } from '../../helpers/memory-idp.ts';
import { createPipeline, type Pipeline } from '../../helpers/pipeline.ts';
import { until } from '../../helpers/wait.ts';

/** An IdP whose revocation of one token waits until released, so its request stays `running` meanwhile. */
class GatedIdp extends MemoryIdp {
  held?: string;
  private release!: () => void;
  readonly released = new Promise<void>((r) => {
    this.release = r;
  });
  reached = false;
  open(): void {
    this.release();
  }
  override async revoke(step: Target): Promise<RevokeResult> {
    if (step.kind === 'token' && step.tokenId === this.held) {
      this.reached = true;
      await this.released;
    }
    return super.revoke(step);
  }
}

let pipe: Pipeline | undefined;
afterEach(async () => {
  await pipe?.close();
  pipe = undefined;
});

async function failed(job: Job): Promise<string> {
  return until(`job ${job.id} failed`, async () => {
    const state = await job.getState();
    if (state === 'completed') throw new Error(`job ${job.id} ran`);
    if (state !== 'failed') return undefined;
    return (await pipe!.queues.idpCalls.getJob(job.id!))?.failedReason ?? '';
  });
}

describe('the queue runs only what a request planned (issue 21 item 4)', () => {
  it('refuses, visibly and audited, a step job for an invented request, an unplanned step, a forged key, a finished request', async () => {
    const idp = new GatedIdp();
    idp.addUser('alice');
    idp.addUser('bob');
    const held = idp.addToken('alice', 'team-wiki');
    idp.addToken('alice', 'team-wiki');
    const bobs = [idp.addToken('bob', 'expense-portal'), idp.addToken('bob', 'expense-portal')];
    idp.held = held.id;
    pipe = await createPipeline({ idp });
    await pipe.startWorkers();

    const { request } = await pipe.intake.submit({
      target: { kind: 'user', userId: 'alice' },
      reason: 'leaver',
      requestedBy: { source: 'cli', id: 'ops' },
      source: 'cli',
    });
    await until('alice revoked up to the held token', async () => (idp.reached ? true : undefined));
    expect((await pipe.store.get(request.id))?.state).toBe('running');

    const app: Target = { kind: 'application', applicationId: 'expense-portal' };
    const add = (data: { requestId: string; step: Target; stepKey: string }) =>
      pipe!.queues.idpCalls.add(JOB.revokeStep, data, { attempts: 3 });
    const invented = await add({ requestId: 'req_invented', step: app, stepKey: targetKey(app) });
    const unplanned = await add({ requestId: request.id, step: app, stepKey: targetKey(app) });
    const planned: Target = { kind: 'token', userId: 'alice', tokenId: held.id };
    const forged = await add({ requestId: request.id, step: app, stepKey: targetKey(planned) });

    expect(await failed(invented)).toMatch(/refused: its request is not running/);
    expect(await failed(unplanned)).toMatch(/refused: the step is not in its request's plan/);
    expect(await failed(forged)).toMatch(/refused: the job names a step key that is not its step/);
    // Failed at once: a refusal is not retried.
    for (const job of [invented, unplanned, forged])
      expect((await pipe.queues.idpCalls.getJob(job.id!))?.attemptsMade).toBe(1);
    // The IdP's own state: nothing of bob's (expense-portal) was touched.
    for (const t of bobs) expect(idp.tokens.has(t.id)).toBe(true);

    idp.open();
    const done = await pipe.intake.waitForOutcome(request.id, 20_000);
    expect(done.state).toBe('verified');
    // The refused jobs were not counted as steps of alice's plan.
    expect(done.result?.revoked).toBe(2);
    expect(await pipe.revokedTokenIds(request.id)).toHaveLength(2);

    // A planned step of a finished request, added again: refused too.
    const late = await add({ requestId: request.id, step: planned, stepKey: targetKey(planned) });
    expect(await failed(late)).toMatch(/refused: its request is not running/);

    const refusals = (await pipe.auditEntries()).filter((e) => e.action === 'job.refused');
    expect(refusals.map((e) => e.detail?.reason).sort()).toEqual([
      'bad_step_key',
      'not_planned',
      'not_running',
      'not_running',
    ]);
    expect(idp.tokens.size).toBe(2);
  });
});
