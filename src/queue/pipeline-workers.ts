import { hostname } from 'node:os';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RefusalRecorder } from '../audit/refusal-log.ts';
import type { AuditAction, AuditLog } from '../audit/types.ts';
import type { Connection } from '../connections/connection.ts';
import { ConnectionRegistry } from '../connections/connection-registry.ts';
import { UnknownConnectionError } from '../connections/unknown-connection-error.ts';
import { asCodedError, type CodedError, ConflictError } from '../domain/errors.ts';
import { sanitizeOutsideText, truncateGraphemes } from '../domain/outside-text.ts';
import { type Target, targetKey } from '../domain/target.ts';
import {
  IdpNotFoundError,
  IdpPermanentError,
  IdpRateLimitedError,
  IdpTransientError,
  isIdpError,
} from '../identity/errors.ts';
import {
  aggregateParts,
  boundParts,
  describeParts,
  partsOf,
  showsEveryPartDone,
} from '../identity/part-outcomes.ts';
import { type IdentityProvider, type PartOutcome, type TokenRef, userDisplayName } from '../identity/port.ts';
import type { Notifier, RequestEventType } from '../intake/notifier.ts';
import type { RedisRequestStore, StoredPlan } from '../intake/request-store.ts';
import type { RequestRecord } from '../intake/types.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { backoffWithJitter } from './backoff.ts';
import { FanOut, isFanOutParent } from './fan-out.ts';
import { type IdpCallJob, IdpCallJobSchema, type RequestJob, RequestJobSchema } from './job-schemas.ts';
import { JOB, jobIds, QUEUE } from './names.ts';
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

const SYSTEM = { source: 'system', id: 'revoker-worker' };

/**
 * The workers of the pipeline: lifecycle jobs (start, expire, plan, finalize) on `revocations`, and
 * rate-limited IdP calls on `idp-calls`. Everything they do is idempotent: a job can run twice (a worker
 * killed mid-job, Redis restarted) and the audit log still shows each token revoked exactly once.
 */
export class PipelineWorkers {
  private readonly lifecycle: Worker<RequestJob>;
  /** One IdP-call worker per connection, on that connection's own queue. */
  private readonly calls = new Map<string, Worker<IdpCallJob>>();
  /** The connection each IdP-call queue belongs to, by queue name. */
  private readonly queueConnection = new Map<string, Connection>();
  private readonly connections: ConnectionRegistry;
  private readonly log: Logger;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private readonly verifyAttempts: number;
  /** Planned progress per running request, for progress reports (bounded: cleared when it grows large). */
  private readonly totals = new Map<string, RequestRecord['progress']>();
  /** The queue runs only what a request planned (issue 21). */
  private readonly guard: StepGuard;
  /** A user revocation in every connection: children, and their parent's lines (issue 22). */
  private readonly fanOut: FanOut;

  constructor(private readonly o: PipelineWorkersOptions) {
    this.log = o.logger.child({ component: 'workers' });
    this.verifyAttempts = o.verifyAttempts ?? 3;
    this.guard = new StepGuard({
      redis: o.connection,
      prefix: o.prefix,
      store: o.store,
      refusals: o.refusals,
      audit: o.audit,
      logger: this.log,
    });
    this.fanOut = new FanOut({
      store: o.store,
      queues: o.queues,
      audit: o.audit,
      notifier: o.notifier,
      metrics: o.metrics,
      logger: this.log,
    });
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
    // Lifecycle jobs (plan, finalize) make half of an offboarding's IdP calls and mostly wait for the
    // budget's permits: as many of them in flight as IdP calls, or they starve the budget.
    this.lifecycle = new Worker<RequestJob>(QUEUE.revocations, (job) => this.runLifecycle(job), {
      ...common,
      concurrency: Math.max(5, o.concurrency ?? 10),
    });
    this.connections = o.connections ?? ConnectionRegistry.single(o.idp);
    for (const c of this.connections.all) {
      const name = `${QUEUE.idpCalls}${c.suffix}`;
      this.queueConnection.set(name, c);
      this.calls.set(
        name,
        new Worker<IdpCallJob>(name, (job, token) => this.runCall(job, token), {
          ...common,
          concurrency: o.concurrency ?? 10,
        }),
      );
    }
    for (const w of [this.lifecycle, ...this.calls.values()] as Worker[]) {
      w.on('failed', (job, err) => void this.onFailed(w.name, job, err));
      w.on('error', (err) => this.log.error({ err: err.message }, 'worker error'));
      w.on('completed', (job) => {
        o.metrics.jobLatency.observe({ queue: w.name }, (Date.now() - job.timestamp) / 1000);
      });
    }
  }

