import { type ConnectionOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { confirmReplicated, durabilityMark } from '../redis/durability.ts';
import { sha256Hex } from './crypto.ts';
import type { HrEvent } from './hr-event.ts';
import { MAX_REDELIVERY_SPAN_MS } from './replay-windows.ts';

export const HR_EVENTS_QUEUE = 'hr-events';
/**
 * Completed jobs (and their delivery markers) are kept this long: a re-delivery within it enqueues
 * nothing. Twice the longest vendor redelivery span (src/hr/replay-windows.ts), so markers outlive it.
 */
export const HR_DEDUPE_TTL_SECONDS = Math.ceil((2 * MAX_REDELIVERY_SPAN_MS) / 1000);

/** Longest wait between two attempts of an HR job (a vendor or IdP outage is retried this often). */
export const HR_RETRY_CAP_MS = 15 * 60_000;

/** Delay before attempt `attemptsMade + 1`: 1 s doubling, capped at 15 minutes. */
export function hrRetryDelayMs(attemptsMade: number): number {
  return Math.min(HR_RETRY_CAP_MS, 1000 * 2 ** Math.max(0, attemptsMade - 1));
}

/**
 * Attempts an HR job gets: enough for the delays to span the longest vendor redelivery span, so a
 * lookup outage (or refused credentials, fixed meanwhile) is retried as long as the vendor would have
 * retried its delivery — the delivery was acknowledged, so the job is the only copy.
 */
export const HR_JOB_ATTEMPTS = (() => {
  let n = 1;
  for (let spent = 0; spent < MAX_REDELIVERY_SPAN_MS; n++) spent += hrRetryDelayMs(n);
  return n;
})();

/**
 * How long delivery markers (and completed jobs, whose ids also refuse repeats) are kept: never shorter
 * than the replay window, so a delivery inside the window is always recognised as a repeat.
 */
export function dedupeTtlSeconds(replayWindowMs: number): number {
  return Math.max(HR_DEDUPE_TTL_SECONDS, Math.ceil((2 * replayWindowMs) / 1000));
}

export interface HrEventQueueOptions {
  /** ioredis instance or options; BullMQ needs `maxRetriesPerRequest: null` for workers. */
  connection: ConnectionOptions;
  /** BullMQ key prefix (REVOKER_PREFIX); default `revoker`. */
  prefix?: string;
  /** Queue name; default `hr-events`. */
  name?: string;
  /** How long completed jobs stay (their ids refuse repeats); default `HR_DEDUPE_TTL_SECONDS`. */
  dedupeTtlSeconds?: number;
}

export type HrEventQueue = Queue<HrEvent, unknown, string>;

export function createHrEventQueue(options: HrEventQueueOptions): HrEventQueue {
  return new Queue<HrEvent, unknown, string>(options.name ?? HR_EVENTS_QUEUE, {
    connection: options.connection,
    prefix: options.prefix ?? 'revoker',
    defaultJobOptions: {
      // Transient IdP / vendor faults and refused credentials: retried across the vendor's redelivery
      // span (the worker's backoffStrategy applies hrRetryDelayMs).
      attempts: HR_JOB_ATTEMPTS,
      backoff: { type: 'hr' },
      removeOnComplete: { age: options.dedupeTtlSeconds ?? HR_DEDUPE_TTL_SECONDS },
      removeOnFail: { age: 14 * 86_400 },
    },
  });
}

/**
 * The dedupe key of an event, also its BullMQ job id and the intake idempotency key's suffix:
 * `<source>.<vendor event id>` (hashed when the id has characters BullMQ ids may not hold, e.g. `:`).
 */
export function hrDedupeKey(event: Pick<HrEvent, 'source' | 'eventId'>): string {
  const id = /^[A-Za-z0-9_.-]{1,100}$/.test(event.eventId) ? event.eventId : sha256Hex(event.eventId);
  return `${event.source}.${id}`;
}

export type EnqueueStatus = 'accepted' | 'duplicate';

/**
 * Durably enqueues `event` once. The job id is the dedupe key, so BullMQ itself refuses a second job
 * for a repeated delivery (even from concurrent requests); a `SET NX` marker beside it only tells the
 * caller which answer to give. Resolves after Redis (and the replicas `REDIS_MIN_REPLICAS_ACK` asks for)
 * acknowledged both.
 */
export async function enqueueHrEvent(
  queue: HrEventQueue,
  event: HrEvent,
  ttlSeconds = HR_DEDUPE_TTL_SECONDS,
): Promise<EnqueueStatus> {
  const jobId = hrDedupeKey(event);
  // BullMQ 6 types its client as its own IRedisClient (ioredis, node-redis or Bun); ours is ioredis.
  const client = (await queue.getBackend().client) as unknown as Redis;
  const marker = `${queue.opts.prefix ?? 'bull'}:${queue.name}:delivery:${jobId}`;
  const mark = durabilityMark(client);
  // Sent together on one connection (the SET first, so Redis runs it first): the delivery waits one
  // round trip instead of two (this is the webhook intake's hot path). Always add, even when the marker
  // existed: a first attempt may have set it and then failed to add. Either failing fails the delivery
  // (503, the vendor retries; the job id keeps a retry from adding a second job).
  const [first] = await Promise.all([
    client.set(marker, '1', 'EX', ttlSeconds, 'NX'),
    queue.add(event.kind, event, { jobId }),
  ]);
  // The vendor is about to hear 202: the job must survive a failover (REDIS_MIN_REPLICAS_ACK).
  await confirmReplicated(client, mark);
  return first === 'OK' ? 'accepted' : 'duplicate';
}
