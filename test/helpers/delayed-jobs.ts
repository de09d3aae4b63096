import type { Queue } from 'bullmq';
import { connectRedis } from './redis.ts';
import { until } from './wait.ts';

/**
 * Time in BullMQ without waiting for it: a job scheduled for later sits in the queue's delayed set,
 * scored by its due time. Tests read when it is due (`dueAt`) instead of sleeping until then, and
 * `fireNow` promotes it so the workers run it as they would at that time.
 */

/** When the delayed job `jobId` is due (ms), or undefined while it is not in the delayed set. */
export async function dueAt(queue: Queue, jobId: string): Promise<number | undefined> {
  const redis = connectRedis();
  try {
    // Score = due time × 0x1000 + a counter (BullMQ getDelayedScore.lua); changeDelay moves the score,
    // not the job's own timestamp/delay, so this is the one place the due time is always right.
    const score = await redis.zscore(queue.keys.delayed!, jobId);
    return score === null ? undefined : Math.floor(Number(score) / 0x1000);
  } finally {
    redis.disconnect();
  }
}

/** Waits for `jobId` to be in the delayed set (it is added just after the state it belongs to). */
export async function delayedJob(queue: Queue, jobId: string): Promise<{ dueAt: number }> {
  const at = await until(`${jobId} delayed on ${queue.name}`, () => dueAt(queue, jobId));
  return { dueAt: at };
}

/** Promotes the delayed job `jobId` (see `delayedJob`) and returns when it was due. */
export async function fireNow(queue: Queue, jobId: string): Promise<{ dueAt: number }> {
  const due = await delayedJob(queue, jobId);
  await (await queue.getJob(jobId))!.promote();
  return due;
}
