/**
 * Worker memory (DESIGN §8): a worker process fed 100,000 jobs through the real queues, its RSS printed
 * at 25k/50k/75k/100k beside a bare BullMQ no-op worker process fed the same number of jobs in this run.
 * Each worker runs in its own child process (support/worker-child.ts), so RSS is the worker's alone.
 *
 * - pipeline: the real PipelineWorkers (request store, queues, hash-chained audit log) with a zero-latency
 *   IdP that keeps nothing (support/noop-idp.ts); this process submits requests of 1,000 token steps
 *   each through the real intake, a few ahead of the worker.
 * - bare: a BullMQ Worker whose processor does nothing, fed with addBulk a few thousand jobs ahead.
 *
 * Targets: ≤ 250 MB at every mark, and not growing: RSS at the last mark ≤ 1.15 × RSS at the first.
 * Also printed: heap used after a full GC at each mark (the leak signal RSS blurs).
 * Size: BENCH_MEMORY_JOBS (default 100,000); BENCH_MEMORY_CONCURRENCY (default 10).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createPipeline } from '../test/helpers/pipeline.ts';
import { connectRedis, deleteKeys, randomPrefix } from '../test/helpers/redis.ts';
import { printFigure, printHeader } from './lib.ts';
import { NoopIdp } from './support/noop-idp.ts';
import type { ChildMessage, ChildRss } from './support/worker-child.ts';

const MEMORY_JOBS = Number(process.env.BENCH_MEMORY_JOBS ?? 100_000);
const CONCURRENCY = Number(process.env.BENCH_MEMORY_CONCURRENCY ?? 10);
const MEMORY_TOKENS_PER_REQUEST = 1000;
const MB = 1024 * 1024;

/** Same retention as the pipeline's own jobs (revocation-queues.ts), so Redis does the same work. */
const KEEP = {
  removeOnComplete: { age: 24 * 3600, count: 20_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 20_000 },
};

/**
 * The V8 flags `npm start` runs the service with (package.json `scripts.start`), read from there so the
 * bench measures what is deployed; BENCH_MEMORY_NODE_FLAGS tries others.
 */
const DEPLOYED_NODE_FLAGS = process.env.BENCH_MEMORY_NODE_FLAGS
  ? process.env.BENCH_MEMORY_NODE_FLAGS.split(' ')
  : (
      JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
        scripts: { start: string };
      }
    ).scripts.start
      .split(/\s+/)
      .filter((arg) => arg.startsWith('--max-'));

const CHILD = fileURLToPath(new URL('./support/worker-child.ts', import.meta.url));

interface Child {
  process: ChildProcess;
  samples: ChildRss[];
  /** Resolves when the child has reported `jobs` done. */
  reached(jobs: number): Promise<void>;
  stop(): Promise<void>;
}

