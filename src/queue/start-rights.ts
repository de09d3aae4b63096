import type { AuditLog } from '../audit/types.ts';
import { isAutomatedSource } from '../domain/request.ts';
import { decisionOf } from '../intake/approval-rules.ts';
import type { Notifier } from '../intake/notifier.ts';
import type { RedisRequestStore } from '../intake/request-store.ts';
import type { RequestRecord } from '../intake/types.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { WorkflowDecision, WorkflowEngine } from '../workflows/types.ts';

export interface StartRightsOptions {
  /** Today's workflows: the same engine the intake decides submissions with. */
  workflows: WorkflowEngine;
  /**
   * PROTECTED_USERS, as the intake has them: an HR/SCIM/GTR revocation of a protected user needs an
   * approval from `approvers`. Absent: nobody is protected.
   */
  protectedUsers?:
    | { isProtected(userId: string): Promise<boolean>; approvers: readonly string[] }
    | undefined;
  store: RedisRequestStore;
  audit: AuditLog;
  notifier: Notifier;
  metrics: Metrics;
  logger: Logger;
}

/** Why a request may no longer start (a stable code for the audit, and words for the requester). */
export type StartVerdict =
  | { ok: true }
  | { ok: false; code: 'not_allowed_today' | 'approvals_short' | 'no_approvers_today'; reason: string };

const SYSTEM = { source: 'system', id: 'revoker-worker' };

/**
 * Rights checked against TODAY's configuration when a request starts (issue 21 item 3): a request
 * approved or scheduled under yesterday's workflows runs only if today's still allow it — its requester
 * may still request it, and the approvals it holds are as many as today's workflow (or today's protected
 * users rule) needs, each from someone who may approve under today's rules AND the request's own
 * snapshot. The snapshot only narrows: a request needs as many approvals as it needed then, at least.
 * A request that fails the check does not run: it ends `failed`, audited (`request.failed` with the code
 * and reason) and announced to the requester.
 */
export class StartRights {
  constructor(private readonly o: StartRightsOptions) {}

  /**
   * Whether `requestId` may go on to its plan. A request not `queued` (a rerun of a plan already running,
   * or one already ended) is left to the caller's own transitions.
   */
  async holds(requestId: string): Promise<boolean> {
    const rec = await this.o.store.get(requestId);
    if (rec?.state !== 'queued') return true;
    const verdict = await this.check(rec);
    if (verdict.ok) return true;
    const res = await this.o.store.transition(requestId, ['queued'], 'failed', {
      result: { ok: false, revoked: 0, remaining: -1, error: verdict.reason.slice(0, 500) },
    });
    if (!res.ok) return false;
    this.o.logger.warn({ requestId, code: verdict.code }, 'request no longer allowed at start; not run');
    this.o.metrics.outcomes.inc({ outcome: 'failed', scope: rec.target.kind });
    await this.o.audit.append(
      {
        action: 'request.failed',
        actor: SYSTEM,
        requestId,
        target: res.record.target,
        detail: { error: verdict.code, reason: verdict.reason.slice(0, 500) },
      },
      { dedupeKey: `${requestId}:request.failed` },
    );
    try {
      await this.o.notifier.notify({ type: 'request.failed', request: res.record });
    } catch (err) {
      this.o.logger.warn({ requestId, err: (err as Error).message }, 'notifier failed');
    }
    return false;
  }

  /** Today's verdict on `rec`, narrowed by its snapshot. */
  async check(rec: RequestRecord): Promise<StartVerdict> {
    const today = await this.o.workflows.decide({
      source: rec.source,
      scope: rec.target.kind,
      requestedBy: rec.requestedBy,
    });
    if (!today.allowed) {
      return {
        ok: false,
        code: 'not_allowed_today',
        reason: `today's workflows no longer allow this request: ${today.reason ?? 'no workflow matches'}`,
      };
    }
    const rules = await this.todayApprovals(rec, today);
    if (!rules) {
      return {
        ok: false,
        code: 'no_approvers_today',
        reason: 'the user is protected and needs an approval, but no approvers are configured today',
      };
    }
    const required = Math.max(rec.requiredApprovals, rules.approvals.required);
    if (required === 0) return { ok: true };
    const snapshot = decisionOf(rec);
    let valid = 0;
    for (const a of rec.approvals) {
      // Approvals are clicks in Slack: the approver is a Slack user.
      const approver = { source: 'slack' as const, id: a.by };
      const now = await this.o.workflows.canApprove(rules, rec.requestedBy, approver);
      const then = await this.o.workflows.canApprove(snapshot, rec.requestedBy, approver);
      if (now.ok && then.ok) valid++;
    }
    if (valid >= required) return { ok: true };
    return {
      ok: false,
      code: 'approvals_short',
      reason: `today's configuration needs ${required} approval(s) from today's approvers; it has ${valid}`,
    };
  }

  /**
   * Today's approval rule: the workflow's, or — for an automated revocation the workflow lets through
   * without approval — the protected-users rule when the user is protected today or was when it was
   * made (then today's protected approvers must be the ones who approved). Undefined: nobody may approve.
   */
  private async todayApprovals(
    rec: RequestRecord,
    today: WorkflowDecision,
  ): Promise<WorkflowDecision | undefined> {
    if (today.approvals.required > 0 || !isAutomatedSource(rec.source)) return today;
    const p = this.o.protectedUsers;
    const target = rec.target;
    const userId = target.kind === 'user' || target.kind === 'token' ? target.userId : undefined;
    const protectedNow = p !== undefined && userId !== undefined && (await p.isProtected(userId));
    if (!protectedNow && rec.requiredApprovals === 0) return today;
    if (!p || p.approvers.length === 0) return undefined;
    return {
      ...today,
      approvals: { required: 1, approvers: [...p.approvers], allowSelfApproval: false, expiresAfterMs: 0 },
    };
  }
}