  /** Resolves when both workers are connected and taking jobs; runs a first reconcile. */
  async start(): Promise<void> {
    await Promise.all([
      this.lifecycle.waitUntilReady(),
      ...[...this.calls.values()].map((w) => w.waitUntilReady()),
    ]);
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
    const graceful = Promise.all([
      this.lifecycle.close(),
      ...[...this.calls.values()].map((w) => w.close()),
    ]).then(() => true);
    const timedOut = new Promise<false>((resolve) => setTimeout(() => resolve(false), graceMs).unref());
    if (!(await Promise.race([graceful, timedOut]))) {
      this.log.warn({ graceMs }, 'active jobs did not finish in time; releasing them to other workers');
      await Promise.all([this.lifecycle.close(true), ...[...this.calls.values()].map((w) => w.close(true))]);
    }
  }

  /** Requests whose job may have been lost between a state change and an enqueue (a crash). */
  async reconcile(): Promise<void> {
    for (const id of await this.o.store.idsInState('queued')) await this.o.queues.enqueuePlan(id);
    for (const id of await this.o.store.idsInState('approved')) {
      const res = await this.o.store.transition(id, ['approved'], 'queued');
      if (res.ok) await this.o.queues.enqueuePlan(id);
    }
    // A scheduled request whose delayed start was lost: adding it again is a no-op when it exists.
    for (const rec of await this.o.store.getMany(await this.o.store.idsInState('scheduled'))) {
      if (rec.startAt) await this.o.queues.scheduleStart(rec.id, Date.parse(rec.startAt) - Date.now());
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
    for (const rec of await this.o.store.getMany([...running])) {
      if (isFanOutParent(rec)) {
        // Its children run (and settle) on their own; a child that ended just before a crash is caught up here.
        running.delete(rec.id);
        await this.fanOut.sync(rec.id);
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
        if (step.success && running.has(step.data.requestId)) await this.settleFailedStep(step.data);
      }
    }
    for (const id of running) {
      const plan = await this.o.store.planInfo(id);
      if (!plan?.added) continue;
      if ((await this.o.store.countSettled(id)) >= plan.total) await this.o.queues.enqueueFinalize(id);
    }
  }

  private async runLifecycle(job: Job<RequestJob>): Promise<void> {
    const data = RequestJobSchema.parse(job.data);
    switch (job.name) {
      case JOB.start:
        return this.start_(data.requestId);
      case JOB.expire:
        return this.expire(data.requestId);
      case JOB.plan:
        return this.plan(data.requestId);
      case JOB.finalize:
        return this.finalize(job, data.requestId);
      default:
        throw new UnrecoverableError(`unknown job ${job.name}`);
    }
  }

  /** A scheduled request's time has come. A cancelled one is no longer `scheduled`: nothing happens. */
  private async start_(requestId: string): Promise<void> {
    const res = await this.o.store.transition(requestId, ['scheduled'], 'queued');
    if (!res.ok) return;
    await this.o.queues.enqueuePlan(requestId);
    await this.stateChanged('request.queued', res.record, {});
  }

  private async expire(requestId: string): Promise<void> {
    const res = await this.o.store.transition(requestId, ['pending_approval'], 'expired');
    if (!res.ok) return;
    this.o.metrics.outcomes.inc({ outcome: 'expired', scope: res.record.target.kind });
    await this.stateChanged('request.expired', res.record, {});
  }

  /**
   * Dry run at the IdP, then a job per IdP call. The plan's listing is recorded as the request's scope
   * (and, when nobody saw a dry run earlier, as its impact), and the plan itself is stored, before any
   * job is added: every step can audit against the scope, and a rerun after a crash adds the same steps.
   */
  private async plan(requestId: string): Promise<void> {
    const current = await this.o.store.get(requestId);
    // A request today's configuration no longer allows ends failed here, before anything is planned. A
    // fan-out's child was allowed with its parent, whose rights were checked when it started.
    if (current?.parent === undefined && this.o.rights && !(await this.o.rights.holds(requestId))) return;
    const res = await this.o.store.transition(requestId, ['queued', 'running'], 'running', { waiting: null });
    if (!res.ok) return;
    // Before anything else: a request of a connection this process lacks fails here (never runs elsewhere).
    this.connectionOf(res.record);
    if (res.from === 'queued') await this.stateChanged('request.started', res.record, {});
    if (isFanOutParent(res.record)) {
      await this.fanOut.start(res.record, await this.emailOf(res.record));
      return;
    }
    if (res.record.resolveByEmail) {
      const resolved = await this.resolveInConnection(res.record);
      if (!resolved) return;
    }
    // A rerun after a crash: every job was already added, and the steps finalize the request themselves.
    if ((await this.o.store.planInfo(requestId))?.added) return;
    const stored = await this.o.store.planOf(requestId);
    const plan =
      stored ?? (await this.makePlan(requestId, (await this.o.store.get(requestId)) ?? res.record));
    if (plan.steps.length === 0) {
      await this.o.queues.enqueueFinalize(requestId);
    } else {
      // Steps settled before a crash (done, and perhaps already removed from the queue) are not added again.
      const settled = stored
        ? await this.o.store.settledAmong(requestId, plan.steps.map(targetKey))
        : new Set<string>();
      await this.o.queues.addSteps(
        requestId,
        plan.steps.filter((step) => !settled.has(targetKey(step))),
        // Jobs name their connection when connections are configured; a process given one bare adapter
        // (no registry) leaves them unnamed, so workers of any single-IdP process may take them as before.
        this.o.connections ? this.connectionOf(res.record).id : undefined,
      );
    }
    await this.o.store.markPlanAdded(requestId);
    this.log.info({ requestId, steps: plan.steps.length, sweep: Boolean(plan.sweep) }, 'request planned');
  }

  /** The IdP's plan, recorded (scope, impact, progress) and stored before anything is enqueued. */
  private async makePlan(requestId: string, record: RequestRecord): Promise<StoredPlan> {
    const conn = this.connectionOf(record);
    const plan = await this.idpCall(conn, 'plan', () => conn.idp.plan(record.target));
    const since = Date.now();
    await this.o.store.recordScope(requestId, plan.tokens);
    const impact = {
      userCount: plan.userCount,
      ...(plan.tokenCount === undefined ? {} : { tokenCount: plan.tokenCount }),
    };
    const updated = await this.o.store.transition(requestId, ['running'], 'running', {
      waiting: null,
      progress: {
        done: 0,
        total: plan.steps.length,
        ...(plan.tokenCount === undefined ? {} : { tokens: plan.tokenCount }),
      },
      ...(record.impact ? {} : { impact }),
    });
    const stored = { steps: plan.steps, since, ...(plan.sweep ? { sweep: plan.sweep } : {}) };
    await this.guard.recordPlan(requestId, plan.steps);
    await this.o.store.savePlan(requestId, stored);
    if (updated.ok) await this.announce('request.progress', updated.record);
    return stored;
  }

  private async runCall(job: Job<IdpCallJob>, token: string | undefined): Promise<void> {
    const { requestId, step, stepKey } = IdpCallJobSchema.parse(job.data);
    this.callConnection(job); // a job of another connection fails here, before any call
    await this.guard.check({ requestId, step, stepKey, id: job.id });
    const revoked =
      step.kind === 'token'
        ? await this.revokeToken(step, job, token)
        : await this.revokeBulk(requestId, step, stepKey, job, token);
    // Both at once, one round trip: each is idempotent, and the job completes only once both have, so a
    // crash in between reruns it, whose appends dedupe (exactly once) and whose step is counted once.
    const [, { done, isNew }] = await Promise.all([
      this.auditRevoked(requestId, revoked),
      this.o.store.completeStep(
        requestId,
        stepKey,
        revoked.map((t) => t.id),
      ),
    ]);
    await this.stepSettled(requestId, done, isNew);
  }

  private async revokeToken(
    step: Extract<Target, { kind: 'token' }>,
    job: Job<IdpCallJob>,
    token: string | undefined,
  ): Promise<TokenRef[]> {
    let revoked: TokenRef[];
    try {
      const conn = this.callConnection(job);
      revoked = (await this.idpCall(conn, 'revoke', () => conn.idp.revoke(step), job, token)).revoked;
    } catch (err) {
      // A token already gone is what we wanted (e.g. our own earlier attempt died before it was recorded).
      if (!(err instanceof IdpNotFoundError)) throw err;
      revoked = [];
    }
    // Only what the IdP confirmed is audited as revoked: a step that revoked nothing writes no token.revoked.
    // One exception, for exactly-once under crashes: a step that already ran before (a worker died after
    // the IdP revoked, before this was recorded) and now finds its token gone audits it, since that earlier
    // attempt of this very step is what revoked it.
    const ranBefore = job.attemptsStarted > 1 || (job.stalledCounter ?? 0) > 0;
    if (ranBefore && !revoked.some((t) => t.id === step.tokenId)) {
      revoked.push({ id: step.tokenId, userId: step.userId });
    }
    return revoked;
  }

  /**
   * One bulk call. Its answer is what it revoked, recorded as soon as it comes. A rerun (the first run died
   * between the call and the audit, or the call failed without an answer: a 503, a timeout) trusts the
   * call's own recorded answer when there is one; otherwise it makes the call again unless the IdP shows
   * that THIS revocation took effect: a verify with `since` (the request's start) in which every part is
   * observed done. A verify that cannot see a part (Okta sessions) or says nothing about when (a check
   * without `since`) never skips the call: a bulk call is idempotent, skipping it is not.
   */
  private async revokeBulk(
    requestId: string,
    step: Target,
    stepKey: string,
    job: Job<IdpCallJob>,
    token: string | undefined,
  ): Promise<TokenRef[]> {
    const conn = this.callConnection(job);
    const call = async () => {
      let revoked: TokenRef[];
      try {
        ({ revoked } = await this.idpCall(conn, 'revoke', () => conn.idp.revoke(step), job, token));
      } catch (err) {
        // "No such person" from a connection that learns it only by calling (a GTR app's 404): done, no account.
        if (!(err instanceof IdpNotFoundError && (err as { noAccount?: boolean }).noAccount === true))
          throw err;
        await this.o.store.noteNoAccount(requestId);
        revoked = [];
      }
      await this.o.store.recordBulkAnswer(requestId, stepKey, revoked);
      return revoked;
    };
    if (await this.o.store.markBulkCall(requestId, stepKey)) return call();
    const answered = await this.o.store.bulkAnswer(requestId, stepKey);
    if (answered) return answered;
    const since = await this.startedAt(requestId, job);
    const [recorded, check] = await Promise.all([
      this.o.store.scopeOf(requestId),
      this.idpCall(conn, 'verify', () => conn.idp.verify(step, { since }), job, token),
    ]);
    const alive = new Set(check.remaining.map((t) => t.id));
    const gone = recorded.filter((t) => !alive.has(t.id) && inStep(step, t));
    if (check.remaining.length === 0 && showsEveryPartDone(check)) return gone;
    const again = await call();
    const seen = new Set(gone.map((t) => t.id));
    return [...gone, ...again.filter((t) => !seen.has(t.id))];
  }

  /** When this request's revocation started: the plan's time (before any call), else the job's creation. */
  private async startedAt(requestId: string, job: Job): Promise<Date> {
    const plan = await this.o.store.planInfo(requestId);
    return new Date(plan?.since ?? job.timestamp);
  }

  /** After every step: catch stragglers with the bulk call, then prove the tokens are gone. */
  private async finalize(job: Job<RequestJob>, requestId: string): Promise<void> {
    const rec = await this.o.store.get(requestId);
    if (rec?.state !== 'running') return;
    const [plan, failedSteps] = await Promise.all([
      this.o.store.planInfo(requestId),
      this.o.store.countFailed(requestId),
    ]);
    const conn = this.connectionOf(rec);
    if (await this.o.store.sawNoAccount(requestId)) {
      await this.endNoAccount(rec, 'the connection answered that it has no such person');
      return;
    }
    const sweep = plan?.sweep;
    if (sweep) {
      const result = await this.idpCall(conn, 'revoke', () => conn.idp.revoke(sweep));
      await this.auditRevoked(requestId, result.revoked);
      await this.o.store.addRevoked(requestId, ...result.revoked.map((t) => t.id));
    }
    // Taken when the plan was made, before any step ran: a cut-off the IdP shows must not be older, and
    // tokens issued after it (a user signing in again mid-request) are out of this request's scope.
    const since = new Date(plan?.since ?? job.timestamp);
    const verify = await this.idpCall(conn, 'verify', () => conn.idp.verify(rec.target, { since }));
    if (verify.method === 'list') await this.reconcileRecord(requestId, verify.remaining);
    const revokedCount = await this.o.store.countRevoked(requestId);
    if (!verify.ok && job.attemptsMade + 1 < this.verifyAttempts) {
      throw new Error(`${verify.remaining.length} token(s) still alive; verifying again`);
    }
    // A call that failed for good is a failed part naming the call: it never lets the request end verified,
    // whatever a listing shows (the listing may not see what that call was for).
    const failedCalls = (await this.o.store.failedSteps(requestId)).map(
      (f): PartOutcome => ({
        part: `call ${f.stepKey}`,
        outcome: 'failed',
        why: `the IdP call failed for good${f.why ? ` (${f.why})` : ''}`,
      }),
    );
    const parts = boundParts([...partsOf(verify), ...failedCalls]);
    const to = aggregateParts(parts);
    const unverifiableParts = parts.filter((p) => p.outcome === 'unverifiable');
    const unverifiable =
      to !== 'unverifiable'
        ? undefined
        : verify.method === 'none' && unverifiableParts.length === 1 && !verify.parts
          ? verify.unverifiable
          : describeParts(unverifiableParts);
    const failedText = describeParts(parts.filter((p) => p.outcome === 'failed'));
    const result = {
      ok: to !== 'failed',
      revoked: revokedCount,
      remaining: verify.remaining.length,
      ...(unverifiable === undefined ? {} : { unverifiable }),
      ...(to === 'failed'
        ? {
            error: truncateGraphemes(
              [
                verify.remaining.length > 0
                  ? `${verify.remaining.length} token(s) still work after revocation`
                  : undefined,
                failedSteps > 0 ? `${failedSteps} call(s) failed for good` : undefined,
                failedText,
              ]
                .filter(Boolean)
                .join('; '),
              500,
            ),
          }
        : {}),
      parts,
    };
    const res = await this.o.store.transition(requestId, ['running'], to, {
      result,
      progress: { ...rec.progress, done: rec.progress.total },
    });
    if (!res.ok) return;
    this.o.metrics.outcomes.inc({ outcome: to, scope: rec.target.kind });
    await this.stateChanged(`request.${to}`, res.record, {
      // The connection this outcome is of (reports read a per-connection outcome from it).
      ...(rec.connection ? { connection: rec.connection } : {}),
      revoked: result.revoked,
      remaining: result.remaining,
      method: verify.method,
      failedCalls: failedSteps,
      ...(unverifiable === undefined ? {} : { unverifiable: truncateGraphemes(unverifiable, 500) }),
      // The parts in words and as JSON (the audit's detail is flat: small non-secret facts).
      parts: truncateGraphemes(describeParts(parts), 1000),
      // Whole JSON, never cut (bounded already: at most 20 parts, names of at most 200 characters).
      partsJson: JSON.stringify(parts.map(({ part, outcome }) => ({ part, outcome }))),
    });
  }

  /**
   * Tokens of the plan's record that the verifying listing no longer shows, and that no call's answer
   * named (a bulk call that answers nothing, like Okta's 204): audited now, exactly once.
   */
  private async reconcileRecord(requestId: string, remaining: TokenRef[]): Promise<void> {
    const unaudited = await this.o.store.notRevokedInScope(requestId);
    if (unaudited.length === 0) return;
    const alive = new Set(remaining.map((t) => t.id));
    const gone = unaudited.filter((t) => !alive.has(t.id));
    if (gone.length === 0) return;
    await this.auditRevoked(requestId, gone);
    await this.o.store.addRevoked(requestId, ...gone.map((t) => t.id));
  }

  /**
   * One IdP call with the outcome counted. The IdP's 429s (and 503s that say when to come back) are
   * waited out inside the call, in the shared budget, for every process at once (http-client.ts). One
   * that still comes back rate-limited, inside an `idp-calls` job, pauses that queue for the time named
   * and puts the job back without spending an attempt; other transient errors back off per job;
   * permanent ones fail fast.
   */
  private async idpCall<T>(
    conn: Connection,
    operation: string,
    fn: () => Promise<T>,
    job?: Job<IdpCallJob>,
    token?: string,
  ): Promise<T> {
    const idp = conn.idp.name;
    try {
      const value = await fn();
      this.o.metrics.idpCalls.inc({ idp, operation, outcome: 'ok' });
      return value;
    } catch (err) {
      if (!isIdpError(err)) throw err;
      const wait =
        err instanceof IdpRateLimitedError
          ? err.retryAfterMs
          : err instanceof IdpTransientError
            ? (err as IdpTransientError & { retryAfterMs?: number }).retryAfterMs
            : undefined;
      const outcome =
        err instanceof IdpRateLimitedError
          ? 'rate_limited'
          : err instanceof IdpPermanentError
            ? 'permanent'
            : 'transient';
      this.o.metrics.idpCalls.inc({ idp, operation, outcome });
      if (job && token && wait !== undefined) {
        await this.calls.get(job.queueName)?.rateLimit(wait);
        throw Worker.RateLimitError();
      }
      if (err instanceof IdpNotFoundError) throw err;
      if (err instanceof IdpPermanentError) throw new IdpGaveUpError(err);
      throw err;
    }
  }

  /**
   * One `token.revoked` entry per token, exactly once each (dedupe key). Appended all at once, so the
   * audit log writes them (and those of concurrent jobs) in one batch, in this order.
   */
  private async auditRevoked(requestId: string, tokens: TokenRef[]): Promise<void> {
    const entries = await Promise.all(
      tokens.map((t) =>
        this.o.audit.append(
          {
            action: 'token.revoked',
            actor: SYSTEM,
            requestId,
            detail: { tokenId: t.id, ...(t.userId ? { userId: t.userId } : {}) },
          },
          { dedupeKey: `${requestId}:token:${t.id}` },
        ),
      ),
    );
    for (const entry of entries) if (entry) this.o.metrics.tokensRevoked.inc();
  }

  /**
   * A step has settled (done, or finally failed), `done` of them so far. The one that brings the count
   * to the total enqueues `finalize`; a rerun of it (a crash before its job completed) enqueues it again,
   * which is a no-op. Progress reaches Slack in about ten steps per request, not one per call. The total
   * is fixed once steps run, so it is read once per request, not per step.
   */
  private async stepSettled(requestId: string, done: number, isNew: boolean): Promise<void> {
    let planned = this.totals.get(requestId);
    if (planned === undefined) {
      const rec = await this.o.store.get(requestId);
      if (rec?.state !== 'running') return;
      planned = rec.progress;
      if (this.totals.size >= 1000) this.totals.clear();
      this.totals.set(requestId, planned);
    }
    const { total } = planned;
    if (done >= total) {
      this.totals.delete(requestId);
      await this.o.queues.enqueueFinalize(requestId);
    }
    const stride = Math.max(1, Math.ceil(total / 10));
    if (!isNew || (done < total && done % stride !== 0)) return;
    const res = await this.o.store.transition(requestId, ['running'], 'running', {
      waiting: null,
      progress: { ...planned, done: Math.min(done, total) },
    });
    if (res.ok) await this.announce('request.progress', res.record);
  }

  /**
   * Settles the step of an `idp-calls` job that finally failed, so its request still finalizes (its
   * verifying check decides the outcome). Idempotent; the reconciler does it again for a process that
   * died before it could.
   */
  private async settleFailedStep(job: IdpCallJob): Promise<void> {
    const { requestId, stepKey } = job;
    // A refused job (no plan made that step, or a key that is not its step's) must not count as one of the plan's steps.
    if (!(await this.isOwnPlannedStep(job))) return;
    const { done, isNew } = await this.o.store.failStep(requestId, stepKey);
    await this.stepSettled(requestId, done, isNew);
  }

  /** The job's step is the one its key names, and the request's plan made it (what the step guard lets run). */
  private async isOwnPlannedStep({ requestId, step, stepKey }: IdpCallJob): Promise<boolean> {
    return targetKey(step) === stepKey && (await this.guard.isPlanned(requestId, stepKey));
  }

  /** Final failures: copied to the dead-letter queue (idempotently) and announced. */
  private async onFailed(queue: string, job: Job | undefined, err: Error): Promise<void> {
    if (!job) return;
    const final =
      err instanceof UnrecoverableError ||
      err.name === 'UnrecoverableError' ||
      job.attemptsMade >= (job.opts.attempts ?? 1);
    const requestId = (job.data as { requestId?: string }).requestId;
    if (!final) {
      if (requestId) await this.noteWaiting(requestId, err).catch(() => undefined);
      return;
    }
    const step = this.queueConnection.has(queue) ? IdpCallJobSchema.safeParse(job.data) : undefined;
    const coded = err instanceof IdpGaveUpError ? err.idpError : asCodedError(err);
    // A refused job (no plan made that step: issue 21's guard) is neither one of the plan's failed calls nor
    // a reason for the request to fail; when the guard cannot tell, the failure counts (never a false verified).
    const planned = step?.success ? await this.isOwnPlannedStep(step.data).catch(() => true) : false;
    if (step?.success && planned) {
      await this.o.store
        .noteFailure(step.data.requestId, step.data.stepKey, coded.code)
        .catch((e: Error) => this.log.warn({ err: e.message }, 'could not note why a step failed'));
      await this.settleFailedStep(step.data).catch((e: Error) =>
        this.log.error({ jobId: job.id, err: e.message }, 'could not settle a failed step'),
      );
    }
    this.log.error(
      { queue, jobId: job.id, requestId, code: coded.code, err: err.message },
      'job dead-lettered',
    );
    try {
      await this.o.queues.deadLetters.add(
        'dead-letter',
        {
          queue,
          jobId: String(job.id),
          jobName: job.name,
          ...(requestId ? { requestId } : {}),
          errorCode: coded.code,
          errorMessage: err.message.slice(0, 2000),
          attemptsMade: job.attemptsMade,
          failedAt: new Date().toISOString(),
        },
        { jobId: `dl.${String(job.id)}`, removeOnComplete: false, removeOnFail: false },
      );
      if (requestId) {
        const rec = await this.o.store.get(requestId);
        if (rec) {
          await this.o.audit.append(
            {
              action: 'request.dead_lettered',
              actor: SYSTEM,
              requestId,
              target: rec.target,
              detail: { queue, job: job.name, code: coded.code },
            },
            { dedupeKey: `${requestId}:dead:${String(job.id)}` },
          );
          await this.announce('request.dead_lettered', rec);
          // A lifecycle job that gave up leaves the request failed, so nobody waits for it forever.
          if (queue === QUEUE.revocations && job.id !== jobIds.expire(requestId)) {
            const res = await this.o.store.transition(
              requestId,
              ['queued', 'running', 'scheduled'],
              'failed',
              {
                result: {
                  ok: false,
                  revoked: 0,
                  remaining: -1,
                  error: `${coded.code}: ${err.message}`.slice(0, 500),
                },
              },
            );
            if (res.ok) {
              this.o.metrics.outcomes.inc({ outcome: 'failed', scope: rec.target.kind });
              await this.stateChanged('request.failed', res.record, { error: coded.code });
            }
          }
        }
      }
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'could not dead-letter a job');
    }
  }

