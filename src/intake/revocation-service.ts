import type { Redis } from 'ioredis';
import type { RefusalRecorder } from '../audit/refusal-log.ts';
import type { AuditLog } from '../audit/types.ts';
import type { ConnectionRegistry } from '../connections/connection-registry.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../domain/errors.ts';
import { type Actor, isAutomatedSource, type RequestState, TERMINAL_STATES } from '../domain/request.ts';
import { type Target, TargetSchema } from '../domain/target.ts';
import { asInteractive } from '../identity/idp-call-context.ts';
import type { IdentityProvider, RevocationPlan } from '../identity/port.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { RevocationQueues } from '../queue/revocation-queues.ts';
import { confirmReplicated, durabilityMark } from '../redis/durability.ts';
import type { WorkflowEngine } from '../workflows/types.ts';
import { decisionOf, mayDecide, protect } from './approval-rules.ts';
import { idempotencyTtlSeconds } from './idempotency-ttl.ts';
import { fanOutConnections, idpOf, lookUp } from './intake-lookups.ts';
import { newRecord, newRequestId, parseSubmitInput, reportFacts } from './new-record.ts';
import type { Notifier } from './notifier.ts';
import { actorOf, RequestChronicle, systemActor } from './request-chronicle.ts';
import type { RedisRequestStore } from './request-store.ts';
import { throttle } from './requester-throttle.ts';
import { stateWord } from './state-words.ts';
import { StopVote } from './stop-vote.ts';
import type {
  CancelVoteResult,
  Intake,
  ListFilter,
  RequestRecord,
  SubmitInput,
  SubmitResult,
} from './types.ts';

export interface RevocationServiceOptions {
  store: RedisRequestStore;
  queues: RevocationQueues;
  workflows: WorkflowEngine;
  idp: IdentityProvider;
  audit: AuditLog;
  notifier: Notifier;
  metrics: Metrics;
  logger: Logger;
  /** A separate connection for pub/sub (waitForOutcome); created lazily from `redis` when absent. */
  redis: Redis;
  /** Default `() => new Date()`. */
  clock?: () => Date;
  /** How long submit waits for the impact dry run before going on without it. Default 2,000 ms. */
  previewTimeoutMs?: number;
  /**
   * New Slack requests per requester per minute, counted in Redis under `prefix` so the limit holds
   * across web processes (REQUESTS_PER_MINUTE, default 10; 0 = no limit).
   */
  requestLimit?: { perMinute: number; prefix: string };
  /** Refusals (throttled requesters) are counted here per minute. */
  refusals?: RefusalRecorder;
  /**
   * Break-glass users (PROTECTED_USERS): HR and SCIM never revoke them without an approval from
   * `approvers`. Answers for an IdP user id.
   */
  protectedUsers?: { isProtected(userId: string): Promise<boolean>; approvers: string[] };
  /**
   * Every connection (src/connections/): a request is bound to one at submit (its `connection`, else the
   * primary) and its look-ups go to that one. Absent: `idp` alone, and records name no connection.
   */
  connections?: ConnectionRegistry;
  /**
   * SLACK_IDP_USER_MAP: Slack user id → IdP user id, consulted first when a Slack voter must be identified
   * at the IdP (stopping an HR/SCIM revocation); default none (Slack's confirmed email only).
   */
  slackIdpUserMap?: ReadonlyMap<string, string>;
  /**
   * HR_REPLAY_WINDOW_SECONDS in ms: HR idempotency keys outlive the longest HR replay window (vendor spans
   * or this, whichever is longer) by a day; default 0 (the vendors' spans).
   */
  hrReplayWindowMs?: number;
}

/**
 * The intake: one application service behind Slack, HR, SCIM and the CLI. It asks the workflow who may
 * do what, keeps the request's state in Redis (atomic transitions), writes every change to the audit log
 * exactly once, announces it to the notifier, and hands approved work to the queues.
 */
export class RevocationService implements Intake {
  private readonly clock: () => Date;
  private readonly previewTimeoutMs: number;
  private readonly chronicle: RequestChronicle;
  private readonly stopVote: StopVote;

  constructor(private readonly o: RevocationServiceOptions) {
    this.clock = o.clock ?? (() => new Date());
    this.previewTimeoutMs = o.previewTimeoutMs ?? 2000;
    this.chronicle = new RequestChronicle(o);
    this.stopVote = new StopVote(o, this.clock, this.chronicle);
  }

