import { type ConnectionOptions, UnrecoverableError, Worker } from 'bullmq';
import { type HrEvent, HrEventSchema, sanitizeHrEvent } from './hr-event.ts';
import {
  type HrOutcome,
  type HrProcessorDeps,
  isPermanentHrError,
  processHrEvent,
} from './hr-event-processor.ts';
import { HR_EVENTS_QUEUE, hrRetryDelayMs } from './hr-event-queue.ts';

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
      const parsed = HrEventSchema.transform(sanitizeHrEvent).safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError('job data is not an HR event');
      try {
        return await processHrEvent(parsed.data, options);
      } catch (err) {
        const permanent = isPermanentHrError(err);
        const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        // Acknowledged to the vendor, so this job is the only copy: its end is audited and announced.
        if (permanent || last) await failedForGood(parsed.data, err, options);
        if (permanent) throw new UnrecoverableError((err as Error).message);
        throw err;
      }
    },
    {
      connection: options.connection,
      prefix: options.bullPrefix ?? options.prefix,
      concurrency: options.concurrency ?? 4,
      // Jobs use `backoff: {type: 'hr'}` (createHrEventQueue): 1 s doubling, capped at 15 minutes.
      settings: { backoffStrategy: (attemptsMade: number) => hrRetryDelayMs(attemptsMade) },
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

async function failedForGood(event: HrEvent, err: unknown, deps: HrEventWorkerOptions): Promise<void> {
  const code = (err as { code?: string }).code ?? 'unknown';
  const reason = `${(err as Error).message ?? 'failed'} (${code})`.slice(0, 300);
  try {
    const entry = await deps.audit.append(
      {
        action: 'webhook.event_failed',
        actor: { source: 'hr', id: event.source },
        detail: {
          source: event.source,
          employeeId: event.employeeId,
          eventId: event.eventId,
          reason: reason.slice(0, 200),
          retrying: false,
        },
      },
      { dedupeKey: `hr.failed.${event.source}.${event.eventId}` },
    );
    if (entry)
      await deps.notifier.notify({
        type: 'hr.event_failed',
        source: event.source,
        employeeId: event.employeeId,
        eventId: event.eventId,
        reason,
        final: true,
      });
  } catch (auditErr) {
    deps.logger?.error({ err: (auditErr as Error).message }, 'could not audit a failed HR event');
  }
}