  /** The person's email, by which every other connection finds them: known at intake, else asked of the first. */
  private async emailOf(rec: RequestRecord): Promise<string | undefined> {
    if (rec.targetEmail) return rec.targetEmail;
    if (rec.target.kind !== 'user') return undefined;
    const { userId } = rec.target;
    const conn = this.connectionOf(rec);
    try {
      return (await this.idpCall(conn, 'lookup', () => conn.idp.getUser(userId))).email?.toLowerCase();
    } catch (err) {
      if (err instanceof IdpNotFoundError) return undefined;
      throw err;
    }
  }

  /**
   * A fan-out's child finds its person in its own connection by email: one account goes on to be planned
   * (true); none ends the child as `no account`; several are refused as ambiguous (issue 16), failed naming
   * the ids. A connection that is down throws: the job is retried and the parent says it waits for it.
   */
  private async resolveInConnection(rec: RequestRecord): Promise<boolean> {
    const conn = this.connectionOf(rec);
    const email = rec.targetEmail ?? (rec.target.kind === 'user' ? rec.target.userId : '');
    let user: Awaited<ReturnType<IdentityProvider['findUserByEmail']>>;
    try {
      user = await this.idpCall(conn, 'lookup', () => conn.idp.findUserByEmail(email));
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      await this.endFailed(rec, `${err.code}: ${err.message}`);
      return false;
    }
    if (!user) {
      await this.endNoAccount(rec, `no account with that email in ${conn.id}`);
      return false;
    }
    const res = await this.o.store.transition(rec.id, ['running'], 'running', {
      target: { kind: 'user', userId: user.id },
      resolveByEmail: false,
      targetName: truncateGraphemes(userDisplayName(user), 500),
    });
    return res.ok;
  }