  async submit(raw: SubmitInput): Promise<SubmitResult> {
    const mark = durabilityMark(this.o.redis);
    const input = parseSubmitInput(raw);
    // Named before idpOf binds the input to the primary: a user revocation that names no connection runs in all.
    const fanOut = fanOutConnections(this.o.connections, input);
    const idp = idpOf(this.o.connections, this.o.idp, input);
    if (input.idempotencyKey !== undefined) {
      const existing = await this.o.store.getByIdempotencyKey(input.idempotencyKey);
      if (existing) {
        // A retry after a 503 (too few replicas) finds the first attempt's record: it is acknowledged
        // now, so it must be replicated now.
        await this.durable(mark);
        return { request: existing, duplicate: true };
      }
    }

    let decision = await this.o.workflows.decide({
      source: input.source,
      scope: input.target.kind,
      requestedBy: input.requestedBy,
    });
    if (!decision.allowed) {
      await this.chronicle.reject(input, decision.reason ?? 'not allowed by any workflow');
      throw new ForbiddenError(decision.reason ?? 'no workflow allows this request');
    }
    await throttle(this.o, input, this.clock);
    decision = await protect(this.o, this.chronicle, input, decision);

    const now = this.clock();
    // A dry run only for someone who will look at it before the worker lists the scope anyway: the
    // approvers. Otherwise the worker's one listing is the impact (computed once per request).
    const known = input.impact ?? (decision.approvals.required > 0 ? undefined : 'worker');
    // A person waits on the submit (Slack's dialog, the CLI): their look-ups take the interactive lane.
    const look = () =>
      lookUp(
        { previewTimeoutMs: this.previewTimeoutMs, logger: this.o.logger },
        idp,
        input.target,
        known,
        input.targetName,
      );
    const { impact, targetName, targetEmail } = await (isAutomatedSource(input.source)
      ? look()
      : asInteractive(look));
    if (targetEmail && input.target.kind === 'user') input.targetEmail ??= targetEmail;
    const record = newRecord(newRequestId(), input, decision, now, impact, targetName, fanOut);
    const [stored, created] = await this.o.store.create(
      record,
      input.idempotencyKey,
      idempotencyTtlSeconds(input.source, this.o.hrReplayWindowMs),
    );
    if (!created) {
      await this.durable(mark);
      return { request: stored, duplicate: true };
    }

    this.o.metrics.requests.inc({ source: stored.source, scope: stored.target.kind });
    await this.chronicle.record('request.created', stored, actorOf(stored.requestedBy), {
      reason: stored.reason,
      workflow: stored.workflow,
      requiredApprovals: stored.requiredApprovals,
      effectiveAt: stored.effectiveAt ?? null,
      // For the offboarding report (`revoker report`): who, and which HR event, without reading Redis.
      ...reportFacts(stored),
      ...(stored.connection ? { connection: stored.connection } : {}),
    });
    await this.chronicle.announce('request.created', stored);

    if (stored.state === 'pending_approval') {
      await this.o.queues.scheduleExpiry(stored, Date.parse(stored.approvalExpiresAt!) - now.getTime());
      await this.durable(mark);
      return { request: stored, duplicate: false };
    }
    const released = await this.release(stored, decision.graceMs);
    await this.durable(mark);
    return { request: released, duplicate: false };
  }

  async approve(requestId: string, approver: Actor): Promise<RequestRecord> {
    const mark = durabilityMark(this.o.redis);
    const rec = await this.mustGet(requestId);
    const allowed = await mayDecide(this.o, rec, approver);
    if (!allowed.ok) return this.chronicle.refuse(approver, rec, allowed, 'approve');
    const res = await this.o.store.approve(requestId, { id: approver.id, name: approver.name }, this.clock());
    switch (res.outcome) {
      case 'missing':
        throw new NotFoundError(`no request ${requestId}`);
      case 'already':
        throw new ConflictError('you have already approved this request; it needs someone else');
      case 'state':
        throw new ConflictError(`this request is already ${stateWord(res.record.state)}`);
      case 'expired':
        await this.onExpired(res.record);
        throw new ConflictError('this request expired before it was approved');
      case 'recorded':
        await this.chronicle.audit('request.approval_recorded', approver, res.record, {
          approvals: res.record.approvals.length,
          required: res.record.requiredApprovals,
        });
        await this.chronicle.announce('request.approval_recorded', res.record);
        await this.durable(mark);
        return res.record;
      case 'approved': {
        await this.chronicle.audit('request.approval_recorded', approver, res.record, {
          approvals: res.record.approvals.length,
          required: res.record.requiredApprovals,
        });
        await this.chronicle.record('request.approved', res.record, approver, {});
        await this.chronicle.announce('request.approved', res.record);
        await this.o.queues.cancelExpiry(requestId);
        const decision = await this.o.workflows.decide({
          source: res.record.source,
          scope: res.record.target.kind,
          requestedBy: res.record.requestedBy,
        });
        const released = await this.release(res.record, decision.graceMs);
        await this.durable(mark);
        return released;
      }
    }
  }

