/**
 * A worker process for the memory figure of bench/pipeline.bench.ts, so its RSS is the worker's alone.
 * `BENCH_CHILD_MODE=pipeline`: the real PipelineWorkers (request store, queues, hash-chained audit log)
 * with the zero-latency NoopIdp, on `BENCH_CHILD_PREFIX`; the parent submits requests through the real
 * intake. `BENCH_CHILD_MODE=bare`: a BullMQ no-op worker on queue `bare` of that prefix.
 *
 * IPC to the parent: `{ type: 'ready' }`, then `{ type: 'rss', jobs, rss, heapUsed }` each time the jobs
 * done reach a multiple of `BENCH_CHILD_EVERY` (RSS as it is; heap used after a full GC when run with
 * --expose-gc). On `{ type: 'stop' }` it closes and exits.
 */
import { Worker } from 'bullmq';
import { RedisAuditLog } from '../../src/audit/redis-audit-log.ts';
import { RedisRequestStore } from '../../src/intake/request-store.ts';
import { silentLogger } from '../../src/log.ts';
import { createMetrics } from '../../src/metrics.ts';
import { PipelineWorkers } from '../../src/queue/pipeline-workers.ts';
import { RevocationQueues } from '../../src/queue/revocation-queues.ts';
import { connectRedis } from '../../test/helpers/redis.ts';
import { NoopIdp } from './noop-idp.ts';

export interface ChildRss {
  type: 'rss';
  jobs: number;
  rss: number;
  heapUsed: number;
  /** Before the GC: V8's heap as reserved, and memory outside it (Buffers, native) — where RSS goes. */
  heapTotal: number;
  external: number;
}
export type ChildMessage = { type: 'ready' } | ChildRss;

const mode = process.env.BENCH_CHILD_MODE;
const prefix = process.env.BENCH_CHILD_PREFIX;
const every = Number(process.env.BENCH_CHILD_EVERY ?? 25_000);
const concurrency = Number(process.env.BENCH_CHILD_CONCURRENCY ?? 10);
if ((mode !== 'pipeline' && mode !== 'bare') || !prefix) {
  throw new Error('BENCH_CHILD_MODE (pipeline|bare) and BENCH_CHILD_PREFIX are required');
}
const send = (message: ChildMessage) => process.send?.(message);

let jobs = 0;
function jobDone(): void {
  if (++jobs % every !== 0) return;
  const { rss, heapTotal, external } = process.memoryUsage();
  // Heap after a full GC (the parent starts us with --expose-gc): what is really kept, i.e. a leak signal.
  (globalThis as { gc?: () => void }).gc?.();
  send({ type: 'rss', jobs, rss, heapTotal, external, heapUsed: process.memoryUsage().heapUsed });
}

const redis = connectRedis();
let close: () => Promise<void>;
if (mode === 'pipeline') {
  const idp = new NoopIdp(Number(process.env.BENCH_CHILD_TOKENS_PER_USER ?? 1000));
  const revoke = idp.revoke.bind(idp);
  // A step's IdP call is its job's one revoke; counted when it returns.
  idp.revoke = async (step) => {
    const result = await revoke(step);
    jobDone();
    return result;
  };
  const queues = new RevocationQueues({ connection: redis, prefix });
  const workers = new PipelineWorkers({
    connection: redis,
    prefix,
    store: new RedisRequestStore({ redis, prefix }),
    queues,
    idp,
    audit: new RedisAuditLog({ redis, prefix }),
    notifier: { notify: async () => undefined },
    metrics: createMetrics(),
    logger: silentLogger,
    concurrency,
    reconcileIntervalMs: 0,
  });
  await workers.start();
  close = async () => {
    await workers.close(5000);
    await queues.close();
  };
} else {
  const worker = new Worker('bare', async () => undefined, { connection: redis, prefix, concurrency });
  worker.on('completed', jobDone);
  await worker.waitUntilReady();
  close = () => worker.close();
}

process.on('message', (message: { type?: string }) => {
  if (message.type !== 'stop') return;
  void close()
    .catch(() => undefined)
    .finally(() => {
      redis.disconnect();
      process.exit(0);
    });
});
send({ type: 'ready' });