  /** A child whose connection has no account for the person: done, nothing to revoke (it counts as done). */
  private async endNoAccount(rec: RequestRecord, why: string): Promise<void> {
    const res = await this.o.store.transition(rec.id, ['running'], 'verified', {
      result: { ok: true, revoked: 0, remaining: 0, noAccount: true, parts: [] },
      progress: { ...rec.progress, done: rec.progress.total },
    });
    if (!res.ok) return;
    await this.stateChanged('request.verified', res.record, {
      ...(rec.connection ? { connection: rec.connection } : {}),
      noAccount: true,
      why: truncateGraphemes(why, 300),
    });
  }

  /** A request that cannot go on (an ambiguous look-up): failed with why, audited, announced. */
  private async endFailed(rec: RequestRecord, error: string): Promise<void> {
    const res = await this.o.store.transition(rec.id, ['running', 'queued'], 'failed', {
      result: { ok: false, revoked: 0, remaining: -1, error: truncateGraphemes(error, 500) },
    });
    if (!res.ok) return;
    this.o.metrics.outcomes.inc({ outcome: 'failed', scope: rec.target.kind });
    await this.stateChanged('request.failed', res.record, {
      ...(rec.connection ? { connection: rec.connection } : {}),
      error: truncateGraphemes(error, 300),
    });
  }

