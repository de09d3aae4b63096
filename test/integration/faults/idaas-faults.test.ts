import { afterEach, describe, expect, it } from 'vitest';
import { type Idaas, startIdaas } from '../../../src/idaas/index.ts';
import { IdaasIdentityProvider } from '../../../src/identity/adapters/idaas.ts';
import { createPipeline, type Pipeline } from '../../helpers/pipeline.ts';
import {
  countingProxy,
  deadLetterCount,
  expectAlive,
  expectBatchDone,
  expectDead,
  expectExactlyOnce,
  IN_SCOPE_APP,
  leavers,
  listTokenIds,
  mintGrants,
  OTHER_APP,
  outcomeOf,
  revokedInBatch,
  sampleOf,
  submitApp,
  submitUsers,
  tokenIds,
  until,
} from './fixtures.ts';

/**
 * The pipeline (intake, queues, workers in this process) against the real embedded IDaaS, one fault at a
 * time (DESIGN §8). Each test has its own IDaaS and its own Redis prefix.
 */
let idaas: Idaas | undefined;
let pipe: Pipeline | undefined;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  await pipe?.close();
  await idaas?.close();
  pipe = undefined;
  idaas = undefined;
});

async function setup(): Promise<{ idaas: Idaas; pipe: Pipeline }> {
  idaas = await startIdaas({ port: 0, store: 'memory' });
  const idp = new IdaasIdentityProvider({ baseUrl: idaas.url, adminToken: idaas.adminToken });
  pipe = await createPipeline({ idp });
  return { idaas, pipe };
}

