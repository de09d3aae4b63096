/**
 * The revocation pipeline under load (DESIGN §8), each figure beside a baseline from this run:
 *
 * (a) throughput: one request (scope `user`) whose plan fans out to N token steps, through the real
 *     intake, queues, workers, request store and hash-chained audit log, with a zero-latency IdP; jobs/s
 *     from submit to `verified`, against a bare BullMQ no-op worker doing the same number of jobs.
 *     Target ≥ 0.5 of the bare worker. Checked every round: every token `token.revoked` exactly once,
 *     chain verifies, request verified.
 * (b) rate limit: the embedded IDaaS limited to 50 admin calls/s, one budget of 50/s for every IdP call
 *     (intake and workers), user offboardings (4 calls each) for 20 s;
 *     achieved calls/s ÷ 50 (target ≥ 0.95) and the share answered 429 (target ≤ 2 %), from the IDaaS's
 *     own counters; the baseline is the limit itself.
 *
 * The worker's memory over 100,000 jobs is bench/worker-memory.bench.ts (it alone takes a minute or two).
 * `BENCH_PIPELINE_PARTS=a` or `=b` runs one part. Sizes: BENCH_PIPELINE_TOKENS, BENCH_PIPELINE_ROUNDS,
 * BENCH_PIPELINE_CONCURRENCY, BENCH_PIPELINE_RATE_SECONDS.
 */
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Target } from '../src/domain/target.ts';
import { startIdaas } from '../src/idaas/index.ts';
import { IdaasIdentityProvider } from '../src/identity/adapters/idaas.ts';
import type { RevokeResult } from '../src/identity/port.ts';
import { MemoryIdp } from '../test/helpers/memory-idp.ts';
import { createPipeline } from '../test/helpers/pipeline.ts';
import { connectRedis, deleteKeys, randomPrefix } from '../test/helpers/redis.ts';
import { print429Share, printFigure, printHeader } from './lib.ts';

const PARTS = (process.env.BENCH_PIPELINE_PARTS ?? 'a,b').split(',').map((p) => p.trim());
const TOKENS = Number(process.env.BENCH_PIPELINE_TOKENS ?? 10_000);
/** Rounds of (bare, pipeline) in (a); the median of each is printed, so one noisy round does not decide. */
const ROUNDS = Number(process.env.BENCH_PIPELINE_ROUNDS ?? 5);
const RATE_LIMIT = 50;
const RATE_SECONDS = Number(process.env.BENCH_PIPELINE_RATE_SECONDS ?? 20);

/** Concurrency of the `idp-calls` worker and of the bare worker it is compared with. */
const CONCURRENCY = Number(process.env.BENCH_PIPELINE_CONCURRENCY ?? 10);

/**
 * MemoryIdp with token steps looked up by id: MemoryIdp scans every token on each call, which at
 * 10,000 tokens would make the IdP, not the pipeline, the cost being measured.
 */
class IndexedMemoryIdp extends MemoryIdp {
  override async revoke(step: Target): Promise<RevokeResult> {
    if (step.kind !== 'token') return super.revoke(step);
    const token = this.tokens.get(step.tokenId);
    if (!token || token.userId !== step.userId || this.failNext.length > 0) return super.revoke(step);
    this.revokeCalls++;
    this.tokens.delete(step.tokenId);
    return { revoked: [{ id: token.id, userId: token.userId }] };
  }
}

/** Same retention as the pipeline's own jobs (revocation-queues.ts), so Redis does the same work. */
const KEEP = {
  removeOnComplete: { age: 24 * 3600, count: 20_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 20_000 },
};

