import type { Actor } from '../domain/request.ts';
import { SCOPE_LABELS } from '../domain/target.ts';
import type { DecideInput, MembershipResolver, WorkflowDecision, WorkflowEngine } from './types.ts';
import type { Principals, Workflow } from './workflow.ts';

export interface YamlWorkflowEngineOptions {
  /** Resolves Slack user groups (S…); default: only direct id matches count. */
  membership?: MembershipResolver;
}

/** Nothing is allowed: the shape of a refusal when no workflow matches. */
const NONE: Omit<WorkflowDecision, 'reason'> = {
  workflow: '',
  allowed: false,
  approvals: { required: 0, approvers: [], allowSelfApproval: false, expiresAfterMs: 0 },
  graceMs: 0,
  steps: [],
};

function emptyListReason(p: Principals): string {
  if (p.emptyRefs.length === 0) return 'its list is empty';
  return `${p.emptyRefs.join(', ')} ${p.emptyRefs.length === 1 ? 'is' : 'are'} empty`;
}

/**
 * Decides requests from the workflows loaded from `workflows/*.yaml`.
 *
 * Matching: among the workflows whose `match` covers the request's source and scope, the most
 * specific governs: fewest scopes first, then fewest sources, then file order (file name, then
 * position in the file). Only the governing workflow is consulted — a request refused by it does
 * not fall through to a broader workflow, or a narrow, restrictive rule could be bypassed.
 */
export class YamlWorkflowEngine implements WorkflowEngine {
  readonly #workflows: readonly Workflow[];
  readonly #membership: MembershipResolver | undefined;

  constructor(workflows: readonly Workflow[], options: YamlWorkflowEngineOptions = {}) {
    this.#workflows = workflows;
    this.#membership = options.membership;
  }

  get workflows(): readonly Workflow[] {
    return this.#workflows;
  }

  /** The governing workflow for a source and scope, if any. */
  match(input: Pick<DecideInput, 'source' | 'scope'>): Workflow | undefined {
    const candidates = this.#workflows.filter(
      (w) => w.match.sources.includes(input.source) && w.match.scopes.includes(input.scope),
    );
    candidates.sort(
      (a, b) =>
        a.match.scopes.length - b.match.scopes.length ||
        a.match.sources.length - b.match.sources.length ||
        a.index - b.index,
    );
    return candidates[0];
  }

  async decide(input: DecideInput): Promise<WorkflowDecision> {
    const w = this.match(input);
    if (!w) {
      return {
        ...NONE,
        reason: `no workflow allows ${input.source} requests to revoke ${SCOPE_LABELS[input.scope]}`,
      };
    }
    const decision: WorkflowDecision = {
      workflow: w.name,
      allowed: true,
      approvals: {
        required: w.approvals.required,
        approvers: [...w.approvals.approvers.ids],
        allowSelfApproval: w.approvals.selfApproval,
        expiresAfterMs: w.approvals.expiresAfterMs,
      },
      graceMs: w.graceMs,
      cancelApprovals: w.cancelApprovals,
      steps: w.steps.map((s) => ({ ...s })),
    };
    const refuse = (reason: string): WorkflowDecision => ({ ...decision, allowed: false, reason });

    if (!w.requesters.any) {
      if (w.requesters.ids.length === 0) {
        return refuse(`nobody may request this under workflow ${w.name}: ${emptyListReason(w.requesters)}`);
      }
      if (!(await this.#isMember(input.requestedBy.id, w.requesters.ids))) {
        return refuse(`you may not request this: you are not a requester for workflow ${w.name}`);
      }
    }
    if (w.approvals.required > 0 && w.approvals.approvers.ids.length === 0) {
      // Accepting it would leave a request nobody can ever approve.
      return refuse(
        `workflow ${w.name} needs ${w.approvals.required} approval(s) but nobody can approve: ` +
          emptyListReason(w.approvals.approvers),
      );
    }
    return decision;
  }

  async canApprove(
    decision: WorkflowDecision,
    requestedBy: Actor,
    approver: Actor,
  ): Promise<{ ok: true } | { ok: false; reason: string }> {
    const self = approver.source === requestedBy.source && approver.id === requestedBy.id;
    if (self && !decision.approvals.allowSelfApproval) {
      return { ok: false, reason: 'you requested this; someone else must approve it' };
    }
    if (!(await this.#isMember(approver.id, decision.approvals.approvers))) {
      return { ok: false, reason: `you are not an approver for workflow ${decision.workflow}` };
    }
    return { ok: true };
  }

  async #isMember(userId: string, principals: readonly string[]): Promise<boolean> {
    if (principals.includes(userId)) return true;
    if (!this.#membership || principals.length === 0) return false;
    return this.#membership(userId, principals);
  }
}
