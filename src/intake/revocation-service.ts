import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { AuditAction, AuditLog } from '../audit/types.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../domain/errors.ts';
import {
  type Actor,
  ActorSchema,
  type RequestState,
  SourceSchema,
  TERMINAL_STATES,
} from '../domain/request.ts';
import { type Target, TargetSchema } from '../domain/target.ts';
import { type IdentityProvider, type RevocationPlan, userDisplayName } from '../identity/port.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { RevocationQueues } from '../queue/revocation-queues.ts';
import type { WorkflowDecision, WorkflowEngine } from '../workflows/types.ts';
import type { Notifier, RequestEventType } from './notifier.ts';
import type { RedisRequestStore } from './request-store.ts';
import type { Intake, ListFilter, RequestRecord, SubmitInput, SubmitResult } from './types.ts';

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
  })
  .strict();

/** Same idempotency key ⇒ same request id ⇒ same job ids. */
function requestIdFor(idempotencyKey: string | undefined): string {
  if (idempotencyKey === undefined) return `req_${randomBytes(10).toString('base64url')}`;
  return `req_${createHash('sha256').update(idempotencyKey).digest('base64url').slice(0, 20)}`;
}

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
    const parsed = SubmitInputSchema.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`);
      throw new ValidationError(`invalid request: ${issues.join('; ')}`, issues);
    }
    const input = parsed.data as SubmitInput;
    const id = requestIdFor(input.idempotencyKey);
    const existing = await this.o.store.get(id);
    if (existing) return { request: existing, duplicate: true };

    const decision = await this.o.workflows.decide({
      source: input.source,
      scope: input.target.kind,
      requestedBy: input.requestedBy,
    });
    if (!decision.allowed) {
      await this.reject(input, decision.reason ?? 'not allowed by any workflow');
      throw new ForbiddenError(decision.reason ?? 'no workflow allows this request');
    }

    const now = this.clock();
    // A dry run only for someone who will look at it before the worker lists the scope anyway: the
    // approvers. Otherwise the worker's one listing is the impact (computed once per request).
    const known = input.impact ?? (decision.approvals.required > 0 ? undefined : 'worker');
    const { impact, targetName } = await this.lookUp(input.target, known, input.targetName);
    const record = this.newRecord(id, input, decision, now, impact, targetName);
    const [stored, created] = await this.o.store.create(record);
    if (!created) return { request: stored, duplicate: true };

    this.o.metrics.requests.inc({ source: stored.source, scope: stored.target.kind });
    await this.record('request.created', stored, actorOf(stored.requestedBy), {
      reason: stored.reason,
      workflow: stored.workflow,
      requiredApprovals: stored.requiredApprovals,
      effectiveAt: stored.effectiveAt ?? null,
    });
    await this.announce('request.created', stored);

    if (stored.state === 'pending_approval') {
      await this.o.queues.scheduleExpiry(id, Date.parse(stored.approvalExpiresAt!) - now.getTime());
      return { request: stored, duplicate: false };
    }
    return { request: await this.release(stored, decision.graceMs), duplicate: false };
  }

  async approve(requestId: string, approver: Actor): Promise<RequestRecord> {
    const rec = await this.mustGet(requestId);
    const allowed = await this.o.workflows.canApprove(decisionOf(rec), rec.requestedBy, approver);
    if (!allowed.ok) {
      await this.audit('request.rejected', approver, rec, { reason: allowed.reason, attempted: 'approve' });
      throw new ForbiddenError(allowed.reason);
    }
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
        return this.release(res.record, decision.graceMs);
      }
    }
  }

  async deny(requestId: string, approver: Actor, reason: string): Promise<RequestRecord> {
    const rec = await this.mustGet(requestId);
    const allowed = await this.o.workflows.canApprove(decisionOf(rec), rec.requestedBy, approver);
    // The requester may always withdraw their own request; others must be approvers.
    if (!allowed.ok && rec.requestedBy.id !== approver.id) {
      await this.audit('request.rejected', approver, rec, { reason: allowed.reason, attempted: 'deny' });
      throw new ForbiddenError(allowed.reason);
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
    return res.record;
  }

  async cancel(requestId: string, actor: Actor, reason: string): Promise<RequestRecord> {
    const res = await this.o.store.transition(requestId, ['pending_approval', 'scheduled'], 'cancelled', {
      denial: { by: actor.id, name: actor.name, at: this.clock().toISOString(), reason },
    });
    if (!res.ok) {
      if (res.reason === 'missing') throw new NotFoundError(`no request ${requestId}`);
      throw new ConflictError(
        `this request is already ${stateWord(res.record.state)}; it can no longer be cancelled`,
      );
    }
    await Promise.all([this.o.queues.cancelStart(requestId), this.o.queues.cancelExpiry(requestId)]);
    await this.record('request.cancelled', res.record, actor, { reason });
    this.o.metrics.outcomes.inc({ outcome: 'cancelled', scope: res.record.target.kind });
    await this.announce('request.cancelled', res.record);
    return res.record;
  }

  async reschedule(requestId: string, effectiveAt: string, actor: Actor): Promise<RequestRecord> {
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
    return res.record;
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
      approvers: decision.approvals.approvers,
      allowSelfApproval: decision.approvals.allowSelfApproval,
      ...(needsApproval
        ? { approvalExpiresAt: new Date(now.getTime() + decision.approvals.expiresAfterMs).toISOString() }
        : {}),
      ...(impact ? { impact } : {}),
      ...(targetName ? { targetName } : {}),
      ...notifyChannelsOf(decision),
      progress: { done: 0, total: 0 },
      ...(input.context ? { context: input.context } : {}),
      updatedAt: iso,
    };
  }

  /**
   * Best-effort dry run and display name for the approval message, in parallel and bounded in time:
   * a slow or failing IdP must not block intake (the worker's listing fills the impact in). `known` is
   * the impact already shown, or `worker` when the worker's listing will be the only one.
   */
  private async lookUp(
    target: Target,
    known: RequestRecord['impact'] | 'worker',
    knownName: string | undefined,
  ): Promise<{ impact?: RequestRecord['impact']; targetName?: string }> {
    const [plan, targetName] = await Promise.all([
      known ? undefined : this.bounded(this.o.idp.plan(target)),
      knownName ?? this.bounded(this.nameOf(target)),
    ]);
    if (known)
      return { ...(known === 'worker' ? {} : { impact: known }), ...(targetName ? { targetName } : {}) };
    return {
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

  private async nameOf(target: Target): Promise<string> {
    switch (target.kind) {
      case 'token':
      case 'user':
        return userDisplayName(await this.o.idp.getUser(target.userId));
      case 'application':
        return (await this.o.idp.getApplication(target.applicationId)).name;
      case 'resourceServer': {
        const rs = await this.o.idp.getResourceServer(target.resourceServerId);
        return rs.audience ? `${rs.name}, ${rs.audience}` : rs.name;
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
    await this.o.audit.append({
      action: 'request.rejected',
      actor: actorOf(input.requestedBy),
      target: input.target,
      detail: { reason, source: input.source },
    });
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
type AuditActor = { source: string; id: string; name?: string | undefined };

const systemActor = { source: 'system', id: 'revoker' } as const;

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
  failed: 'failed',
};

function stateWord(state: RequestState): string {
  return STATE_WORDS[state];
}
