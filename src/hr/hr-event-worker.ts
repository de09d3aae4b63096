import { type ConnectionOptions, UnrecoverableError, Worker } from 'bullmq';
import { HrEventSchema } from './hr-event.ts';
import {
  type HrOutcome,
  type HrProcessorDeps,
  isPermanentHrError,
  processHrEvent,
} from './hr-event-processor.ts';
import { HR_EVENTS_QUEUE } from './hr-event-queue.ts';

export interface HrEventWorkerOptions extends HrProcessorDeps {
  /** BullMQ connection (needs `maxRetriesPerRequest: null`). */
  connection: ConnectionOptions;
  /** BullMQ prefix; default `deps.prefix`. */
  bullPrefix?: string;
  /** Queue name; default `hr-events`. */
  queueName?: string;
  /** Jobs in parallel; default 4 (HR events are rare; per-employee order is kept by a lock anyway). */
  concurrency?: number;
}

/** Consumes `hr-events`: one `processHrEvent` per job; permanent errors fail the job without retries. */
export function startHrEventWorker(options: HrEventWorkerOptions): Worker<unknown, HrOutcome> {
  const logger = options.logger;
  const worker = new Worker<unknown, HrOutcome>(
    options.queueName ?? HR_EVENTS_QUEUE,
    async (job) => {
      const parsed = HrEventSchema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError('job data is not an HR event');
      try {
        return await processHrEvent(parsed.data, options);
      } catch (err) {
        if (isPermanentHrError(err)) throw new UnrecoverableError((err as Error).message);
        throw err;
      }
    },
    {
      connection: options.connection,
      prefix: options.bullPrefix ?? options.prefix,
      concurrency: options.concurrency ?? 4,
    },
  );
  worker.on('failed', (job, err) => {
    logger?.warn(
      {
        jobId: job?.id,
        attempts: job?.attemptsMade,
        code: (err as { code?: string }).code,
        err: err.message,
      },
      'hr event failed',
    );
  });
  // Without a listener an 'error' event would crash the process; Redis blips are retried by BullMQ.
  worker.on('error', (err) => logger?.error({ err: err.message }, 'hr worker error'));
  return worker;
}
