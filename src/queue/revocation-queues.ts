import { FlowProducer, type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type Target, targetKey } from '../domain/target.ts';
import type { DeadLetterJob, IdpCallJob, RequestJob } from './job-schemas.ts';
import { JOB, jobIds, QUEUE } from './names.ts';

export interface RevocationQueuesOptions {
  /** ioredis connection with `maxRetriesPerRequest: null`; shared by the queues (not closed by us). */
  connection: Redis;
  /** BullMQ key prefix; Revoker's REVOKER_PREFIX. */
  prefix: string;
  /** Attempts for IdP calls before they are dead-lettered. Default 25 (with capped backoff: minutes of outage). */
  idpCallAttempts?: number;
}

/** Completed jobs are kept a day (bounded), failed ones a week, so people can look at them. */
const KEEP: Pick<JobsOptions, 'removeOnComplete' | 'removeOnFail'> = {
  removeOnComplete: { age: 24 * 3600, count: 20_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 20_000 },
};

/** Lifecycle jobs: few attempts are needed, but a crash must never lose one. */
const LIFECYCLE: JobsOptions = {
  ...KEEP,
  attempts: 25,
  backoff: { type: 'revoker' },
};

/**
 * The queues of the pipeline and the operations the intake and the workers need on them.
 * Every job id derives from the request id (names.ts), so each operation is idempotent.
 */
export class RevocationQueues {
  readonly revocations: Queue<RequestJob>;
  readonly idpCalls: Queue<IdpCallJob>;
  readonly deadLetters: Queue<DeadLetterJob>;
  private readonly flows: FlowProducer;
  private readonly idpCallAttempts: number;

  constructor(options: RevocationQueuesOptions) {
    const base = { connection: options.connection, prefix: options.prefix };
    this.revocations = new Queue<RequestJob>(QUEUE.revocations, base);
    this.idpCalls = new Queue<IdpCallJob>(QUEUE.idpCalls, base);
    this.deadLetters = new Queue<DeadLetterJob>(QUEUE.deadLetters, base);
    this.flows = new FlowProducer(base);
    this.idpCallAttempts = options.idpCallAttempts ?? 25;
  }

  get all(): Queue[] {
    return [this.revocations, this.idpCalls, this.deadLetters] as Queue[];
  }

  async enqueuePlan(requestId: string): Promise<void> {
    await this.revocations.add(JOB.plan, { requestId }, { ...LIFECYCLE, jobId: jobIds.plan(requestId) });
  }

  async scheduleStart(requestId: string, delayMs: number): Promise<void> {
    await this.revocations.add(
      JOB.start,
      { requestId },
      { ...LIFECYCLE, jobId: jobIds.start(requestId), delay: Math.max(0, delayMs) },
    );
  }

  /** Moves a scheduled start; adds it if it is gone. */
  async rescheduleStart(requestId: string, delayMs: number): Promise<void> {
    const job = await this.revocations.getJob(jobIds.start(requestId));
    if (job && (await job.isDelayed())) {
      await job.changeDelay(Math.max(0, delayMs));
      return;
    }
    if (job) await job.remove().catch(() => undefined);
    await this.scheduleStart(requestId, delayMs);
  }

  /** Removes a scheduled start; the start processor also re-checks the state, so a race is harmless. */
  async cancelStart(requestId: string): Promise<void> {
    const job = await this.revocations.getJob(jobIds.start(requestId));
    if (job && (await job.isDelayed())) await job.remove().catch(() => undefined);
  }

  async scheduleExpiry(requestId: string, delayMs: number): Promise<void> {
    await this.revocations.add(
      JOB.expire,
      { requestId },
      { ...LIFECYCLE, jobId: jobIds.expire(requestId), delay: Math.max(0, delayMs) },
    );
  }

  async cancelExpiry(requestId: string): Promise<void> {
    const job = await this.revocations.getJob(jobIds.expire(requestId));
    if (job && (await job.isDelayed())) await job.remove().catch(() => undefined);
  }

  /**
   * One BullMQ flow per request: a `finalize` parent (sweep + verify) over one child per IdP call.
   * FlowProducer adds it atomically; a failed child does not block the parent
   * (`ignoreDependencyOnFailure`), whose verify step then decides the outcome.
   */
  async addFlow(requestId: string, steps: Target[], sweep: Target | undefined): Promise<void> {
    await this.flows.add({
      name: JOB.finalize,
      queueName: QUEUE.revocations,
      data: sweep ? { requestId, sweep } : { requestId },
      opts: { ...LIFECYCLE, jobId: jobIds.finalize(requestId) },
      children: steps.map((step) => {
        const stepKey = targetKey(step);
        return {
          name: JOB.revokeStep,
          queueName: QUEUE.idpCalls,
          data: { requestId, step, stepKey },
          opts: {
            ...KEEP,
            jobId: jobIds.step(requestId, stepKey),
            attempts: this.idpCallAttempts,
            backoff: { type: 'revoker' },
            ignoreDependencyOnFailure: true,
          },
        };
      }),
    });
  }

  async finalizeExists(requestId: string): Promise<boolean> {
    return (await this.revocations.getJob(jobIds.finalize(requestId))) !== undefined;
  }

  async close(): Promise<void> {
    await Promise.all([...this.all.map((q) => q.close()), this.flows.close()]);
  }
}
