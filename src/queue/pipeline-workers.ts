import { hostname } from 'node:os';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RefusalRecorder } from '../audit/refusal-log.ts';
import type { AuditLog } from '../audit/types.ts';
import { ConnectionRegistry } from '../connections/connection-registry.ts';
import { UnknownConnectionError } from '../connections/unknown-connection-error.ts';
import { withIdpCall } from '../identity/idp-call-context.ts';
import type { IdentityProvider } from '../identity/port.ts';
import type { Notifier } from '../intake/notifier.ts';
import type { RedisRequestStore } from '../intake/request-store.ts';
import type { RequestRecord } from '../intake/types.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { backoffWithJitter } from './backoff.ts';
import { FailedJobs } from './failed-jobs.ts';
import { FanOut, isFanOutParent } from './fan-out.ts';
import { IdpCallSteps } from './idp-call-steps.ts';
import { laneOfJob } from './job-priority.ts';
import { type IdpCallJob, IdpCallJobSchema, type RequestJob, RequestJobSchema } from './job-schemas.ts';
import { JOB, QUEUE } from './names.ts';
import { PipelineContext } from './pipeline-context.ts';
import { RequestFinalizer } from './request-finalizer.ts';
import { RequestPlanner } from './request-planner.ts';
import type { RevocationQueues } from './revocation-queues.ts';
import type { StartRights } from './start-rights.ts';
import { StepGuard } from './step-guard.ts';

export interface PipelineWorkersOptions {
  /** Connection for the workers (BullMQ duplicates it for blocking calls). */
  connection: Redis;
  prefix: string;
  store: RedisRequestStore;
  queues: RevocationQueues;
  idp: IdentityProvider;
  /**
   * The connections this process works for: one `idp-calls` worker per connection (its own queue), and
   * each request's plan and verification through its own connection. Default: `idp` alone.
   */
  connections?: ConnectionRegistry;
  audit: AuditLog;
  notifier: Notifier;
  metrics: Metrics;
  logger: Logger;
  /**
   * Concurrent IdP-call jobs per process. Default 10. How many calls per second reach the IdP is the
   * `IdpBudget`'s business (the idp given here is a `BudgetedIdentityProvider` in `serve`).
   */
  concurrency?: number;
  /** Lock on an active job; a crashed worker's jobs are taken over after it lapses. Default 30,000 ms. */
  lockDurationMs?: number;
  /** How often stalled jobs are looked for. Default 30,000 ms (BullMQ's). */
  stalledIntervalMs?: number;
  /** Times the verify step re-checks before calling a request failed. Default 3. */
  verifyAttempts?: number;
  /** Reconcile orphaned requests every this many ms (0 = only at start). Default 30,000. */
  reconcileIntervalMs?: number;
  /**
   * Name of this process's workers: BullMQ records it on each job it runs (`processedBy`) and in the
   * connection name (`Queue.getWorkers()`), so one can tell which process did what. Default `{host}:{pid}`.
   */
  workerName?: string;
  /** Refused step jobs (see StepGuard) are counted here per minute; without it each is audited. */
  refusals?: RefusalRecorder;
  /** Today's rights, checked when a request starts (issue 21 item 3); absent: the intake's check stands. */
  rights?: StartRights;
}

/** People's plan and finalize jobs at once per process: each is a few calls on the interactive lane. */
const PEOPLE_CONCURRENCY = 5;

/**
 * The workers of the pipeline: lifecycle jobs (start, expire, plan, finalize) on `revocations` (plan and
 * finalize on their connection's `revocations{suffix}`, a person's on `revocations-people`), and
 * rate-limited IdP calls on one `idp-calls` queue per connection. Everything they do is idempotent: a job
 * can run twice (a worker killed mid-job, Redis restarted) and the audit log still shows each token revoked
 * exactly once. The work itself is in its parts: RequestPlanner, IdpCallSteps, RequestFinalizer, FailedJobs
 * and FanOut, sharing a PipelineContext; this class owns the BullMQ workers and the reconciler.
 */
