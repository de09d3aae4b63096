import { ForbiddenError } from '../domain/errors.ts';
import { type Actor, isAutomatedSource } from '../domain/request.ts';
import type { WorkflowDecision, WorkflowEngine } from '../workflows/types.ts';
import type { Decision, RequestChronicle } from './request-chronicle.ts';
import type { RequestRecord, SubmitInput } from './types.ts';

/** How long a cancellation vote waits for a second person before a protected request expires. */
const PROTECTED_APPROVAL_MS = 7 * 86_400_000;

/** Who decides a request: today's workflows, and the break-glass users (PROTECTED_USERS) with their approvers. */
export interface ApprovalRules {
  workflows: WorkflowEngine;
  protectedUsers?: { isProtected(userId: string): Promise<boolean>; approvers: string[] } | undefined;
}

/** The approval part of the decision `rec` was made under (its own snapshot of approvers). */
export function decisionOf(rec: RequestRecord): WorkflowDecision {
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

/** HR/SCIM against a protected (break-glass) user: an approval is required, whatever the workflow says. */
export async function protect(
  rules: ApprovalRules,
  chronicle: RequestChronicle,
  input: SubmitInput,
  decision: WorkflowDecision,
): Promise<WorkflowDecision> {
  const p = rules.protectedUsers;
  if (!p || !isAutomatedSource(input.source)) return decision;
  if (input.target.kind !== 'user' && input.target.kind !== 'token') return decision;
  if (decision.approvals.required > 0 || !(await p.isProtected(input.target.userId))) return decision;
  if (p.approvers.length === 0) {
    const reason = 'the user is protected and needs an approval, but no approvers are configured';
    await chronicle.reject(input, reason);
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

/**
 * May `approver` approve or deny `rec`? Against TODAY's workflows and approver lists (an approver
 * removed since the request was made may no longer decide), narrowed by the request's own snapshot
 * (someone added since may not decide a request made before).
 */
export async function mayDecide(
  rules: ApprovalRules,
  rec: RequestRecord,
  approver: Actor,
): Promise<Decision> {
  const snapshot = await rules.workflows.canApprove(decisionOf(rec), rec.requestedBy, approver);
  if (!snapshot.ok) return { ok: false, code: 'not_an_approver', reason: snapshot.reason };
  const today = await todayDecision(rules, rec);
  if (!today) {
    return { ok: false, code: 'workflow_gone', reason: 'no workflow allows this request any more' };
  }
  const now = await rules.workflows.canApprove(today, rec.requestedBy, approver);
  return now.ok ? { ok: true } : { ok: false, code: 'not_an_approver', reason: now.reason };
}

/** The workflow's decision for `rec` under today's configuration (protected users included). */
async function todayDecision(
  rules: ApprovalRules,
  rec: RequestRecord,
): Promise<WorkflowDecision | undefined> {
  const decision = await rules.workflows.decide({
    source: rec.source,
    scope: rec.target.kind,
    requestedBy: rec.requestedBy,
  });
  if (!decision.allowed) return undefined;
  const p = rules.protectedUsers;
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
