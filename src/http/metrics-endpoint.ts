import { createHash, timingSafeEqual } from 'node:crypto';
import type { Queue } from 'bullmq';
import { Router } from 'express';
import type { RefusalRecorder } from '../audit/refusal-log.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { jsonError } from './errors.ts';

export interface MetricsEndpointOptions {
  metrics: Metrics;
  /** Queues whose job counts refresh `revoker_queue_depth` on each scrape. Default: none. */
  queueDepth?: Queue[];
  /** Bound on the job-count refresh; a slow Redis leaves the previous values. Default 2000 ms. */
  refreshTimeoutMs?: number;
  logger: Logger;
  /** METRICS_TOKEN: scrapes must send `Authorization: Bearer <token>`. Default: none (open). */
  token?: string;
  /** Refused scrapes are counted here per minute (`metrics.rejected`). */
  refusals?: RefusalRecorder;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time bearer check (hashes first so lengths never differ). */
function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return timingSafeEqual(digest(match?.[1] ?? ''), expected) && match !== null;
}

/** Refreshes the queue-depth gauge from BullMQ; failures keep the last values and are logged. */
async function refreshQueueDepth(options: MetricsEndpointOptions, log: Logger): Promise<void> {
  const queues = options.queueDepth ?? [];
  if (queues.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), options.refreshTimeoutMs ?? 2000);
    timer.unref();
  });
  const refresh = Promise.allSettled(
    queues.map(async (queue) => {
      const counts = await queue.getJobCounts();
      for (const [state, count] of Object.entries(counts)) {
        options.metrics.queueDepth.set({ queue: queue.name, state }, count);
      }
    }),
  );
  const outcome = await Promise.race([refresh, timeout]).finally(() => clearTimeout(timer));
  if (outcome === 'timeout') {
    log.warn('queue depth refresh timed out');
    return;
  }
  for (const result of outcome) {
    if (result.status === 'rejected') log.warn({ err: result.reason }, 'queue depth refresh failed');
  }
}

/** `GET /metrics`: Prometheus text of the process registry, queue depth refreshed first. */
export function metricsRouter(options: MetricsEndpointOptions): Router {
  const router = Router();
  const expected = options.token === undefined ? undefined : digest(options.token);
  router.get('/metrics', async (req, res) => {
    if (expected && !bearerMatches(req.headers.authorization, expected)) {
      // Counts of revocations by source and scope tell when offboardings happen: not for anyone asking.
      options.refusals?.record({
        action: 'metrics.rejected',
        actor: { source: 'metrics', id: 'unverified' },
        reason: req.headers.authorization ? 'token_invalid' : 'token_missing',
      });
      res.setHeader('WWW-Authenticate', 'Bearer realm="revoker-metrics"');
      res.setHeader('Cache-Control', 'no-store');
      jsonError(res, 401, 'unauthorized', 'a bearer token is required');
      return;
    }
    await refreshQueueDepth(options, res.locals.log ?? options.logger);
    const text = await options.metrics.registry.metrics();
    res.setHeader('Content-Type', options.metrics.registry.contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.status(200).send(text);
  });
  return router;
}