describe('faults: the pipeline against the embedded IDaaS', () => {
  it('revokes every token of an application used by 200 users, and no other', {
    timeout: 60_000,
  }, async () => {
    const { idaas, pipe } = await setup();
    const users = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        idaas.addUser({
          userId: `user${i}`,
          email: `user${i}@example.com`,
          name: `User ${i}`,
          password: `password-${i}-xyz`,
        }),
      ),
    );
    const ids = users.map((u) => u.id);
    const inScope = await mintGrants(idaas, IN_SCOPE_APP, 200, ids);
    const others = await mintGrants(idaas, OTHER_APP, 200, ids);
    expect(new Set(inScope.map((t) => t.userId)).size).toBe(200);
    const otherIds = await listTokenIds(idaas, `/applications/${OTHER_APP}/tokens`);
    await pipe.startWorkers({ concurrency: 20 });

    const started = Date.now();
    const request = await submitApp(pipe);
    const done = await outcomeOf(pipe, request.id, 45_000);
    const ms = Date.now() - started;
    expect(done.state).toBe('verified');
    expect(done.result).toMatchObject({ ok: true, revoked: 400, remaining: 0 });
    // Nobody saw a dry run before it ran: the worker's one listing is the impact; one bulk call did it all.
    expect(done.impact).toEqual({ userCount: 200, tokenCount: 400 });
    expect(done.progress).toEqual({ done: 1, total: 1, tokens: 400 });
    console.info(`[faults] 200 users, 400 tokens revoked and verified in ${ms} ms`);

    expect(await listTokenIds(idaas, `/applications/${IN_SCOPE_APP}/tokens`)).toEqual([]);
    expect((await listTokenIds(idaas, `/applications/${OTHER_APP}/tokens`)).sort()).toEqual(otherIds.sort());
    await expectExactlyOnce(pipe, request.id, tokenIds(inScope));
    await expectDead(idaas, sampleOf(inScope, 12));
    await expectAlive(idaas, sampleOf(others, 12));
  });

  it('rides out 20 s of 503s from the IDaaS mid-batch: every request completes, nothing is dead-lettered', {
    timeout: 70_000,
  }, async () => {
    idaas = await startIdaas({ port: 0, store: 'memory' });
    const idp = new IdaasIdentityProvider({ baseUrl: idaas.url, adminToken: idaas.adminToken });
    // Slow enough (150 offboardings ≈ 600 calls ≈ 12 s) that the outage lands mid-batch.
    pipe = await createPipeline({ idp, rateLimitPerSecond: 50 });
    const batch = await leavers(idaas, 150);
    const others = await mintGrants(idaas, OTHER_APP, 5);
    await pipe.startWorkers({ concurrency: 10 });

    const requests = await submitUsers(pipe, batch);
    const p = pipe;
    // Mid-batch: some tokens revoked, most not.
    await until(
      'first revocations',
      async () => ((await revokedInBatch(p, requests)) >= 20 ? true : undefined),
      20_000,
      20,
    );
    const outageStart = Date.now();
    idaas.setFaults({ failForMs: 20_000 });
    const atOutage = await revokedInBatch(pipe, requests);
    expect(atOutage).toBeLessThan(300);
    // A second request arrives during the outage: its plan (listing) waits the outage out too.
    const during = await submitApp(pipe, OTHER_APP);

    await expectBatchDone(pipe, requests, batch, 55_000);
    const afterOutage = Date.now() - outageStart;
    expect(afterOutage).toBeGreaterThanOrEqual(20_000);
    const second = await outcomeOf(pipe, during.id, 30_000);
    expect(second.state).toBe('verified');
    const stats = idaas.stats();
    expect(stats.failed).toBeGreaterThan(0);
    console.info(
      `[faults] 503 for 20 s: ${atOutage}/300 revoked when it began; batch verified ${afterOutage} ms after it began; ` +
        `second request verified ${Date.now() - outageStart} ms after; ${stats.failed} calls answered 503`,
    );

    expect(await deadLetterCount(pipe)).toBe(0);
    expect(await pipe.queues.idpCalls.getFailedCount()).toBe(0);
    expect(await listTokenIds(idaas, `/applications/${IN_SCOPE_APP}/tokens`)).toEqual([]);
    expect(await listTokenIds(idaas, `/applications/${OTHER_APP}/tokens`)).toEqual([]);
    await expectExactlyOnce(pipe, during.id, tokenIds(others));
  });

  it('keeps under the IDaaS rate limit: ≤ 2 % of calls answered 429', { timeout: 60_000 }, async () => {
    idaas = await startIdaas({ port: 0, store: 'memory' });
    const idp = new IdaasIdentityProvider({ baseUrl: idaas.url, adminToken: idaas.adminToken });
    // One budget for the intake and every worker (two sets, as two processes would run): 50/s between them.
    pipe = await createPipeline({ idp, rateLimitPerSecond: 50 });
    const batch = await leavers(idaas, 100);
    await pipe.startWorkers({ concurrency: 10, workerName: 'rate-a' });
    await pipe.startWorkers({ concurrency: 10, workerName: 'rate-b' });
    idaas.setFaults({ rateLimitPerSecond: 50 });
    const before = idaas.stats();

    const started = Date.now();
    const requests = await submitUsers(pipe, batch);
    await expectBatchDone(pipe, requests, batch, 45_000);
    // From the first submit to the last request verified (the checks above take their own time).
    const finished = await pipe.store.getMany(requests.map((r) => r.id));
    const ms = Math.max(...finished.map((r) => Date.parse(r.updatedAt))) - started;
    const after = idaas.stats();
    const calls = after.calls - before.calls;
    const limited = after.rateLimited - before.rateLimited;
    const accepted = calls - limited;
    console.info(
      `[faults] rate limit 50/s: ${calls} admin calls, ${limited} answered 429 ` +
        `(${((100 * limited) / calls).toFixed(2)} %), ${accepted} served in ${ms} ms ` +
        `= ${((accepted * 1000) / ms).toFixed(1)}/s`,
    );
    // Four calls per offboarding: the name shown, one listing, one bulk revoke, one verifying listing.
    expect(accepted).toBe(4 * 100);
    expect(limited / calls).toBeLessThanOrEqual(0.02);
    // How much of the allowed rate is used (DESIGN §8: ≥ 95 %) is a throughput figure, measured by
    // `npm run bench -- pipeline` (part b, "served ÷ allowed rate") and bench/mass-offboarding.bench.ts
    // at scale, not asserted here: on a loaded machine a floor would fail for reasons that are not Revoker's.
    idaas.setFaults({ rateLimitPerSecond: null });
    expect(await listTokenIds(idaas, `/applications/${IN_SCOPE_APP}/tokens`)).toEqual([]);
  });

  it('the same request submitted 10 times concurrently runs once against the IDaaS', {
    timeout: 30_000,
  }, async () => {
    idaas = await startIdaas({ port: 0, store: 'memory' });
    const proxy = await countingProxy(idaas.url);
    cleanups.push(() => proxy.close());
    pipe = await createPipeline({
      idp: new IdaasIdentityProvider({ baseUrl: proxy.url, adminToken: idaas.adminToken }),
    });
    const minted = await mintGrants(idaas, IN_SCOPE_APP, 20);
    await pipe.startWorkers({ concurrency: 10 });

    const p = pipe;
    const results = await Promise.all(
      Array.from({ length: 10 }, () => submitApp(p, IN_SCOPE_APP, 'cli:leak-42')),
    );
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    const done = await outcomeOf(pipe, results[0]!.id, 20_000);
    expect(done.state).toBe('verified');
    expect(done.result).toMatchObject({ ok: true, revoked: 40, remaining: 0 });
    // One bulk DELETE for the application: nothing ran twice.
    expect(proxy.counts.get('DELETE admin')).toBe(1);
    const entries = await pipe.auditEntries();
    for (const action of ['request.created', 'request.queued', 'request.started', 'request.verified']) {
      expect(entries.filter((e) => e.action === action)).toHaveLength(1);
    }
    await expectExactlyOnce(pipe, done.id, tokenIds(minted));
    expect(await listTokenIds(idaas, `/applications/${IN_SCOPE_APP}/tokens`)).toEqual([]);
  });
});
