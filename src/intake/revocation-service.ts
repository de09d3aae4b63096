import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { RefusalRecorder } from '../audit/refusal-log.ts';
import type { AuditAction, AuditLog } from '../audit/types.ts';
import { CONNECTION_ID } from '../connections/connection.ts';
import type { ConnectionRegistry } from '../connections/connection-registry.ts';
import { childRequestId } from '../connections/connection-status.ts';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
  ValidationError,
} from '../domain/errors.ts';
import {
  type Actor,
  ActorSchema,
  isAutomatedSource,
  type RequestState,
  SourceSchema,
  TERMINAL_STATES,
} from '../domain/request.ts';
import { type Target, TargetSchema } from '../domain/target.ts';
import { type IdentityProvider, type RevocationPlan, userDisplayName } from '../identity/port.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { RevocationQueues } from '../queue/revocation-queues.ts';
import { confirmReplicated, durabilityMark } from '../redis/durability.ts';
import type { WorkflowDecision, WorkflowEngine } from '../workflows/types.ts';
import { idempotencyTtlSeconds } from './idempotency-ttl.ts';
import type { Notifier, RequestEventType } from './notifier.ts';
import type { RedisRequestStore } from './request-store.ts';
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

const SubmitInputSchema = z
  .object({
    target: TargetSchema,
    reason: z.string().trim().min(1, 'a reason is required').max(2000),
    requestedBy: ActorSchema,
    source: SourceSchema,
    effectiveAt: z.iso.datetime({ offset: true }).optional(),
    idempotencyKey: z.string().min(1).max(512).optional(),
    context: z.record(z.string(), z.string().max(2000)).optional(),
    impact: z
      .object({ tokenCount: z.number().int().min(0).optional(), userCount: z.number().int().min(0) })
      .strict()
      .optional(),
    targetName: z.string().min(1).max(500).optional(),
    connection: z.string().regex(CONNECTION_ID).optional(),
    targetEmail: z.string().trim().toLowerCase().pipe(z.email()).optional(),
  })
  .strict();

/**
 * A fresh, unguessable request id (so `/revoke status` cannot be probed by deriving ids); the same
 * idempotency key still finds the same request through the store's separate index.
 */
function newRequestId(): string {
  return `req_${randomBytes(15).toString('base64url')}`;
}

/**
 * Admits one more event into a sliding window when fewer than the limit are in it; returns the count
 * including this one when admitted, limit + 1 when not. KEYS: the window's ZSET. ARGV: now ms, window
 * start ms, limit, a unique member.
 */
