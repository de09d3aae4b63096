import type { Queue } from 'bullmq';

/**
 * Time in BullMQ without waiting for it: a job scheduled for later sits in the queue's delayed set with
 * its due time; `fireNow` checks it is there and promotes it, so the workers run it as they would at
 * that time. Tests read when it was due instead of sleeping until then.
 */
export async function delayedJob(queue: Queue, jobId: string): Promise<{ dueAt: number }> {
  const job = await queue.getJob(jobId);
  if (!job) throw new Error(`no job ${jobId} on ${queue.name}`);
  const state = await job.getState();
  if (state !== 'delayed') throw new Error(`job ${jobId} is ${state}, not delayed`);
  return { dueAt: job.timestamp + (job.opts.delay ?? 0) };
}

/** Promotes the delayed job `jobId` (see `delayedJob`) and returns when it was due. */
export async function fireNow(queue: Queue, jobId: string): Promise<{ dueAt: number }> {
  const due = await delayedJob(queue, jobId);
  await (await queue.getJob(jobId))!.promote();
  return due;
}
