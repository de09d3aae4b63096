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
  /** A user revocation started in every connection: one child request per connection (issue 22). */
  | 'request.fanned_out'
  | 'token.revoked'
  /** A leaked token revoked by its value (detail: salted hash, never the value). */
  | 'token.revoked_by_value'
  | 'request.verified'
  | 'request.unverifiable'
  | 'request.failed'
  | 'request.dead_lettered'
  | 'webhook.rejected'
  | 'webhook.unknown_employee'
  /** An HR delivery acknowledged and deliberately not acted on (unrelated event, vendor simulation, leave). */
  | 'webhook.ignored'
  /** An HR event's vendor look-up failed (credentials refused, or out of retries): the operator must act. */
  | 'webhook.event_failed'
  | 'slack.rejected'
  | 'slack.refused'
  | 'scim.rejected'
  /** A refused Global Token Revocation request at POST /global-token-revocation. */
  | 'gtr.rejected'
  | 'dashboard.rejected'
  | 'idaas.login_rejected'
  | 'request.throttled'
  | 'request.cancel_requested'
  /** A scrape of `/metrics` without the METRICS_TOKEN bearer (counted per minute). */
  | 'metrics.rejected'
  /** A queue job refused by the step guard: its request is not running, or the step is not in its plan. */
  | 'job.refused';

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
  /** AUDIT_HMAC_KEY's key id that signed `hash` (absent on entries written without a key). */
  kid?: string;
  /** HMAC-SHA256 of `hash` under key `kid`: proves the entry was written by a holder of the key. */
  mac?: string;
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
  verify(options?: { archiveDir?: string; anchors?: string[] }): Promise<AuditVerifyResult>;
}