const SLIDING_WINDOW = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[3]) then return n + 1 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], 61000)
return n + 1
`;

/** How long a cancellation vote waits for a second person before a protected request expires. */
const PROTECTED_APPROVAL_MS = 7 * 86_400_000;

/**
 * The intake: one application service behind Slack, HR, SCIM and the CLI. It asks the workflow who may
 * do what, keeps the request's state in Redis (atomic transitions), writes every change to the audit log
 * exactly once, announces it to the notifier, and hands approved work to the queues.
 */
export class RevocationService implements Intake {
  private readonly clock: () => Date;
  private readonly previewTimeoutMs: number;

  constructor(private readonly o: RevocationServiceOptions) {
    this.clock = o.clock ?? (() => new Date());
    this.previewTimeoutMs = o.previewTimeoutMs ?? 2000;
  }

  async submit(raw: SubmitInput): Promise<SubmitResult> {
    const mark = durabilityMark(this.o.redis);
    const parsed = SubmitInputSchema.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`);
      throw new ValidationError(`invalid request: ${issues.join('; ')}`, issues);
    }
    const input = parsed.data as SubmitInput;
    // Named before idpOf binds the input to the primary: a user revocation that names no connection runs in all.
    const fanOut = this.fanOutConnections(input);
    const idp = this.idpOf(input);
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
      await this.reject(input, decision.reason ?? 'not allowed by any workflow');
      throw new ForbiddenError(decision.reason ?? 'no workflow allows this request');
    }
    await this.throttle(input);
    decision = await this.protect(input, decision);

    const now = this.clock();
    // A dry run only for someone who will look at it before the worker lists the scope anyway: the
    // approvers. Otherwise the worker's one listing is the impact (computed once per request).
    const known = input.impact ?? (decision.approvals.required > 0 ? undefined : 'worker');
    const { impact, targetName, targetEmail } = await this.lookUp(idp, input.target, known, input.targetName);
    if (targetEmail && input.target.kind === 'user') input.targetEmail ??= targetEmail;
    const record = this.newRecord(newRequestId(), input, decision, now, impact, targetName, fanOut);
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
    await this.record('request.created', stored, actorOf(stored.requestedBy), {
      reason: stored.reason,
      workflow: stored.workflow,
      requiredApprovals: stored.requiredApprovals,
      effectiveAt: stored.effectiveAt ?? null,
      // For the offboarding report (`revoker report`): who, and which HR event, without reading Redis.
      ...reportFacts(stored),
      ...(stored.connection ? { connection: stored.connection } : {}),
    });
    await this.announce('request.created', stored);

    if (stored.state === 'pending_approval') {
      await this.o.queues.scheduleExpiry(stored.id, Date.parse(stored.approvalExpiresAt!) - now.getTime());
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
    const allowed = await this.mayDecide(rec, approver);
    if (!allowed.ok) return this.refuse(approver, rec, allowed, 'approve');
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
        await this.audit('request.approval_recorded', approver, res.record, {
          approvals: res.record.approvals.length,
          required: res.record.requiredApprovals,
        });
        await this.announce('request.approval_recorded', res.record);
        await this.durable(mark);
        return res.record;
      case 'approved': {
        await this.audit('request.approval_recorded', approver, res.record, {
          approvals: res.record.approvals.length,
          required: res.record.requiredApprovals,
        });
        await this.record('request.approved', res.record, approver, {});
        await this.announce('request.approved', res.record);
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
    const allowed = await this.mayDecide(rec, approver);
    if (isAutomatedSource(rec.source)) {
      // Nobody stands behind an HR/SCIM request to withdraw it: a Deny is one vote to stop it, as Cancel is.
      if (!allowed.ok) return this.refuse(approver, rec, allowed, 'deny');
      const vote = await this.stopVote(rec, approver, reason, 'deny');
      return vote.request;
    }
    // The requester may always withdraw their own request; others must be approvers.
    if (!allowed.ok && !(rec.requestedBy.source === approver.source && rec.requestedBy.id === approver.id)) {
      return this.refuse(approver, rec, allowed, 'deny');
    }
    const denial = { by: approver.id, name: approver.name, at: this.clock().toISOString(), reason };
    const res = await this.o.store.transition(requestId, ['pending_approval'], 'denied', { denial });
    if (!res.ok) {
      if (res.reason === 'missing') throw new NotFoundError(`no request ${requestId}`);
      throw new ConflictError(`this request is already ${stateWord(res.record.state)}`);
    }
    await this.o.queues.cancelExpiry(requestId);
    await this.record('request.denied', res.record, approver, { reason });
    this.o.metrics.outcomes.inc({ outcome: 'denied', scope: res.record.target.kind });
    await this.announce('request.denied', res.record);
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
      return this.refuse(
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
    await this.afterCancel(res.record, actor, reason);
    await this.durable(mark);
    return res.record;
  }

  private async afterCancel(rec: RequestRecord, actor: Actor, reason: string): Promise<void> {
    await Promise.all([this.o.queues.cancelStart(rec.id), this.o.queues.cancelExpiry(rec.id)]);
    await this.record('request.cancelled', rec, actor, { reason });
    this.o.metrics.outcomes.inc({ outcome: 'cancelled', scope: rec.target.kind });
    await this.announce('request.cancelled', rec);
  }

  /** Counts a new Slack request against its requester's per-minute allowance. */
  private async throttle(input: SubmitInput): Promise<void> {
    const limit = this.o.requestLimit;
    if (!limit || limit.perMinute <= 0 || input.source !== 'slack') return;
    // A sliding minute (not a fixed one, which would allow twice the limit across its boundary).
    const now = this.clock().getTime();
    const key = `${limit.prefix}:throttle:requests:${input.source}:${input.requestedBy.id}`;
    const count = (await this.o.redis.eval(
      SLIDING_WINDOW,
      1,
      key,
      String(now),
      String(now - 60_000),
      String(limit.perMinute),
      `${now}-${randomBytes(6).toString('hex')}`,
    )) as number;
    if (count <= limit.perMinute) return;
    this.o.metrics.rejections.inc({ source: input.source, reason: 'throttled' });
    this.o.refusals?.record({
      action: 'request.throttled',
      actor: { source: input.requestedBy.source, id: input.requestedBy.id },
      reason: 'requester_rate_limited',
    });
    throw new RateLimitedError(
      `you have made ${limit.perMinute} revocation requests in the last minute; wait a minute and try again`,
    );
  }

  /** HR/SCIM against a protected (break-glass) user: an approval is required, whatever the workflow says. */
  private async protect(input: SubmitInput, decision: WorkflowDecision): Promise<WorkflowDecision> {
    const p = this.o.protectedUsers;
    if (!p || !isAutomatedSource(input.source)) return decision;
    if (input.target.kind !== 'user' && input.target.kind !== 'token') return decision;
    if (decision.approvals.required > 0 || !(await p.isProtected(input.target.userId))) return decision;
    if (p.approvers.length === 0) {
      const reason = 'the user is protected and needs an approval, but no approvers are configured';
      await this.reject(input, reason);
      throw new ForbiddenError(reason);
    }
    return {
      ...decision,
      approvals: {
        required: 1,
        approvers: [...p.approvers],
        allowSelfApproval: false,
        expiresAfterMs: PROTECTED_APPROVAL_MS,
      },
    };
  }

  async requestCancel(requestId: string, actor: Actor & { email?: string }): Promise<CancelVoteResult> {
    const rec = await this.mustGet(requestId);
    // Only automated offboardings are called off this way; a pending Slack request is denied, not cancelled.
    if (!isAutomatedSource(rec.source)) {
      return this.refuse(
        actor,
        rec,
        {
          ok: false,
          code: 'not_automated',
          reason: 'only a scheduled HR or SCIM revocation can be cancelled here',
        },
        'cancel',
      );
    }
    return this.stopVote(rec, actor, 'cancelled from Slack during the grace window', 'cancel');
  }

  /**
   * The one rule for stopping an automated (HR, SCIM) request, whatever the button (Deny, Cancel): the
   * workflow's `cancellation.required` people (two by default) must agree, each identified at the IdP
   * (never the person leaving), while it is still waiting (scheduled, or pending approval).
   */
  private async stopVote(
    rec: RequestRecord,
    actor: Actor & { email?: string },
    reason: string,
    attempted: 'cancel' | 'deny',
  ): Promise<CancelVoteResult> {
    const voter: Actor = actorOf(actor) as Actor;
    if (rec.state !== 'scheduled' && rec.state !== 'pending_approval') {
      throw new ConflictError(
        `this request is already ${stateWord(rec.state)}; it can no longer be cancelled`,
      );
    }
    const who = await this.identify(rec, actor);
    if (who === 'unknown') {
      return this.refuse(
        voter,
        rec,
        {
          ok: false,
          code: 'identity_unknown',
          reason:
            'Revoker cannot tell who you are at the identity provider (you need an entry in SLACK_IDP_USER_MAP, or a confirmed Slack email that is exactly one IdP user’s), so it cannot tell you are not the person leaving',
        },
        attempted,
      );
    }
    if (who === 'self') {
      return this.refuse(
        voter,
        rec,
        {
          ok: false,
          code: 'own_offboarding',
          reason: 'you cannot cancel the revocation of your own access',
        },
        attempted,
      );
    }
    const required = rec.cancelApprovals ?? 2;
    const mark = durabilityMark(this.o.redis);
    const res = await this.o.store.voteCancel(rec.id, voter, required, this.clock());
    switch (res.outcome) {
      case 'missing':
        throw new NotFoundError(`no request ${rec.id}`);
      case 'state':
        throw new ConflictError(
          `this request is already ${stateWord(res.record.state)}; it can no longer be cancelled`,
        );
      case 'already':
        throw new ConflictError(
          'you have already asked to cancel this; a second admin or approver must confirm',
        );
      case 'recorded': {
        const votes = res.record.cancelVotes?.length ?? 0;
        await this.audit('request.cancel_requested', voter, res.record, { votes, required, attempted });
        await this.durable(mark);
        return { request: res.record, cancelled: false, votes, required };
      }
      case 'cancelled': {
        if (res.record.state === 'denied') {
          await this.o.queues.cancelExpiry(rec.id);
          await this.record('request.denied', res.record, voter, { reason });
          this.o.metrics.outcomes.inc({ outcome: 'denied', scope: res.record.target.kind });
          await this.announce('request.denied', res.record);
        } else {
          await this.afterCancel(res.record, voter, reason);
        }
        await this.durable(mark);
        return { request: res.record, cancelled: true, votes: required, required };
      }
    }
  }

  /**
   * Who is this voter at the IdP? Their entry in SLACK_IDP_USER_MAP (Slack user id → IdP user id) when
   * they have one; else their Slack email (confirmed by Slack) must name exactly one IdP user, whose own
   * email is that very address (no plus-address or alias folding); that user is then compared
   * with the request's target by IdP user id, and the address with the HR delivery's. Unknown when it
   * cannot be established: the vote is refused.
   */
  private async identify(
    rec: RequestRecord,
    actor: Actor & { email?: string },
  ): Promise<'self' | 'other' | 'unknown'> {
    const targetUser =
      rec.target.kind === 'user' || rec.target.kind === 'token' ? rec.target.userId : undefined;
    // The operator's explicit mapping comes first: an identity the user cannot edit.
    const norm = (e: string | undefined) => e?.trim().toLowerCase();
    const email = actor.email;
    // The HR delivery's own address is the person leaving, whatever any mapping says (only ever narrows).
    if (email && norm(rec.context?.email) === norm(email)) return 'self';
    const mapped = actor.source === 'slack' ? this.o.slackIdpUserMap?.get(actor.id) : undefined;
    if (mapped !== undefined) return mapped === targetUser ? 'self' : 'other';
    if (!email) return 'unknown';
    const user = await this.o.idp.findUserByEmail(email.trim().toLowerCase()).catch(() => undefined);
    if (!user || norm(user.email) !== norm(email)) return 'unknown';
    return targetUser === user.id ? 'self' : 'other';
  }

  /**
   * May `approver` approve or deny `rec`? Against TODAY's workflows and approver lists (an approver
   * removed since the request was made may no longer decide), narrowed by the request's own snapshot
   * (someone added since may not decide a request made before).
   */
  private async mayDecide(rec: RequestRecord, approver: Actor): Promise<Decision> {
    const snapshot = await this.o.workflows.canApprove(decisionOf(rec), rec.requestedBy, approver);
    if (!snapshot.ok) return { ok: false, code: 'not_an_approver', reason: snapshot.reason };
    const today = await this.todayDecision(rec);
    if (!today) {
      return { ok: false, code: 'workflow_gone', reason: 'no workflow allows this request any more' };
    }
    const now = await this.o.workflows.canApprove(today, rec.requestedBy, approver);
    return now.ok ? { ok: true } : { ok: false, code: 'not_an_approver', reason: now.reason };
  }

  /** The workflow's decision for `rec` under today's configuration (protected users included). */
  private async todayDecision(rec: RequestRecord): Promise<WorkflowDecision | undefined> {
    const decision = await this.o.workflows.decide({
      source: rec.source,
      scope: rec.target.kind,
      requestedBy: rec.requestedBy,
    });
    if (!decision.allowed) return undefined;
    const p = this.o.protectedUsers;
    if (decision.approvals.required > 0 || !isAutomatedSource(rec.source) || rec.requiredApprovals === 0) {
      return decision;
    }
    // Approval was required only because the user is protected: today's PROTECTED approvers decide.
    if (!p || p.approvers.length === 0) return undefined;
    return {
      ...decision,
      approvals: { required: 1, approvers: [...p.approvers], allowSelfApproval: false, expiresAfterMs: 0 },
    };
  }

  /**
   * Refuses `actor` at `attempted`: counted per minute in the refusal log (one audit entry per actor,
   * reason and minute, however many clicks), then a ForbiddenError with the reason.
   */
  private async refuse(
    actor: { source: string; id: string; name?: string | undefined },
    rec: RequestRecord,
    refusal: Extract<Decision, { ok: false }>,
    attempted: string,
  ): Promise<never> {
    this.o.metrics.rejections.inc({ source: actor.source, reason: 'forbidden' });
    if (this.o.refusals) {
      this.o.refusals.record({
        action: 'request.rejected',
        actor: { source: actor.source, id: actor.id.slice(0, 64) },
        reason: `${attempted}:${refusal.code}`,
      });
    } else {
      await this.audit('request.rejected', actor, rec, { reason: refusal.reason, attempted });
    }
    throw new ForbiddenError(refusal.reason);
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
    await this.o.queues.rescheduleStart(requestId, Date.parse(startAt) - this.clock().getTime());
    await this.audit(
      'request.rescheduled',
      actor,
      res.record,
      { effectiveAt },
      `${requestId}:rescheduled:${effectiveAt}`,
    );
    await this.announce('request.scheduled', res.record);
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

  preview(target: Target): Promise<RevocationPlan> {
    return this.o.idp.plan(TargetSchema.parse(target));
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

  /** Moves an approved or just-created request on: scheduled for later, or queued now. */
  private async release(rec: RequestRecord, graceMs: number): Promise<RequestRecord> {
    const now = this.clock().getTime();
    const startAt = (rec.effectiveAt ? Date.parse(rec.effectiveAt) : now) + graceMs;
    const from: RequestState[] = ['approved', 'queued', 'scheduled'];
    if (startAt > now) {
      const res = await this.o.store.transition(rec.id, from, 'scheduled', {
        startAt: new Date(startAt).toISOString(),
      });
      if (!res.ok) return rec;
      await this.o.queues.scheduleStart(rec.id, startAt - now);
      await this.record('request.scheduled', res.record, systemActor, {
        startAt: new Date(startAt).toISOString(),
      });
      await this.announce('request.scheduled', res.record);
      return res.record;
    }
    const res = await this.o.store.transition(rec.id, from, 'queued');
    if (!res.ok) return rec;
    await this.o.queues.enqueuePlan(rec.id);
    await this.record('request.queued', res.record, systemActor, {});
    await this.announce('request.queued', res.record);
    return res.record;
  }

  private async onExpired(rec: RequestRecord): Promise<void> {
    await this.record('request.expired', rec, systemActor, {});
    this.o.metrics.outcomes.inc({ outcome: 'expired', scope: rec.target.kind });
    await this.announce('request.expired', rec);
  }

  private newRecord(
    id: string,
    input: SubmitInput,
    decision: WorkflowDecision,
    now: Date,
    impact: RequestRecord['impact'],
    targetName: string | undefined,
    fanOut: readonly string[] | undefined,
  ): RequestRecord {
    const needsApproval = decision.approvals.required > 0;
    const startAt = (input.effectiveAt ? Date.parse(input.effectiveAt) : now.getTime()) + decision.graceMs;
    // Born in its real state, so the first announcement already says "scheduled for …" when it is.
    const state = needsApproval ? 'pending_approval' : startAt > now.getTime() ? 'scheduled' : 'queued';
    const iso = now.toISOString();
    return {
      id,
      target: input.target,
      reason: input.reason,
      requestedBy: input.requestedBy,
      source: input.source,
      ...(input.effectiveAt ? { effectiveAt: new Date(input.effectiveAt).toISOString() } : {}),
      createdAt: iso,
      state,
      workflow: decision.workflow,
      requiredApprovals: decision.approvals.required,
      approvals: [],
      ...(isAutomatedSource(input.source) ? { cancelApprovals: decision.cancelApprovals ?? 2 } : {}),
      approvers: decision.approvals.approvers,
      allowSelfApproval: decision.approvals.allowSelfApproval,
      ...(needsApproval
        ? { approvalExpiresAt: new Date(now.getTime() + decision.approvals.expiresAfterMs).toISOString() }
        : {}),
      ...(impact ? { impact } : {}),
      ...(targetName ? { targetName } : {}),
      ...(input.targetEmail && input.target.kind === 'user' ? { targetEmail: input.targetEmail } : {}),
      ...notifyChannelsOf(decision),
      progress: { done: 0, total: 0 },
      ...(input.context ? { context: input.context } : {}),
      ...(input.connection ? { connection: input.connection } : {}),
      ...(fanOut
        ? {
            connections: fanOut.map((connection) => ({
              connection,
              requestId: childRequestId(id, connection),
              status: 'pending' as const,
            })),
          }
        : {}),
      updatedAt: iso,
    };
  }

  /**
   * The connections a user revocation runs in (issue 22): every configured connection that offers the user
   * scope, when there are several and the submit names none (naming one, e.g. `revoker revoke --idp okta`,
   * keeps it to that one). Undefined: the request runs in one connection, as before.
   */
  private fanOutConnections(input: SubmitInput): string[] | undefined {
    const registry = this.o.connections;
    if (!registry || input.target.kind !== 'user' || input.connection !== undefined) return undefined;
    const ids = registry.all.filter((c) => c.idp.capabilities.scopes.user).map((c) => c.id);
    return ids.length > 1 ? ids : undefined;
  }

  /**
   * The adapter of the connection a submit names (binding the input to the primary when it names none);
   * an unknown connection is the caller's mistake (400), never another connection.
   */
  private idpOf(input: SubmitInput): IdentityProvider {
    const registry = this.o.connections;
    if (!registry) return this.o.idp;
    input.connection ??= registry.primary.id;
    const c = registry.get(input.connection);
    if (!c) {
      throw new ValidationError(
        `invalid request: no connection "${input.connection}" (configured: ${registry.ids.join(', ')})`,
        ['connection: unknown'],
      );
    }
    return c.idp;
  }

  /**
   * Best-effort dry run and display name for the approval message, in parallel and bounded in time:
   * a slow or failing IdP must not block intake (the worker's listing fills the impact in). `known` is
   * the impact already shown, or `worker` when the worker's listing will be the only one.
   */
  private async lookUp(
    idp: IdentityProvider,
    target: Target,
    known: RequestRecord['impact'] | 'worker',
    knownName: string | undefined,
  ): Promise<{ impact?: RequestRecord['impact']; targetName?: string; targetEmail?: string }> {
    const [plan, named] = await Promise.all([
      known ? undefined : this.bounded(idp.plan(target)),
      knownName === undefined
        ? this.bounded(this.nameOf(idp, target))
        : ({ name: knownName } as { name: string; email?: string }),
    ]);
    const targetName = named?.name;
    const targetEmail = named?.email;
    const email = targetEmail ? { targetEmail } : {};
    if (known)
      return {
        ...(known === 'worker' ? {} : { impact: known }),
        ...(targetName ? { targetName } : {}),
        ...email,
      };
    return {
      ...email,
      ...(plan
        ? {
            impact: {
              userCount: plan.userCount,
              ...(plan.tokenCount !== undefined ? { tokenCount: plan.tokenCount } : {}),
            },
          }
        : {}),
      ...(targetName ? { targetName } : {}),
    };
  }

  private async nameOf(idp: IdentityProvider, target: Target): Promise<{ name: string; email?: string }> {
    switch (target.kind) {
      case 'token':
      case 'user': {
        const user = await idp.getUser(target.userId);
        return { name: userDisplayName(user), ...(user.email ? { email: user.email.toLowerCase() } : {}) };
      }
      case 'application':
        return { name: (await idp.getApplication(target.applicationId)).name };
      case 'resourceServer': {
        const rs = await idp.getResourceServer(target.resourceServerId);
        return { name: rs.audience ? `${rs.name}, ${rs.audience}` : rs.name };
      }
    }
  }

  private async bounded<T>(work: Promise<T>): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        work,
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), this.previewTimeoutMs);
        }),
      ]);
    } catch (err) {
      this.o.logger.warn(
        { err: (err as Error).message },
        'IdP look-up at intake failed; going on without it',
      );
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  private async reject(input: SubmitInput, reason: string): Promise<void> {
    this.o.metrics.rejections.inc({ source: input.source, reason: 'forbidden' });
    if (this.o.refusals) {
      // Counted per requester, reason and minute: a loop of refused submissions cannot grow the log.
      this.o.refusals.record({
        action: 'request.rejected',
        actor: { source: input.requestedBy.source, id: input.requestedBy.id.slice(0, 64) },
        reason: 'submit:not_allowed',
      });
    } else {
      await this.o.audit.append({
        action: 'request.rejected',
        actor: actorOf(input.requestedBy),
        target: input.target,
        detail: { reason, source: input.source },
      });
    }
    await this.o.notifier.notify({
      type: 'intake.rejected',
      source: input.source,
      reason,
      actorId: input.requestedBy.id,
    });
  }

  private async mustGet(requestId: string): Promise<RequestRecord> {
    const rec = await this.o.store.get(requestId);
    if (!rec) throw new NotFoundError(`no request ${requestId}`);
    return rec;
  }

  /** A state change: audited once per request and action, however often it is retried. */
  private record(action: AuditAction, rec: RequestRecord, actor: AuditActor, detail: AuditDetail) {
    return this.audit(action, actor, rec, detail, `${rec.id}:${action}`);
  }

  private async audit(
    action: AuditAction,
    actor: AuditActor,
    rec: RequestRecord,
    detail: AuditDetail,
    dedupeKey?: string,
  ): Promise<void> {
    const entry = { action, actor: actorOf(actor), requestId: rec.id, target: rec.target, detail };
    await this.o.audit.append(entry, dedupeKey ? { dedupeKey } : undefined);
  }

  private async announce(type: RequestEventType, request: RequestRecord): Promise<void> {
    try {
      await this.o.notifier.notify({ type, request });
    } catch (err) {
      // A notice never blocks a revocation.
      this.o.logger.warn({ requestId: request.id, err: (err as Error).message }, 'notifier failed');
    }
  }
}