export class PipelineWorkers {
  /** Lifecycle workers: each connection's (`revocations{suffix}`) and people's plan and finalize (`revocations-people`). */
  private readonly lifecycles: Worker<RequestJob>[];
  private readonly c: PipelineContext;
  private readonly planner: RequestPlanner;
  private readonly steps: IdpCallSteps;
  private readonly finalizer: RequestFinalizer;
  private readonly failed: FailedJobs;
  private reconcileTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: PipelineWorkersOptions) {
    const log = o.logger.child({ component: 'workers' });
    const connections = o.connections ?? ConnectionRegistry.single(o.idp);
    // The queue runs only what a request planned (issue 21).
    const guard = new StepGuard({
      redis: o.connection,
      prefix: o.prefix,
      store: o.store,
      refusals: o.refusals,
      audit: o.audit,
      logger: log,
    });
    // A user revocation in every connection: children, and their parent's lines (issue 22).
    const fanOut = new FanOut({
      store: o.store,
      queues: o.queues,
      audit: o.audit,
      notifier: o.notifier,
      metrics: o.metrics,
      logger: log,
    });
    this.c = new PipelineContext(o, log, connections, guard, fanOut);
    this.planner = new RequestPlanner(this.c);
    this.steps = new IdpCallSteps(this.c);
    this.finalizer = new RequestFinalizer(this.c);
    this.failed = new FailedJobs(this.c, this.steps);
    const common = {
      name: o.workerName ?? `${hostname()}:${process.pid}`,
      connection: o.connection,
      prefix: o.prefix,
      lockDuration: o.lockDurationMs ?? 30_000,
      stalledInterval: o.stalledIntervalMs ?? 30_000,
      // Jobs are idempotent, so a job that stalled (its worker died) may safely run again, more than once.
      maxStalledCount: 10,
      settings: { backoffStrategy: backoffWithJitter },
    };
    const lifecycle = (name: string, concurrency: number) =>
      new Worker<RequestJob>(name, (job) => this.inLaneOf(job, () => this.runLifecycle(job)), {
        ...common,
        concurrency,
      });
    // Lifecycle jobs (plan, finalize) make half of an offboarding's IdP calls and mostly wait for the
    // budget's permits: as many of them in flight as IdP calls, or they starve the budget. Each connection
    // has its own (the primary's, `revocations`, also runs every start and expiry), so a slow connection's
    // jobs never hold the slots of a fast one; a person's plan and finalize never wait for a slot behind
    // the batch's (RevocationQueues.workQueueOf).
    this.lifecycles = [
      ...connections.all.map((conn) =>
        lifecycle(`${QUEUE.revocations}${conn.suffix}`, Math.max(5, o.concurrency ?? 10)),
      ),
      lifecycle(QUEUE.peopleRevocations, PEOPLE_CONCURRENCY),
    ];
    for (const conn of connections.all) {
      const name = `${QUEUE.idpCalls}${conn.suffix}`;
      this.c.queueConnection.set(name, conn);
      this.c.calls.set(
        name,
        // A person's steps went ahead in the queue (priority); their calls go ahead in the budget too.
        new Worker<IdpCallJob>(
          name,
          (job, token) => this.inLaneOf(job, () => this.steps.runCall(job, token)),
          {
            ...common,
            concurrency: o.concurrency ?? 10,
          },
        ),
      );
    }
    for (const w of this.workers) {
      w.on('failed', (job, err) => void this.failed.onFailed(w.name, job, err));
      w.on('error', (err) => this.log.error({ err: err.message }, 'worker error'));
      w.on('completed', (job) => {
        o.metrics.jobLatency.observe({ queue: w.name }, (Date.now() - job.timestamp) / 1000);
      });
    }
  }

  private get log(): Logger {
    return this.c.log;
  }

  private get connections(): ConnectionRegistry {
    return this.c.connections;
  }

  private get calls(): Map<string, Worker<IdpCallJob>> {
    return this.c.calls;
  }

  private get workers(): Worker[] {
    return [...this.lifecycles, ...this.calls.values()] as Worker[];
  }

  /** A job's work in its request's budget lane: a person's (priority) interactive, the batch's batch. */
  private inLaneOf<T>(job: Job, fn: () => Promise<T>): Promise<T> {
    return withIdpCall({ lane: laneOfJob(job) }, fn);
  }

  /** Resolves when every worker is connected and taking jobs; runs a first reconcile. */
  async start(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
    await this.reconcile().catch((err) => this.log.warn({ err: (err as Error).message }, 'reconcile failed'));
    const every = this.o.reconcileIntervalMs ?? 30_000;
    if (every > 0) {
      this.reconcileTimer = setInterval(() => {
        this.reconcile().catch((err) => this.log.warn({ err: (err as Error).message }, 'reconcile failed'));
      }, every);
      this.reconcileTimer.unref();
    }
  }

  /**
   * Stops taking jobs and lets active ones finish within `graceMs`; after that they are released
   * (their locks lapse and another worker takes them over). Never loses a job.
   */
  async close(graceMs = 10_000): Promise<void> {
    clearInterval(this.reconcileTimer);
    const graceful = Promise.all(this.workers.map((w) => w.close())).then(() => true);
    const timedOut = new Promise<false>((resolve) => setTimeout(() => resolve(false), graceMs).unref());
    if (!(await Promise.race([graceful, timedOut]))) {
      this.log.warn({ graceMs }, 'active jobs did not finish in time; releasing them to other workers');
      await Promise.all(this.workers.map((w) => w.close(true)));
    }
  }

  /** Requests whose job may have been lost between a state change and an enqueue (a crash). */
  async reconcile(): Promise<void> {
    for (const rec of await this.o.store.getMany(await this.o.store.idsInState('queued'))) {
      await this.o.queues.enqueuePlan(rec);
    }
    for (const id of await this.o.store.idsInState('approved')) {
      const res = await this.o.store.transition(id, ['approved'], 'queued');
      if (res.ok) await this.o.queues.enqueuePlan(res.record);
    }
    // A scheduled request whose delayed start was lost: adding it again is a no-op when it exists.
    for (const rec of await this.o.store.getMany(await this.o.store.idsInState('scheduled'))) {
      if (rec.startAt) await this.o.queues.scheduleStart(rec, Date.parse(rec.startAt) - Date.now());
    }
    await this.reconcileRunning();
  }

  /**
   * Running requests whose last step settled in a process that died before it enqueued `finalize`, or
   * whose failed step was never settled (the process died right after BullMQ failed it): settled now.
   */
  private async reconcileRunning(): Promise<void> {
    const running = new Set(await this.o.store.idsInState('running'));
    if (running.size === 0) return;
    // A running request of a connection this process does not have: its jobs wait in a queue nobody
    // works, so it fails here, visibly and audited, rather than waiting forever or running elsewhere.
    const records = await this.o.store.getMany([...running]);
    for (const rec of records) {
      if (isFanOutParent(rec)) {
        // Its children run (and settle) on their own; a child that ended just before a crash is caught up here.
        running.delete(rec.id);
        await this.c.fanOut.sync(rec.id);
        continue;
      }
      if (rec.connection !== undefined && !this.connections.get(rec.connection)) {
        running.delete(rec.id);
        await this.failForConnection(rec, new UnknownConnectionError(rec.connection, this.connections.ids));
      }
    }
    for (const c of this.connections.all) {
      for (const job of await this.o.queues.idpCallsOf(c.id).getFailed(0, 999)) {
        const step = IdpCallJobSchema.safeParse(job.data);
        if (step.success && running.has(step.data.requestId)) await this.steps.settleFailedStep(step.data);
      }
    }
    for (const rec of records.filter((r) => running.has(r.id))) {
      const plan = await this.o.store.planInfo(rec.id);
      if (!plan?.added) continue;
      if ((await this.o.store.countSettled(rec.id)) >= plan.total) await this.o.queues.enqueueFinalize(rec);
    }
  }

  private async runLifecycle(job: Job<RequestJob>): Promise<void> {
    const data = RequestJobSchema.parse(job.data);
    switch (job.name) {
      case JOB.start:
        return this.planner.start_(data.requestId);
      case JOB.expire:
        return this.planner.expire(data.requestId);
      case JOB.plan:
        return this.planner.plan(data.requestId);
      case JOB.finalize:
        return this.finalizer.finalize(job, data.requestId);
      default:
        throw new UnrecoverableError(`unknown job ${job.name}`);
    }
  }

  /** A running request whose connection is gone: failed, audited, announced. */
  private async failForConnection(rec: RequestRecord, err: UnknownConnectionError): Promise<void> {
    const res = await this.o.store.transition(rec.id, ['running'], 'failed', {
      result: { ok: false, revoked: 0, remaining: -1, error: `${err.code}: ${err.message}`.slice(0, 500) },
    });
    if (!res.ok) return;
    // A fan-out's children are counted once, as their parent's outcome.
    if (rec.parent === undefined) this.o.metrics.outcomes.inc({ outcome: 'failed', scope: rec.target.kind });
    await this.c.stateChanged('request.failed', res.record, {
      error: err.code,
      connection: err.connection,
    });
  }
}