  /**
   * A fan-out child's job failed and will be retried (its connection is down, refusing or slow): the child
   * says so, and its parent's line names the connection it waits for.
   */
  private async noteWaiting(requestId: string, err: Error): Promise<void> {
    const rec = await this.o.store.get(requestId);
    if (rec?.parent === undefined || (rec.state !== 'queued' && rec.state !== 'running')) return;
    const coded = asCodedError(err);
    const waiting = truncateGraphemes(`${coded.code}: ${sanitizeOutsideText(err.message)}`, 300);
    if (rec.waiting === waiting) return;
    const res = await this.o.store.transition(requestId, [rec.state], rec.state, { waiting });
    if (res.ok) await this.fanOut.childChanged(res.record);
  }

  /**
   * The connection of a request (none named: the primary). One this process lacks throws an unrecoverable
   * error: the job fails for good and the request with it, audited (onFailed).
   */
  private connectionOf(rec: RequestRecord): Connection {
    try {
      return this.connections.of(rec.connection);
    } catch (err) {
      if (err instanceof UnknownConnectionError) throw new IdpGaveUpError(err);
      throw err;
    }
  }

  /**
   * The connection of an IdP-call job: its queue's. A job that names another connection (planned for one
   * since removed or reordered) is never run against this one: it fails for good, audited.
   */
  private callConnection(job: Job<IdpCallJob>): Connection {
    const conn = this.queueConnection.get(job.queueName) ?? this.connections.primary;
    const named = job.data.connection;
    if (named !== undefined && named !== conn.id) {
      throw new IdpGaveUpError(new UnknownConnectionError(named, [conn.id]));
    }
    return conn;
  }

