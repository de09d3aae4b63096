import type { Actor, Source } from '../domain/request.ts';
import type { Scope } from '../domain/target.ts';

export type WorkflowStep = { revoke: true } | { verify: true } | { notify: { channel: string } };

/** What the governing workflow says about one request. */
export interface WorkflowDecision {
  workflow: string;
  allowed: boolean;
  /** Why not, in words shown to the requester. */
  reason?: string;
  approvals: {
    required: number;
    /** Slack user (U…/W…) or user-group (S…) ids who may approve. */
    approvers: string[];
    allowSelfApproval: boolean;
    /** How long a pending approval stays open. */
    expiresAfterMs: number;
  };
  /** Delay between the effective time and the revocation, during which it can be cancelled. */
  graceMs: number;
  /**
   * People who must click Cancel (each an admin or approver) before a scheduled HR/SCIM revocation is
   * called off from Slack. Default 2 (two-person rule).
   */
  cancelApprovals?: number;
  steps: WorkflowStep[];
}

export interface DecideInput {
  source: Source;
  scope: Scope;
  requestedBy: Actor;
}

/** Resolves Slack user groups (S…) to membership; the default knows only direct ids. */
export type MembershipResolver = (userId: string, principals: readonly string[]) => Promise<boolean>;

export interface WorkflowEngine {
  decide(input: DecideInput): Promise<WorkflowDecision>;
  /** May `approver` approve a request governed by `decision` and made by `requestedBy`? */
  canApprove(
    decision: WorkflowDecision,
    requestedBy: Actor,
    approver: Actor,
  ): Promise<{ ok: true } | { ok: false; reason: string }>;
}
