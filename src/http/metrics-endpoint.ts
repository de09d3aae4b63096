import type { Queue } from 'bullmq';
import { Router } from 'express';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';

export interface MetricsEndpointOptions {
  metrics: Metrics;
  /** Queues whose job counts refresh `revoker_queue_depth` on each scrape. Default: none. */
  queueDepth?: Queue[];
  /** Bound on the job-count refresh; a slow Redis leaves the previous values. Default 2000 ms. */
  refreshTimeoutMs?: number;
  logger: Logger;
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
  router.get('/metrics', async (_req, res) => {
    await refreshQueueDepth(options, res.locals.log ?? options.logger);
    const text = await options.metrics.registry.metrics();
    res.setHeader('Content-Type', options.metrics.registry.contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.status(200).send(text);
  });
  return router;
}