/** Seconds for a bare BullMQ no-op worker to take `jobs` jobs from `addBulk` to completed. */
async function bareWorkerSeconds(redis: Redis, jobs: number, concurrency: number): Promise<number> {
  const prefix = randomPrefix('bench-bare');
  const queue = new Queue('bare', { connection: redis, prefix });
  let completed = 0;
  let finish: () => void = () => undefined;
  const allDone = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const worker = new Worker('bare', async () => undefined, { connection: redis, prefix, concurrency });
  worker.on('completed', () => {
    if (++completed === jobs) finish();
  });
  try {
    await worker.waitUntilReady();
    const started = process.hrtime.bigint();
    for (let i = 0; i < jobs; i += 1000) {
      const n = Math.min(1000, jobs - i);
      await queue.addBulk(
        Array.from({ length: n }, (_, k) => ({
          name: 'noop',
          data: { requestId: 'bench', step: { kind: 'token', userId: 'u', tokenId: `t${i + k}` } },
          opts: { ...KEEP, jobId: `bench.s.${i + k}`, attempts: 25 },
        })),
      );
    }
    await allDone;
    return Number(process.hrtime.bigint() - started) / 1e9;
  } finally {
    await worker.close();
    await queue.close();
    await deleteKeys(redis, prefix);
  }
}

