import { ConflictError } from '../domain/errors.ts';
import { truncateGraphemes } from '../domain/outside-text.ts';
import { targetKey } from '../domain/target.ts';
import { IdpNotFoundError } from '../identity/errors.ts';
import { type IdentityProvider, userDisplayName } from '../identity/port.ts';
import type { StoredPlan } from '../intake/request-store.ts';
import type { RequestRecord } from '../intake/types.ts';
import { isFanOutParent } from './fan-out.ts';
import type { PipelineContext } from './pipeline-context.ts';

/**
 * The lifecycle jobs before any IdP call: a scheduled start, an approval's expiry, and the plan — a dry run
 * at the IdP stored before a job per call is added (or, for a user revocation in several connections, one
 * child request per connection; a child first finds its person in its own connection).
 */
export class RequestPlanner {
  constructor(private readonly c: PipelineContext) {}

  /** A scheduled request's time has come. A cancelled one is no longer `scheduled`: nothing happens. */
  async start_(requestId: string): Promise<void> {
    const res = await this.c.o.store.transition(requestId, ['scheduled'], 'queued');
    if (!res.ok) return;
    await this.c.o.queues.enqueuePlan(res.record);
    await this.c.stateChanged('request.queued', res.record, {});
  }

  async expire(requestId: string): Promise<void> {
    const res = await this.c.o.store.transition(requestId, ['pending_approval'], 'expired');
    if (!res.ok) return;
    this.c.o.metrics.outcomes.inc({ outcome: 'expired', scope: res.record.target.kind });
    await this.c.stateChanged('request.expired', res.record, {});
  }

  /**
   * Dry run at the IdP, then a job per IdP call. The plan's listing is recorded as the request's scope
   * (and, when nobody saw a dry run earlier, as its impact), and the plan itself is stored, before any
   * job is added: every step can audit against the scope, and a rerun after a crash adds the same steps.
   */
  async plan(requestId: string): Promise<void> {
    const current = await this.c.o.store.get(requestId);
    // A request today's configuration no longer allows ends failed here, before anything is planned. A
    // fan-out's child was allowed with its parent, whose rights were checked when it started.
    if (current?.parent === undefined && this.c.o.rights && !(await this.c.o.rights.holds(requestId))) return;
    const res = await this.c.o.store.transition(requestId, ['queued', 'running'], 'running', {
      waiting: null,
    });
    if (!res.ok) return;
    // Before anything else: a request of a connection this process lacks fails here (never runs elsewhere).
    this.c.connectionOf(res.record);
    if (res.from === 'queued') await this.c.stateChanged('request.started', res.record, {});
    if (isFanOutParent(res.record)) {
      await this.c.fanOut.start(res.record, await this.emailOf(res.record));
      return;
    }
    if (res.record.resolveByEmail) {
      const resolved = await this.resolveInConnection(res.record);
      if (!resolved) return;
    }
    // A rerun after a crash: every job was already added, and the steps finalize the request themselves.
    if ((await this.c.o.store.planInfo(requestId))?.added) return;
    const stored = await this.c.o.store.planOf(requestId);
    const plan =
      stored ?? (await this.makePlan(requestId, (await this.c.o.store.get(requestId)) ?? res.record));
    if (plan.steps.length === 0) {
      await this.c.o.queues.enqueueFinalize(res.record);
    } else {
      // Steps settled before a crash (done, and perhaps already removed from the queue) are not added again.
      const settled = stored
        ? await this.c.o.store.settledAmong(requestId, plan.steps.map(targetKey))
        : new Set<string>();
      await this.c.o.queues.addSteps(
        res.record,
        plan.steps.filter((step) => !settled.has(targetKey(step))),
        // Jobs name their connection when connections are configured; a process given one bare adapter
        // (no registry) leaves them unnamed, so workers of any single-IdP process may take them as before.
        this.c.o.connections ? this.c.connectionOf(res.record).id : undefined,
      );
    }
    await this.c.o.store.markPlanAdded(requestId);
    this.c.log.info({ requestId, steps: plan.steps.length, sweep: Boolean(plan.sweep) }, 'request planned');
  }

  /** The IdP's plan, recorded (scope, impact, progress) and stored before anything is enqueued. */
  private async makePlan(requestId: string, record: RequestRecord): Promise<StoredPlan> {
    const conn = this.c.connectionOf(record);
    const plan = await this.c.idpCall(conn, 'plan', () => conn.idp.plan(record.target));
    const since = Date.now();
    await this.c.o.store.recordScope(requestId, plan.tokens);
    const impact = {
      userCount: plan.userCount,
      ...(plan.tokenCount === undefined ? {} : { tokenCount: plan.tokenCount }),
    };
    const updated = await this.c.o.store.transition(requestId, ['running'], 'running', {
      waiting: null,
      progress: {
        done: 0,
        total: plan.steps.length,
        ...(plan.tokenCount === undefined ? {} : { tokens: plan.tokenCount }),
      },
      ...(record.impact ? {} : { impact }),
    });
    const stored = { steps: plan.steps, since, ...(plan.sweep ? { sweep: plan.sweep } : {}) };
    await this.c.guard.recordPlan(requestId, plan.steps);
    await this.c.o.store.savePlan(requestId, stored);
    if (updated.ok) await this.c.announce('request.progress', updated.record);
    return stored;
  }

  /** The person's email, by which every other connection finds them: known at intake, else asked of the first. */
  private async emailOf(rec: RequestRecord): Promise<string | undefined> {
    if (rec.targetEmail) return rec.targetEmail;
    if (rec.target.kind !== 'user') return undefined;
    const { userId } = rec.target;
    const conn = this.c.connectionOf(rec);
    try {
      return (await this.c.idpCall(conn, 'lookup', () => conn.idp.getUser(userId))).email?.toLowerCase();
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
    const conn = this.c.connectionOf(rec);
    const email = rec.targetEmail ?? (rec.target.kind === 'user' ? rec.target.userId : '');
    let user: Awaited<ReturnType<IdentityProvider['findUserByEmail']>>;
    try {
      user = await this.c.idpCall(conn, 'lookup', () => conn.idp.findUserByEmail(email));
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      await this.c.endFailed(rec, `${err.code}: ${err.message}`);
      return false;
    }
    if (!user) {
      await this.c.endNoAccount(rec, `no account with that email in ${conn.id}`);
      return false;
    }
    const res = await this.c.o.store.transition(rec.id, ['running'], 'running', {
      target: { kind: 'user', userId: user.id },
      resolveByEmail: false,
      targetName: truncateGraphemes(userDisplayName(user), 500),
    });
    return res.ok;
  }
}
