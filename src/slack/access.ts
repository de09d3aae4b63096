import type { RefusalRecorder } from '../audit/refusal-log.ts';
import { asCodedError } from '../domain/errors.ts';
import { SCOPES, type Scope } from '../domain/target.ts';
import type { RequestRecord } from '../intake/types.ts';
import type { Logger } from '../log.ts';
import type { MembershipResolver, WorkflowDecision, WorkflowEngine } from '../workflows/types.ts';

/**
 * Who may see and do what in Slack, asked before any look-up or reveal (deny by default): a Slack user
 * in no workflow gets nothing but a refusal, and no IdP call is made on their behalf.
 */
export interface SlackAccess {
  /** The scopes `userId` may request under the workflows; empty for everyone outside them. */
  requestableScopes(userId: string): Promise<Scope[]>;
  /**
   * May `userId` see `request` (`/revoke status`, App Home)? Its requester, and requesters or approvers
   * of its workflow; HR/SCIM requests only admins and approvers.
   */
  maySee(userId: string, request: RequestRecord): Promise<boolean>;
  /** Admins and approvers: App Home's HR/SCIM section, Cancel on a scheduled offboarding. */
  isStaff(userId: string): Promise<boolean>;
  /** The one line an outsider gets. */
  readonly refusal: string;
}

export interface WorkflowAccessOptions {
  workflows: WorkflowEngine;
  /** Slack user / group ids of admins and approvers (SLACK_ADMIN_USERS + SLACK_APPROVER_USERS). */
  staff: readonly string[];
  /** Resolves Slack user groups (S…) in `staff`. */
  membership?: MembershipResolver;
  /** Where outsiders are told to ask, e.g. the approvals channel id. */
  askChannel?: string;
}

export function refusalText(askChannel?: string): string {
  const where = askChannel ? `<#${askChannel}>` : 'a Revoker admin';
  return `:no_entry: You are not allowed to request revocations; ask ${where} if you need one.`;
}

/** `decision` with self-approval allowed: "is this user one of its approvers", nothing else. */
function asApproverCheck(request: RequestRecord): WorkflowDecision {
  return {
    workflow: request.workflow,
    allowed: true,
    approvals: { required: 1, approvers: request.approvers, allowSelfApproval: true, expiresAfterMs: 0 },
    graceMs: 0,
    steps: [],
  };
}

/** SlackAccess from the workflows (requesters, approvers) and the admin/approver lists. */
export function workflowAccess(o: WorkflowAccessOptions): SlackAccess {
  const isStaff = async (userId: string): Promise<boolean> => {
    if (o.staff.includes(userId)) return true;
    return o.staff.length > 0 && o.membership ? o.membership(userId, o.staff) : false;
  };
  const decide = (userId: string, scope: Scope) =>
    o.workflows.decide({ source: 'slack', scope, requestedBy: { source: 'slack', id: userId } });
  return {
    refusal: refusalText(o.askChannel),
    isStaff,
    async requestableScopes(userId) {
      const decisions = await Promise.all(SCOPES.map((s) => decide(userId, s)));
      return SCOPES.filter((_, i) => decisions[i]!.allowed);
    },
    async maySee(userId, request) {
      if (request.requestedBy.source === 'slack' && request.requestedBy.id === userId) return true;
      if (request.source !== 'slack') return isStaff(userId);
      const approver = await o.workflows.canApprove(asApproverCheck(request), request.requestedBy, {
        source: 'slack',
        id: userId,
      });
      if (approver.ok) return true;
      const asRequester = await decide(userId, request.target.kind);
      return asRequester.allowed && asRequester.workflow === request.workflow;
    },
  };
}

/** What someone is told when their access could not be checked (Slack's user-group look-up failed). */
export const ACCESS_UNCHECKED = ':hourglass: Could not check your access right now; try again in a moment.';

/** What a gate needs: the access rules, and where refusals are counted. */
export interface GateDeps {
  access: SlackAccess;
  refusals?: RefusalRecorder | undefined;
  logger: Logger;
}

/**
 * Asks before any look-up: may `userId` request `scope` (or, with `'any'`, anything at all)? Returns
 * undefined when allowed; otherwise counts the refusal (per minute, never one audit entry each) and
 * returns the one line to show.
 */
export async function gate(
  deps: GateDeps,
  userId: string,
  scope: Scope | 'any',
  entry: string,
): Promise<string | undefined> {
  let scopes: Scope[];
  try {
    scopes = await deps.access.requestableScopes(userId);
  } catch (err) {
    // A user-group look-up that failed or took too long: neither a grant nor a refusal.
    deps.logger.warn({ user: userId, entry, err: asCodedError(err).code }, 'slack: access check failed');
    return ACCESS_UNCHECKED;
  }
  if (scope === 'any' ? scopes.length > 0 : scopes.includes(scope)) return undefined;
  refuse(deps, userId, entry);
  return deps.access.refusal;
}

/** Counts and logs one refusal of `userId` at `entry` (an entry point name, a fixed string). */
export function refuse(deps: GateDeps, userId: string, entry: string): void {
  deps.logger.info({ user: userId, entry }, 'slack: outsider refused');
  deps.refusals?.record({
    action: 'slack.refused',
    actor: { source: 'slack', id: userId.slice(0, 32) },
    reason: 'not_a_requester',
    excerpt: entry,
  });
}
