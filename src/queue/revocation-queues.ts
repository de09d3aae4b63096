import { type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { UnknownConnectionError } from '../connections/unknown-connection-error.ts';
import { type Target, targetKey } from '../domain/target.ts';
import { JOB_PRIORITY, jobPriority, type RequestRef } from './job-priority.ts';
import type { DeadLetterJob, IdpCallJob, RequestJob } from './job-schemas.ts';
import { JOB, jobIds, QUEUE } from './names.ts';

export interface RevocationQueuesOptions {
  /** ioredis connection with `maxRetriesPerRequest: null`; shared by the queues (not closed by us). */
  connection: Redis;
  /** BullMQ key prefix; Revoker's REVOKER_PREFIX. */
  prefix: string;
  /**
   * The connections, each with its own `idp-calls` queue (`idp-calls{suffix}`) and its own queue for the
   * batch's plan and finalize (`revocations{suffix}`): BullMQ workers cannot skip a job on a shared queue,
   * so only workers configured for a connection take its jobs, and a slow connection's jobs, each waiting
   * for its permits, never hold the slots another connection's need. Default: one connection, `idp-calls`
   * and `revocations`.
   */
  connections?: readonly { id: string; suffix: string }[];
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
  /**
   * The plan and finalize jobs of a person's requests (Slack, the CLI), for a worker of their own. A lifecycle
   * job holds its worker's slot while it waits for IdP permits, so a batch of offboardings keeps every slot
   * of `revocations` busy, and a person's job, however high its priority, would wait for one to free (about
   * 0.1 s per job at 50 calls/s, measured in bench/urgent.bench.ts).
   */
  readonly peopleRevocations: Queue<RequestJob>;
  /** Each connection's queue for the batch's plan and finalize, by connection id (the primary's: `revocations`). */
  private readonly workQueues = new Map<string, Queue<RequestJob>>();
  /** The primary connection's IdP calls (`idp-calls`, the single-IdP name). */
  readonly idpCalls: Queue<IdpCallJob>;
  /** Each connection's IdP-call queue, by connection id. */
  private readonly callQueues = new Map<string, Queue<IdpCallJob>>();
  readonly deadLetters: Queue<DeadLetterJob>;
  private readonly idpCallAttempts: number;

  constructor(options: RevocationQueuesOptions) {
    const base = { connection: options.connection, prefix: options.prefix };
    this.revocations = new Queue<RequestJob>(QUEUE.revocations, base);
    this.peopleRevocations = new Queue<RequestJob>(QUEUE.peopleRevocations, base);
    this.idpCalls = new Queue<IdpCallJob>(QUEUE.idpCalls, base);
    for (const c of options.connections ?? []) {
      this.workQueues.set(
        c.id,
        c.suffix === '' ? this.revocations : new Queue<RequestJob>(`${QUEUE.revocations}${c.suffix}`, base),
      );
      this.callQueues.set(
        c.id,
        c.suffix === '' ? this.idpCalls : new Queue<IdpCallJob>(`${QUEUE.idpCalls}${c.suffix}`, base),
      );
    }
    this.deadLetters = new Queue<DeadLetterJob>(QUEUE.deadLetters, base);
    this.idpCallAttempts = options.idpCallAttempts ?? 25;
  }

  get all(): Queue[] {
    const work = new Set([this.revocations, ...this.workQueues.values()]);
    const calls = new Set([this.idpCalls, ...this.callQueues.values()]);
    return [...work, this.peopleRevocations, ...calls, this.deadLetters] as Queue[];
  }

  /**
   * Where a request's plan and finalize jobs wait: a person's in their own queue, the batch's in their
   * connection's. A connection this process does not know (removed from the configuration) sends them to
   * `revocations`, whose worker fails the request visibly rather than run it in another connection.
   */
  workQueueOf(request: Pick<RequestRef, 'source' | 'connection'>): Queue<RequestJob> {
    if (jobPriority(request) === JOB_PRIORITY.person) return this.peopleRevocations;
    return (
      (request.connection === undefined ? undefined : this.workQueues.get(request.connection)) ??
      this.revocations
    );
  }

  /** The IdP-call queue of a connection (none named: the primary's). */
  idpCallsOf(connection: string | undefined): Queue<IdpCallJob> {
    // Queues made for one connection only (no `connections` given): every job waits in `idp-calls`, and
    // the worker's check of the job's connection is what keeps another connection's job from running.
    if (connection === undefined || this.callQueues.size === 0) return this.idpCalls;
    const q = this.callQueues.get(connection);
    if (!q) throw new UnknownConnectionError(connection, [...this.callQueues.keys()]);
    return q;
  }

  async enqueuePlan(request: RequestRef): Promise<void> {
    await this.workQueueOf(request).add(
      JOB.plan,
      { requestId: request.id },
      { ...LIFECYCLE, jobId: jobIds.plan(request.id), priority: jobPriority(request) },
    );
  }

  async scheduleStart(request: RequestRef, delayMs: number): Promise<void> {
    await this.revocations.add(
      JOB.start,
      { requestId: request.id },
      {
        ...LIFECYCLE,
        jobId: jobIds.start(request.id),
        delay: Math.max(0, delayMs),
        priority: jobPriority(request),
      },
    );
  }

  /** Moves a scheduled start; adds it if it is gone. */
  async rescheduleStart(request: RequestRef, delayMs: number): Promise<void> {
    const job = await this.revocations.getJob(jobIds.start(request.id));
    if (job && (await job.isDelayed())) {
      await job.changeDelay(Math.max(0, delayMs));
      return;
    }
    if (job) await job.remove().catch(() => undefined);
    await this.scheduleStart(request, delayMs);
  }

  /** Removes a scheduled start; the start processor also re-checks the state, so a race is harmless. */
  async cancelStart(requestId: string): Promise<void> {
    const job = await this.revocations.getJob(jobIds.start(requestId));
    if (job && (await job.isDelayed())) await job.remove().catch(() => undefined);
  }

  async scheduleExpiry(request: RequestRef, delayMs: number): Promise<void> {
    await this.revocations.add(
      JOB.expire,
      { requestId: request.id },
      {
        ...LIFECYCLE,
        jobId: jobIds.expire(request.id),
        delay: Math.max(0, delayMs),
        priority: jobPriority(request),
      },
    );
  }

  async cancelExpiry(requestId: string): Promise<void> {
    const job = await this.revocations.getJob(jobIds.expire(requestId));
    if (job && (await job.isDelayed())) await job.remove().catch(() => undefined);
  }

  /**
   * One `idp-calls` job per step, added in chunks so the first steps run while the rest are added. Not a
   * BullMQ flow: adding a flow of 10,000 children costs twice the CPU of adding the same jobs (measured in
   * bench/pipeline.bench.ts) and nothing runs until all are in. The steps count themselves instead
   * (RedisRequestStore: `completeStep`, `failStep`) and the one that settles the last enqueues `finalize`.
   * Job ids derive from the step, so adding again after a crash adds only what is missing. Each job names
   * `connection` and waits in that connection's own queue, at its request's priority.
   */
  async addSteps(
    request: RequestRef,
    steps: readonly Target[],
    connection?: string,
    chunkSize = 1000,
  ): Promise<void> {
    const requestId = request.id;
    const priority = jobPriority(request);
    const queue = this.idpCallsOf(connection);
    for (let i = 0; i < steps.length; i += chunkSize) {
      await queue.addBulk(
        steps.slice(i, i + chunkSize).map((step) => {
          const stepKey = targetKey(step);
          return {
            name: JOB.revokeStep,
            data: { requestId, step, stepKey, ...(connection === undefined ? {} : { connection }) },
            opts: {
              ...KEEP,
              jobId: jobIds.step(requestId, stepKey),
              attempts: this.idpCallAttempts,
              backoff: { type: 'revoker' },
              priority,
            },
          };
        }),
      );
    }
  }

  /** After every step has settled: the sweep and the verifying check. Idempotent (one job id per request). */
  async enqueueFinalize(request: RequestRef): Promise<void> {
    await this.workQueueOf(request).add(
      JOB.finalize,
      { requestId: request.id },
      { ...LIFECYCLE, jobId: jobIds.finalize(request.id), priority: jobPriority(request) },
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((q) => q.close()));
  }
}
