import type { ConnectionStatus } from '../connections/connection-status.ts';
import type { Actor, RequestState, RevocationRequest, Source } from '../domain/request.ts';
import type { Target } from '../domain/target.ts';
import type { PartOutcome, RevocationPlan } from '../identity/port.ts';

/** What any entry point (Slack, HR, SCIM, CLI) hands to the intake. */
export interface SubmitInput {
  target: Target;
  reason: string;
  requestedBy: Actor;
  source: Source;
  /** ISO-8601. In the future ⇒ scheduled as a delayed job. */
  effectiveAt?: string;
  /**
   * Same key ⇒ same request (idempotency): an HR delivery id, a Slack view id, a CLI nonce.
   * Without it, every submit is a new request.
   */
  idempotencyKey?: string;
  /** Where to report back (e.g. Slack `channel`, `response_url`); never secrets. */
  context?: Record<string, string>;
  /**
   * The impact the requester was already shown (a dry run the entry point made, e.g. Slack's
   * confirmation). Given, the intake does not ask the IdP again on the submit path.
   */
  impact?: { tokenCount?: number; userCount: number };
  /** The target's display name when the entry point already resolved it (HR): the intake does not look it up again. */
  targetName?: string;
  /** The connection the target belongs to (CLI `--idp`); default the primary (the first configured). */
  connection?: string;
  /**
   * The person's verified email when the entry point knows it (HR, SCIM): a user revocation finds the
   * person by it in every other connection without asking the first one again.
   */
  targetEmail?: string;
}

export interface Approval {
  by: string;
  name?: string;
  at: string;
}

/** A request with its lifecycle, as stored in Redis and shown in Slack, the CLI and the API. */
export interface RequestRecord extends RevocationRequest {
  state: RequestState;
  /** Name of the workflow that governs it. */
  workflow: string;
  requiredApprovals: number;
  approvals: Approval[];
  denial?: { by: string; name?: string; at: string; reason: string };
  /** Channels the workflow's `notify` steps name: the outcome is announced there. */
  notifyChannels?: string[];
  /** Scheduled HR/SCIM requests: how many must click Cancel (frozen from the workflow), and who has. */
  cancelApprovals?: number;
  cancelVotes?: Approval[];
  /** When a scheduled request starts (effective time plus the workflow's grace). */
  startAt?: string;
  /** When a pending approval lapses. */
  approvalExpiresAt?: string;
  /** Who may approve (Slack user / group ids), frozen from the workflow at submit time. */
  approvers: string[];
  allowSelfApproval: boolean;
  /** The IdP's display name of the target (e.g. "Dave Dawson <dave@example.com>"), found at submit time. */
  targetName?: string;
  /** The person's email (user scope), by which every other connection finds them; absent when unknown. */
  targetEmail?: string;
  /**
   * A child of a fanned-out user revocation whose target still names the person by `targetEmail`: its plan
   * finds them in its own connection first (none: `no account`).
   */
  resolveByEmail?: boolean;
  /**
   * A fanned-out user revocation (issue 22): one line per connection, in the configured order. Its outcome
   * is theirs together (see src/connections/connection-status.ts).
   */
  connections?: ConnectionStatus[];
  /** A child whose last job failed and is being retried: why (a stable code and words); null once it moves on. */
  waiting?: string | null;
  /** Impact: the dry run shown at submit time, or the worker's listing when nobody looked earlier. */
  impact?: { tokenCount?: number; userCount: number };
  /** IdP calls done of planned, and the tokens those calls cover ("1 of 1 calls, 3 tokens"). */
  progress: { done: number; total: number; tokens?: number };
  /**
   * `unverifiable`: why the IdP could not show the result (the request ended `unverifiable`). `parts`: the
   * outcome of each part of the scope (refresh tokens, sessions, …, and any call that failed for good); the
   * request is `verified` only when every part is.
   */
  result?: {
    ok: boolean;
    revoked: number;
    remaining: number;
    error?: string;
    unverifiable?: string;
    parts?: PartOutcome[];
    /** The person has no account in this (child's) connection: nothing to revoke, done. */
    noAccount?: boolean;
  };
  context?: Record<string, string>;
  updatedAt: string;
}

export interface CancelVoteResult {
  request: RequestRecord;
  /** True once enough people agreed and the request is cancelled. */
  cancelled: boolean;
  votes: number;
  required: number;
}

export interface SubmitResult {
  request: RequestRecord;
  /** True when the idempotency key matched an existing request: nothing new was enqueued. */
  duplicate: boolean;
}

export interface ListFilter {
  requestedBy?: string;
  /** Requests waiting for an approval this Slack user may give. */
  awaitingApprovalFrom?: string;
  source?: Source;
  states?: RequestState[];
  limit?: number;
}

/**
 * The application service every entry point calls. Errors are coded (src/domain/errors.ts):
 * ForbiddenError (may not request / may not approve, with the reason), NotFoundError, ConflictError
 * (already decided, expired, second click), ValidationError.
 */
export interface Intake {
  submit(input: SubmitInput): Promise<SubmitResult>;
  approve(requestId: string, approver: Actor): Promise<RequestRecord>;
  /**
   * Deny a pending request. For an automated (HR/SCIM) request it is one vote of the stop rule (see
   * `requestCancel`): `email` (Slack-confirmed) identifies the voter at the IdP.
   */
  deny(requestId: string, approver: Actor & { email?: string }, reason: string): Promise<RequestRecord>;
  /** Cancel a pending or scheduled request (e.g. an HR termination that was called off). */
  cancel(requestId: string, actor: Actor, reason: string): Promise<RequestRecord>;
  /**
   * A person's Cancel on a waiting HR/SCIM revocation (nothing else): counts their vote and cancels
   * once the workflow's number of people agree. `email` (Slack-confirmed) must be exactly an IdP user's,
   * who is then compared with the person being offboarded by IdP user id; otherwise the vote is refused.
   */
  requestCancel(requestId: string, actor: Actor & { email?: string }): Promise<CancelVoteResult>;
  /** Move a scheduled request to a new effective time (an HR re-delivery with a new date). */
  reschedule(requestId: string, effectiveAt: string, actor: Actor): Promise<RequestRecord>;
  get(requestId: string): Promise<RequestRecord | undefined>;
  list(filter: ListFilter): Promise<RequestRecord[]>;
  /** Dry run through the IdP port: what a target would reach (in `connection`; default the primary). */
  preview(target: Target, connection?: string): Promise<RevocationPlan>;
  /** Resolves when the request reaches a terminal state, or rejects after `timeoutMs`. */
  waitForOutcome(requestId: string, timeoutMs: number): Promise<RequestRecord>;
}