async function startChild(mode: 'pipeline' | 'bare', prefix: string): Promise<Child> {
  const child = fork(CHILD, [], {
    // As deployed (README "Deploying"): otherwise Node 24 sizes its heap from the machine's memory.
    execArgv: ['--import', 'tsx', '--expose-gc', ...DEPLOYED_NODE_FLAGS],
    env: {
      ...process.env,
      BENCH_CHILD_MODE: mode,
      BENCH_CHILD_PREFIX: prefix,
      BENCH_CHILD_EVERY: String(MEMORY_JOBS / 4),
      BENCH_CHILD_CONCURRENCY: String(CONCURRENCY),
      BENCH_CHILD_TOKENS_PER_USER: String(MEMORY_TOKENS_PER_REQUEST),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const samples: ChildRss[] = [];
  const waiters: { jobs: number; resolve: () => void; reject: (err: Error) => void }[] = [];
  let stopping = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => {
      const err = new Error(`${mode} worker child exited with ${code}`);
      reject(err);
      if (!stopping) for (const w of waiters) w.reject(err);
    });
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'ready') resolve();
      if (message.type !== 'rss') return;
      samples.push(message);
      for (const w of waiters.filter((w) => w.jobs <= message.jobs)) w.resolve();
    });
  });
  await ready;
  return {
    process: child,
    samples,
    reached: (jobs) =>
      samples.some((s) => s.jobs >= jobs)
        ? Promise.resolve()
        : new Promise((resolve, reject) => waiters.push({ jobs, resolve, reject })),
    async stop() {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The real worker process fed MEMORY_JOBS steps: requests of 1,000 tokens each through the intake. */
async function pipelineChildRss(): Promise<ChildRss[]> {
  const pipe = await createPipeline({ idp: new NoopIdp(MEMORY_TOKENS_PER_REQUEST) });
  const child = await startChild('pipeline', pipe.prefix);
  try {
    const requests = Math.ceil(MEMORY_JOBS / MEMORY_TOKENS_PER_REQUEST);
    const inFlight = new Set<Promise<void>>();
    for (let i = 0; i < requests; i++) {
      const { request } = await pipe.intake.submit({
        target: { kind: 'user', userId: `u_${i}` },
        reason: 'bench: memory',
        requestedBy: { source: 'cli', id: 'bench' },
        source: 'cli',
      });
      const done: Promise<void> = pipe.intake.waitForOutcome(request.id, 300_000).then((rec) => {
        inFlight.delete(done);
        if (rec.state !== 'verified') throw new Error(`request ${rec.id} ended ${rec.state}`);
      });
      inFlight.add(done);
      // A few requests ahead of the worker, so it never waits and Redis never holds 100,000 jobs.
      if (inFlight.size >= 3) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    await child.reached(MEMORY_JOBS);
    return child.samples;
  } finally {
    await child.stop();
    await pipe.close();
  }
}

/** A bare BullMQ no-op worker process fed MEMORY_JOBS jobs with addBulk, a few thousand ahead. */
async function bareChildRss(redis: Redis): Promise<ChildRss[]> {
  const prefix = randomPrefix('bench-bare-mem');
  const queue = new Queue('bare', { connection: redis, prefix });
  const child = await startChild('bare', prefix);
  try {
    for (let i = 0; i < MEMORY_JOBS; i += 1000) {
      while ((await queue.getWaitingCount()) > 3000) await new Promise((r) => setTimeout(r, 20));
      const n = Math.min(1000, MEMORY_JOBS - i);
      await queue.addBulk(
        Array.from({ length: n }, (_, k) => ({
          name: 'noop',
          data: { requestId: 'bench', step: { kind: 'token', userId: 'u', tokenId: `t${i + k}` } },
          opts: { ...KEEP, jobId: `bench.s.${i + k}`, attempts: 25 },
        })),
      );
    }
    await child.reached(MEMORY_JOBS);
    return child.samples;
  } finally {
    await child.stop();
    await queue.close();
    await deleteKeys(redis, prefix);
  }
}

export default async function run(): Promise<void> {
  printHeader(
    `worker memory: worker process RSS over ${MEMORY_JOBS} jobs (real workers + zero-latency IdP) vs bare BullMQ worker process`,
  );
  const redis = connectRedis();
  try {
    let started = Date.now();
    const bare = await bareChildRss(redis);
    const bareSeconds = (Date.now() - started) / 1000;
    started = Date.now();
    const pipeline = await pipelineChildRss();
    const pipelineSeconds = (Date.now() - started) / 1000;
    for (const [i, sample] of pipeline.entries()) {
      const base = bare[i];
      printFigure({
        name: `worker RSS after ${(sample.jobs / 1000).toFixed(0)}k jobs`,
        value: sample.rss / MB,
        unit: 'MB',
        baseline: (base?.rss ?? 0) / MB,
        baselineName: 'bare bullmq',
        target: { op: '<=', value: 250 },
        higherIsBetter: false,
      });
    }
    // Growth as last mark ÷ first mark: 1 = flat.
    const growth = (samples: ChildRss[]) =>
      samples.length < 2 ? 1 : samples[samples.length - 1]!.rss / samples[0]!.rss;
    printFigure({
      name: `RSS ${(pipeline.at(-1)?.jobs ?? 0) / 1000}k ÷ RSS ${(pipeline[0]?.jobs ?? 0) / 1000}k`,
      value: growth(pipeline),
      unit: 'x',
      baseline: growth(bare),
      baselineName: 'bare bullmq',
      target: { op: '<=', value: 1.15 },
      higherIsBetter: false,
    });
    const heap = (samples: ChildRss[]) => samples.map((s) => (s.heapUsed / MB).toFixed(0)).join('/');
    const split = (samples: ChildRss[]) =>
      samples.map((s) => `${(s.heapTotal / MB).toFixed(0)}+${(s.external / MB).toFixed(0)}`).join('/');
    process.stdout.write(
      `   heap used after GC (MB) at each mark: pipeline ${heap(pipeline)}; bare ${heap(bare)}. ` +
        `V8 heap total + external (MB) before GC: pipeline ${split(pipeline)}; bare ${split(bare)}. ` +
        `${MEMORY_JOBS} jobs in ${pipelineSeconds.toFixed(0)} s (pipeline), ${bareSeconds.toFixed(0)} s (bare)\n`,
    );
  } finally {
    redis.disconnect();
  }
}