/** Seconds from submit to `verified` of one request fanning out to `tokens` token steps. */
async function pipelineSeconds(tokens: number, concurrency: number): Promise<number> {
  const idp = new IndexedMemoryIdp();
  const userId = 'usr_bench';
  idp.addUser(userId);
  idp.addUser('usr_other');
  for (let i = 0; i < tokens; i++) idp.addToken(userId, 'app-bench');
  idp.addToken('usr_other', 'app-bench');
  const pipe = await createPipeline({ idp });
  try {
    // No limiter worth the name: this measures the pipeline's own cost per job.
    await pipe.startWorkers({ concurrency });
    const started = process.hrtime.bigint();
    const { request } = await pipe.intake.submit({
      target: { kind: 'user', userId },
      reason: 'bench',
      requestedBy: { source: 'cli', id: 'bench' },
      source: 'cli',
    });
    const done = await pipe.intake.waitForOutcome(request.id, 600_000);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    // The figure only counts if the pipeline did its job: every token revoked and audited exactly once.
    if (done.state !== 'verified') throw new Error(`request ended ${done.state}: ${done.result?.error}`);
    const audited = new Map<string, number>();
    for await (const e of pipe.audit.entries({ requestId: request.id })) {
      if (e.action !== 'token.revoked') continue;
      const id = String(e.detail?.tokenId);
      audited.set(id, (audited.get(id) ?? 0) + 1);
    }
    const twice = [...audited.values()].filter((n) => n !== 1).length;
    const chain = await pipe.audit.verify();
    if (audited.size !== tokens || twice > 0 || !chain.ok || done.result?.revoked !== tokens) {
      throw new Error(
        `pipeline check failed: ${audited.size}/${tokens} tokens audited, ${twice} more than once, ` +
          `chain ${chain.ok ? 'ok' : 'broken'}, result.revoked ${done.result?.revoked}`,
      );
    }
    if (idp.tokens.size !== 1) throw new Error(`${idp.tokens.size - 1} tokens of the user are still alive`);
    return seconds;
  } finally {
    await pipe.close();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function throughput(): Promise<void> {
  printHeader(
    `pipeline (a): one request → ${TOKENS} token steps, submit → verified, vs bare BullMQ no-op worker ` +
      `(concurrency ${CONCURRENCY}, median of ${ROUNDS} rounds)`,
  );
  const redis = connectRedis();
  try {
    // Warm-up (JIT, Lua script cache, connections) on a small run of each, not measured.
    await bareWorkerSeconds(redis, 500, CONCURRENCY);
    await pipelineSeconds(500, CONCURRENCY);
    const bare: number[] = [];
    const pipeline: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      bare.push(TOKENS / (await bareWorkerSeconds(redis, TOKENS, CONCURRENCY)));
      pipeline.push(TOKENS / (await pipelineSeconds(TOKENS, CONCURRENCY)));
    }
    const ratios = pipeline.map((rate, i) => rate / bare[i]!);
    printFigure({
      name: 'pipeline jobs/s',
      value: median(pipeline),
      unit: 'jobs/s',
      baseline: median(bare),
      baselineName: 'bare bullmq',
      higherIsBetter: true,
    });
    printFigure({
      name: 'pipeline ÷ bare bullmq',
      value: median(ratios),
      unit: 'x',
      baseline: 1,
      baselineName: 'bare bullmq',
      target: { op: '>=', value: 0.5 },
      higherIsBetter: true,
    });
    const list = (rates: number[]) => rates.map((r) => r.toFixed(0)).join(', ');
    process.stdout.write(
      `   rounds (jobs/s): pipeline ${list(pipeline)}; bare ${list(bare)}; ratio ${ratios.map((r) => r.toFixed(2)).join(', ')}\n` +
        '   every round: request verified, each token audited exactly once, audit chain verifies\n',
    );
  } finally {
    redis.disconnect();
  }
}

/**
 * (b) The embedded IDaaS allows 50 admin calls/s; the workers are limited to 50/s. Over a 20-s window
 * taken once the steps are running (the IDaaS's bucket starts full), count what the IDaaS served and
 * what it answered 429.
 */
async function rateLimit(): Promise<void> {
  printHeader(
    `pipeline (b): embedded IDaaS limited to ${RATE_LIMIT} admin calls/s, one shared budget of ${RATE_LIMIT}/s, ${RATE_SECONDS} s`,
  );
  const idaas = await startIdaas({ port: 0 });
  const idp = new IdaasIdentityProvider({ baseUrl: idaas.url, adminToken: idaas.adminToken });
  // Every IdP call of the intake and the workers draws from one budget of RATE_LIMIT calls/s.
  const pipe = await createPipeline({ idp, rateLimitPerSecond: RATE_LIMIT });
  try {
    // Offboardings of users holding one grant each (4 calls: name, listing, bulk revoke, verifying
    // listing), enough that the workers are still busy when the window closes.
    const users = Math.ceil((RATE_LIMIT * (RATE_SECONDS + 10)) / 4);
    const minted = [];
    for (let i = 0; i < users; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, users - i) }, async (_, k) => {
          const u = await idaas.addUser({
            userId: `rl${i + k}`,
            email: `rl${i + k}@example.com`,
            name: `RL ${i + k}`,
            password: `password-${i + k}-rl`,
          });
          return (await idaas.mintTokens({ user: u.id, application: 'expense-portal' }))[0]!;
        }),
      );
      minted.push(...batch);
    }
    await pipe.startWorkers({ concurrency: CONCURRENCY });
    idaas.setFaults({ rateLimitPerSecond: RATE_LIMIT });
    const submits = minted.map((t) =>
      pipe.intake.submit({
        target: { kind: 'user', userId: t.userId },
        reason: 'bench: rate limit',
        requestedBy: { source: 'cli', id: 'bench' },
        source: 'cli',
      }),
    );
    void Promise.allSettled(submits);
    // Start the window once calls are flowing: the IDaaS bucket's initial burst is behind us.
    while (idaas.stats().calls < 2 * RATE_LIMIT) await new Promise((r) => setTimeout(r, 50));
    const before = idaas.stats();
    const started = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, RATE_SECONDS * 1000));
    const after = idaas.stats();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const calls = after.calls - before.calls;
    const limited = after.rateLimited - before.rateLimited;
    const served = calls - limited - (after.failed - before.failed);
    const rate = served / seconds;
    printFigure({
      name: 'idaas calls served/s',
      value: rate,
      unit: 'calls/s',
      baseline: RATE_LIMIT,
      baselineName: 'allowed rate',
      higherIsBetter: true,
    });
    printFigure({
      name: 'served ÷ allowed rate',
      value: rate / RATE_LIMIT,
      unit: 'x',
      baseline: 1,
      baselineName: 'allowed rate',
      target: { op: '>=', value: 0.95 },
      higherIsBetter: true,
    });
    print429Share(calls, limited);
    process.stdout.write(
      `   ${calls} admin calls in ${seconds.toFixed(1)} s: ${served} served, ${limited} answered 429\n`,
    );
  } finally {
    idaas.setFaults({ rateLimitPerSecond: null });
    await pipe.close();
    await idaas.close();
  }
}

export default async function run(): Promise<void> {
  if (PARTS.includes('a')) await throughput();
  if (PARTS.includes('b')) await rateLimit();
}