  async deny(
    requestId: string,
    approver: Actor & { email?: string },
    reason: string,
  ): Promise<RequestRecord> {
    const mark = durabilityMark(this.o.redis);
    const rec = await this.mustGet(requestId);
    const allowed = await mayDecide(this.o, rec, approver);
    if (isAutomatedSource(rec.source)) {
      // Nobody stands behind an HR/SCIM request to withdraw it: a Deny is one vote to stop it, as Cancel is.
      if (!allowed.ok) return this.chronicle.refuse(approver, rec, allowed, 'deny');
      const vote = await this.stopVote.vote(rec, approver, reason, 'deny');
      return vote.request;
    }
    // The requester may always withdraw their own request; others must be approvers.
    if (!allowed.ok && !(rec.requestedBy.source === approver.source && rec.requestedBy.id === approver.id)) {
      return this.chronicle.refuse(approver, rec, allowed, 'deny');
    }
    const denial = { by: approver.id, name: approver.name, at: this.clock().toISOString(), reason };
    const res = await this.o.store.transition(requestId, ['pending_approval'], 'denied', { denial });
    if (!res.ok) {
      if (res.reason === 'missing') throw new NotFoundError(`no request ${requestId}`);
      throw new ConflictError(`this request is already ${stateWord(res.record.state)}`);
    }
    await this.o.queues.cancelExpiry(requestId);
    await this.chronicle.record('request.denied', res.record, approver, { reason });
    this.o.metrics.outcomes.inc({ outcome: 'denied', scope: res.record.target.kind });
    await this.chronicle.announce('request.denied', res.record);
    await this.durable(mark);
    return res.record;
  }

  async cancel(requestId: string, actor: Actor, reason: string): Promise<RequestRecord> {
    const mark = durabilityMark(this.o.redis);
    const current = await this.mustGet(requestId);
    // An automated request is withdrawn outright only by its own source (an HR "termination called off");
    // a person stops it through the stop vote (requestCancel, Deny), never here.
    if (
      isAutomatedSource(current.source) &&
      !(actor.source === current.requestedBy.source && actor.id === current.requestedBy.id)
    ) {
      return this.chronicle.refuse(
        actor,
        current,
        {
          ok: false,
          code: 'not_the_source',
          reason: 'an HR or SCIM revocation is stopped only by the agreed number of admins or approvers',
        },
        'cancel',
      );
    }
    const res = await this.o.store.transition(requestId, ['pending_approval', 'scheduled'], 'cancelled', {
      denial: { by: actor.id, name: actor.name, at: this.clock().toISOString(), reason },
    });
    if (!res.ok) {
      if (res.reason === 'missing') throw new NotFoundError(`no request ${requestId}`);
      throw new ConflictError(
        `this request is already ${stateWord(res.record.state)}; it can no longer be cancelled`,
      );
    }
    await this.stopVote.afterCancel(res.record, actor, reason);
    await this.durable(mark);
    return res.record;
  }

  async requestCancel(requestId: string, actor: Actor & { email?: string }): Promise<CancelVoteResult> {
    return this.stopVote.requestCancel(await this.mustGet(requestId), actor);
  }

  async reschedule(requestId: string, effectiveAt: string, actor: Actor): Promise<RequestRecord> {
    const mark = durabilityMark(this.o.redis);
    const when = Date.parse(effectiveAt);
    if (Number.isNaN(when)) throw new ValidationError(`effectiveAt is not a date: ${effectiveAt}`);
    const current = await this.mustGet(requestId);
    const graceMs = (
      await this.o.workflows.decide({
        source: current.source,
        scope: current.target.kind,
        requestedBy: current.requestedBy,
      })
    ).graceMs;
    const startAt = new Date(when + graceMs).toISOString();
    const res = await this.o.store.transition(requestId, ['scheduled'], 'scheduled', {
      effectiveAt,
      startAt,
    });
    if (!res.ok) {
      if (res.reason === 'missing') throw new NotFoundError(`no request ${requestId}`);
      throw new ConflictError(`this request is already ${stateWord(res.record.state)}; it cannot be moved`);
    }
    await this.o.queues.rescheduleStart(res.record, Date.parse(startAt) - this.clock().getTime());
    await this.chronicle.audit(
      'request.rescheduled',
      actor,
      res.record,
      { effectiveAt },
      `${requestId}:rescheduled:${effectiveAt}`,
    );
    await this.chronicle.announce('request.scheduled', res.record);
    await this.durable(mark);
    return res.record;
  }