type AuditDetail = Record<string, string | number | boolean | null>;

/** May someone decide: yes, or no with a stable code (for the refusal log) and the reason to show. */
type Decision = { ok: true } | { ok: false; code: string; reason: string };

type AuditActor = { source: string; id: string; name?: string | undefined };

const systemActor = { source: 'system', id: 'revoker' } as const;

/** The request's display name and HR facts (source, employee, event type, zone) for its created entry. */
function reportFacts(rec: RequestRecord): AuditDetail {
  const facts: AuditDetail = {};
  if (rec.targetName) facts.targetName = rec.targetName.slice(0, 200);
  for (const key of ['hrSource', 'employeeId', 'hrEvent', 'hrEffectiveAt', 'timeZone'] as const) {
    const value = rec.context?.[key];
    if (value) facts[key] = value.slice(0, 200);
  }
  return facts;
}

function actorOf(actor: { source: string; id: string; name?: string | undefined }) {
  return { source: actor.source, id: actor.id, ...(actor.name ? { name: actor.name } : {}) };
}

/** The workflow's `notify` steps, as the channels to announce the outcome in. */
function notifyChannelsOf(decision: WorkflowDecision): Pick<RequestRecord, 'notifyChannels'> {
  const channels = decision.steps.flatMap((s) =>
    'notify' in s && s.notify.channel ? [s.notify.channel] : [],
  );
  return channels.length > 0 ? { notifyChannels: [...new Set(channels)] } : {};
}

function decisionOf(rec: RequestRecord): WorkflowDecision {
  return {
    workflow: rec.workflow,
    allowed: true,
    approvals: {
      required: rec.requiredApprovals,
      approvers: rec.approvers,
      allowSelfApproval: rec.allowSelfApproval,
      expiresAfterMs: 0,
    },
    graceMs: 0,
    steps: [],
  };
}

const STATE_WORDS: Record<RequestState, string> = {
  pending_approval: 'waiting for approval',
  approved: 'approved',
  denied: 'denied',
  expired: 'expired',
  cancelled: 'cancelled',
  scheduled: 'scheduled',
  queued: 'approved and queued',
  running: 'running',
  verified: 'done and verified',
  unverifiable: 'done, unverifiable',
  failed: 'failed',
};

function stateWord(state: RequestState): string {
  return STATE_WORDS[state];
}
