import type { Target } from '../domain/target.ts';

/** Every state change and rejection is one entry (DESIGN §1 Audit). */
export type AuditAction =
  | 'request.created'
  | 'request.rejected'
  | 'request.approval_recorded'
  | 'request.approved'
  | 'request.denied'
  | 'request.expired'
  | 'request.cancelled'
  | 'request.scheduled'
  | 'request.rescheduled'
  | 'request.queued'
  | 'request.started'
  | 'token.revoked'
  /** A leaked token revoked by its value (detail: salted hash, never the value). */
  | 'token.revoked_by_value'
  | 'request.verified'
  | 'request.unverifiable'
  | 'request.failed'
  | 'request.dead_lettered'
  | 'webhook.rejected'
  | 'webhook.unknown_employee'
  | 'slack.rejected'
  | 'slack.refused'
  | 'scim.rejected'
  /** A refused Global Token Revocation request at POST /global-token-revocation. */
  | 'gtr.rejected'
  | 'dashboard.rejected'
  | 'request.throttled'
  | 'request.cancel_requested';

export interface AuditEntryInput {
  action: AuditAction;
  /** Who did it: `{source, id}` (Slack user id, HR source, SCIM client, cli user, worker). */
  actor: { source: string; id: string; name?: string };
  requestId?: string;
  target?: Target;
  /** Small, non-secret facts: token id, reason, counts, error code. Never bodies or token values. */
  detail?: Record<string, string | number | boolean | null>;
}

export interface AuditEntry extends AuditEntryInput {
  /** Redis stream id. */
  id: string;
  /** 1-based position in the chain. */
  seq: number;
  at: string;
  prevHash: string;
  /** sha256 over the canonical JSON of every other field. */
  hash: string;
}

export type AuditVerifyResult =
  | { ok: true; count: number }
  | { ok: false; count: number; badSeq: number; badId: string; reason: string };

export interface AuditLog {
  /**
   * Appends atomically to the hash chain. With `dedupeKey`, appends at most once per key ever
   * (exactly-once audit under at-least-once job execution); returns undefined when already present.
   */
  append(entry: AuditEntryInput, options?: { dedupeKey?: string }): Promise<AuditEntry | undefined>;
  entries(options?: { since?: Date; requestId?: string }): AsyncIterable<AuditEntry>;
  /** With `archiveDir`, the archive files there and the stream as one chain. */
  verify(options?: { archiveDir?: string }): Promise<AuditVerifyResult>;
}