  /**
   * The caller (Slack, an HR vendor, a SCIM client, the CLI) is about to be told this happened: wait for
   * the replicas REDIS_MIN_REPLICAS_ACK asks for, so a failover cannot take it back. All of this process's
   * writes go through the one shared connection; `mark` (taken before them) tells whether it stayed on one
   * server meanwhile.
   */
  private durable(mark: number): Promise<void> {
    return confirmReplicated(this.o.redis, mark);
  }

  get(requestId: string): Promise<RequestRecord | undefined> {
    return this.o.store.get(requestId);
  }

  async list(filter: ListFilter): Promise<RequestRecord[]> {
    const who = filter.awaitingApprovalFrom;
    if (who === undefined) return this.o.store.list(filter);
    // Whether `who` may approve is the workflow's call (user groups, self-approval), not a list lookup.
    const pending = await this.o.store.list({ ...filter, limit: 1000 });
    const approver: Actor = { source: 'slack', id: who };
    const mine: RequestRecord[] = [];
    for (const r of pending) {
      if ((await this.o.workflows.canApprove(decisionOf(r), r.requestedBy, approver)).ok) mine.push(r);
      if (mine.length >= (filter.limit ?? 20)) break;
    }
    return mine;
  }

  async preview(target: Target, connection?: string): Promise<RevocationPlan> {
    // An unknown connection is the caller's mistake, never the primary's plan (UnknownConnectionError).
    const idp =
      connection === undefined ? this.o.idp : (this.o.connections?.of(connection).idp ?? this.o.idp);
    return idp.plan(TargetSchema.parse(target));
  }

  async waitForOutcome(requestId: string, timeoutMs: number): Promise<RequestRecord> {
    const sub = this.o.redis.duplicate();
    try {
      let wake: () => void = () => undefined;
      sub.on('message', () => wake());
      await sub.subscribe(this.o.store.eventsChannel);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const rec = await this.mustGet(requestId);
        if (TERMINAL_STATES.includes(rec.state)) return rec;
        const left = deadline - Date.now();
        if (left <= 0)
          throw new ConflictError(`request ${requestId} is still ${rec.state} after ${timeoutMs} ms`);
        // Wake on any state change (or at most every second, in case a message was missed).
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(left, 1000));
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    } finally {
      sub.disconnect();
    }
  }

  private async release(rec: RequestRecord, graceMs: number): Promise<RequestRecord> {
    const now = this.clock().getTime();
    const startAt = (rec.effectiveAt ? Date.parse(rec.effectiveAt) : now) + graceMs;
    const from: RequestState[] = ['approved', 'queued', 'scheduled'];
    if (startAt > now) {
      const res = await this.o.store.transition(rec.id, from, 'scheduled', {
        startAt: new Date(startAt).toISOString(),
      });
      if (!res.ok) return rec;
      await this.o.queues.scheduleStart(rec, startAt - now);
      await this.chronicle.record('request.scheduled', res.record, systemActor, {
        startAt: new Date(startAt).toISOString(),
      });
      await this.chronicle.announce('request.scheduled', res.record);
      return res.record;
    }
    const res = await this.o.store.transition(rec.id, from, 'queued');
    if (!res.ok) return rec;
    await this.o.queues.enqueuePlan(rec);
    await this.chronicle.record('request.queued', res.record, systemActor, {});
    await this.chronicle.announce('request.queued', res.record);
    return res.record;
  }

  private async onExpired(rec: RequestRecord): Promise<void> {
    await this.chronicle.record('request.expired', rec, systemActor, {});
    this.o.metrics.outcomes.inc({ outcome: 'expired', scope: rec.target.kind });
    await this.chronicle.announce('request.expired', rec);
  }

  private async mustGet(requestId: string): Promise<RequestRecord> {
    const rec = await this.o.store.get(requestId);
    if (!rec) throw new NotFoundError(`no request ${requestId}`);
    return rec;
  }
}
