import type { Job } from 'bullmq';
import { type Target, targetKey } from '../domain/target.ts';
import { IdpNotFoundError } from '../identity/errors.ts';
import { showsEveryPartDone } from '../identity/part-outcomes.ts';
import type { TokenRef } from '../identity/port.ts';
import type { RequestRecord } from '../intake/types.ts';
import type { RequestRef } from './job-priority.ts';
import { type IdpCallJob, IdpCallJobSchema } from './job-schemas.ts';
import type { PipelineContext } from './pipeline-context.ts';

/**
 * The `idp-calls` jobs: one IdP call each (a token, or a bulk call over a user, an application or an API),
 * its answer audited exactly once, the step counted as settled; the step that settles the last enqueues
 * `finalize`.
 */
export class IdpCallSteps {
  /** Planned progress per running request, for progress reports (bounded: cleared when it grows large). */
  private readonly totals = new Map<string, { progress: RequestRecord['progress']; request: RequestRef }>();

  constructor(private readonly c: PipelineContext) {}

  async runCall(job: Job<IdpCallJob>, token: string | undefined): Promise<void> {
    const { requestId, step, stepKey } = IdpCallJobSchema.parse(job.data);
    this.c.callConnection(job); // a job of another connection fails here, before any call
    await this.c.guard.check({ requestId, step, stepKey, id: job.id });
    const revoked =
      step.kind === 'token'
        ? await this.revokeToken(step, job, token)
        : await this.revokeBulk(requestId, step, stepKey, job, token);
    // Both at once, one round trip: each is idempotent, and the job completes only once both have, so a
    // crash in between reruns it, whose appends dedupe (exactly once) and whose step is counted once.
    const [, { done, isNew }] = await Promise.all([
      this.c.auditRevoked(requestId, revoked),
      this.c.o.store.completeStep(
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
      const conn = this.c.callConnection(job);
      revoked = (await this.c.idpCall(conn, 'revoke', () => conn.idp.revoke(step), job, token)).revoked;
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
    const conn = this.c.callConnection(job);
    const call = async () => {
      let revoked: TokenRef[];
      try {
        ({ revoked } = await this.c.idpCall(conn, 'revoke', () => conn.idp.revoke(step), job, token));
      } catch (err) {
        // "No such person" from a connection that learns it only by calling (a GTR app's 404): done, no account.
        if (!(err instanceof IdpNotFoundError && (err as { noAccount?: boolean }).noAccount === true))
          throw err;
        await this.c.o.store.noteNoAccount(requestId);
        revoked = [];
      }
      await this.c.o.store.recordBulkAnswer(requestId, stepKey, revoked);
      return revoked;
    };
    if (await this.c.o.store.markBulkCall(requestId, stepKey)) return call();
    const answered = await this.c.o.store.bulkAnswer(requestId, stepKey);
    if (answered) return answered;
    const since = await this.startedAt(requestId, job);
    const [recorded, check] = await Promise.all([
      this.c.o.store.scopeOf(requestId),
      this.c.idpCall(conn, 'verify', () => conn.idp.verify(step, { since }), job, token),
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
    const plan = await this.c.o.store.planInfo(requestId);
    return new Date(plan?.since ?? job.timestamp);
  }

  /**
   * A step has settled (done, or finally failed), `done` of them so far. The one that brings the count
   * to the total enqueues `finalize`; a rerun of it (a crash before its job completed) enqueues it again,
   * which is a no-op. Progress reaches Slack in about ten steps per request, not one per call. The total
   * is fixed once steps run, so it is read once per request, not per step.
   */
  async stepSettled(requestId: string, done: number, isNew: boolean): Promise<void> {
    let known = this.totals.get(requestId);
    if (known === undefined) {
      const rec = await this.c.o.store.get(requestId);
      if (rec?.state !== 'running') return;
      known = {
        progress: rec.progress,
        request: { id: rec.id, source: rec.source, connection: rec.connection },
      };
      if (this.totals.size >= 1000) this.totals.clear();
      this.totals.set(requestId, known);
    }
    const planned = known.progress;
    const { total } = planned;
    if (done >= total) {
      this.totals.delete(requestId);
      await this.c.o.queues.enqueueFinalize(known.request);
    }
    const stride = Math.max(1, Math.ceil(total / 10));
    if (!isNew || (done < total && done % stride !== 0)) return;
    const res = await this.c.o.store.transition(requestId, ['running'], 'running', {
      waiting: null,
      progress: { ...planned, done: Math.min(done, total) },
    });
    if (res.ok) await this.c.announce('request.progress', res.record);
  }

  /**
   * Settles the step of an `idp-calls` job that finally failed, so its request still finalizes (its
   * verifying check decides the outcome). Idempotent; the reconciler does it again for a process that
   * died before it could.
   */
  async settleFailedStep(job: IdpCallJob): Promise<void> {
    const { requestId, stepKey } = job;
    // A refused job (no plan made that step, or a key that is not its step's) must not count as one of the plan's steps.
    if (!(await this.isOwnPlannedStep(job))) return;
    const { done, isNew } = await this.c.o.store.failStep(requestId, stepKey);
    await this.stepSettled(requestId, done, isNew);
  }

  /** The job's step is the one its key names, and the request's plan made it (what the step guard lets run). */
  async isOwnPlannedStep({ requestId, step, stepKey }: IdpCallJob): Promise<boolean> {
    return targetKey(step) === stepKey && (await this.c.guard.isPlanned(requestId, stepKey));
  }
}

/** Whether a token of the recorded scope belongs to this step (a user step covers only that user's tokens). */
function inStep(step: Target, t: TokenRef): boolean {
  if (step.kind === 'user') return t.userId === undefined || t.userId === step.userId;
  return true;
}