  /** A running request whose connection is gone: failed, audited, announced. */
  private async failForConnection(rec: RequestRecord, err: UnknownConnectionError): Promise<void> {
    const res = await this.o.store.transition(rec.id, ['running'], 'failed', {
      result: { ok: false, revoked: 0, remaining: -1, error: `${err.code}: ${err.message}`.slice(0, 500) },
    });
    if (!res.ok) return;
    this.o.metrics.outcomes.inc({ outcome: 'failed', scope: rec.target.kind });
    await this.stateChanged('request.failed', res.record, {
      error: err.code,
      connection: err.connection,
    });
  }

  private async stateChanged(
    type: RequestEventType & AuditAction,
    rec: RequestRecord,
    detail: Record<string, string | number | boolean | null>,
  ): Promise<void> {
    await this.o.audit.append(
      { action: type, actor: SYSTEM, requestId: rec.id, target: rec.target, detail },
      { dedupeKey: `${rec.id}:${type}` },
    );
    await this.announce(type, rec);
  }

  private async announce(type: RequestEventType, request: RequestRecord): Promise<void> {
    try {
      // A fan-out's child speaks through its parent's line for its connection, never on its own.
      if (request.parent !== undefined) return await this.fanOut.childChanged(request);
      await this.o.notifier.notify({ type, request });
    } catch (err) {
      this.log.warn({ requestId: request.id, err: (err as Error).message }, 'notifier failed');
    }
  }
}

/** A permanent IdP failure: BullMQ must not retry it (UnrecoverableError), and the code travels with it. */
class IdpGaveUpError extends UnrecoverableError {
  constructor(readonly idpError: CodedError) {
    super(`${idpError.code}: ${idpError.message}`);
  }
}

/** Whether a token of the recorded scope belongs to this step (a user step covers only that user's tokens). */
function inStep(step: Target, t: TokenRef): boolean {
  if (step.kind === 'user') return t.userId === undefined || t.userId === step.userId;
  return true;
}
