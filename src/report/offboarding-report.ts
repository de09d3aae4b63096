import { z } from 'zod';
import type { AuditEntry, AuditVerifyResult } from '../audit/types.ts';
import { sanitizeOutsideText, truncateGraphemes } from '../domain/outside-text.ts';

/**
 * The offboarding report (`revoker report`, `GET /admin/report`, App Home's summary): one row per
 * offboarding or user-scope revocation, joined from the hash-chained audit log alone — HR effective time →
 * request → approvals, denials, cancellation votes → started → verified — with the entry ids each row is
 * built from. Pure: the same entries, period, SLA and `asOf` always give the same report, which is what
 * lets `revoker audit verify --report` rebuild it from the chain and compare.
 */

export const REPORT_KIND = 'revoker.offboarding-report';
export const REPORT_VERSION = 1;

export type Outcome = 'verified' | 'unverifiable' | 'failed' | 'cancelled' | 'denied' | 'expired' | 'open';

export type Flag = 'sla_breach' | 'unverifiable' | 'failed' | 'cancelled';

export interface Decision {
  by: string;
  at: string;
}

export interface ConnectionOutcome {
  connection: string;
  outcome: string;
  /** When that connection's own outcome entry was written (absent when the request's outcome lists them). */
  at?: string;
  /** Why it is unverifiable or failed, as the outcome entry says it. */
  why?: string;
}

/**
 * A fanned-out user revocation's outcome entry lists every connection (issue 22): detail `connectionsJson`,
 * `[{connection, status, why?}]`. Anything else there (older entries, a cut value) leaves the row without
 * them rather than failing the report.
 */
const ConnectionsJsonSchema = z
  .array(
    z.object({
      connection: z.string().min(1).max(64),
      status: z.string().min(1).max(32),
      why: z.string().optional(),
    }),
  )
  .max(100);

const STATUS_WORDS: Record<string, string> = { no_account: 'no account' };

function connectionsOf(detail: AuditEntry['detail']): ConnectionOutcome[] | undefined {
  const raw = detail?.connectionsJson;
  if (typeof raw !== 'string') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const parsed = ConnectionsJsonSchema.safeParse(json);
  if (!parsed.success) return undefined;
  return parsed.data.map((c) => ({
    connection: sanitizeOutsideText(c.connection),
    outcome: STATUS_WORDS[c.status] ?? sanitizeOutsideText(c.status),
    ...(c.why ? { why: truncateGraphemes(sanitizeOutsideText(c.why), 500) } : {}),
  }));
}

export interface ReportRow {
  requestId: string;
  /** The person: the IdP's display name when the intake found one, else the IdP user id. */
  person: string;
  userId: string;
  /** `hr`, `scim`, `slack`, `cli`, … */
  source: string;
  /** The source's event: HR source and its event type, SCIM deactivation, the Slack or CLI requester. */
  event: string;
  /** The company's zone for HR rows (times are always printed in UTC). */
  timeZone: string;
  /** When access had to end: HR's effective time (as last rescheduled), else the request's creation. */
  effectiveAt: string;
  createdAt: string;
  approvals: Decision[];
  denials: Decision[];
  cancelVotes: Decision[];
  startedAt: string | undefined;
  /** When the outcome was recorded (verified, unverifiable, failed, cancelled, denied, expired). */
  endedAt: string | undefined;
  verifiedAt: string | undefined;
  /** Per identity connection, where the audit log records several. */
  connections: ConnectionOutcome[];
  outcome: Outcome;
  /** verifiedAt − effectiveAt, in ms (0 when verified before the effective time: cannot be late). */
  timeToVerifiedMs: number | undefined;
  flags: Flag[];
  /** The audit entries (stream ids) this row is built from, in chain order. */
  entryIds: string[];
}

export interface ReportSummary {
  count: number;
  verified: number;
  medianMs: number | undefined;
  p95Ms: number | undefined;
  maxMs: number | undefined;
  slaBreaches: number;
  unverifiable: number;
  failed: number;
  cancelled: number;
  open: number;
}

export interface ChainHead {
  seq: number;
  hash: string;
  id: string;
}

export interface OffboardingReport {
  kind: typeof REPORT_KIND;
  version: typeof REPORT_VERSION;
  /** `[since, until)`, ISO-8601 UTC: rows whose effective time falls in it. */
  period: { since: string; until: string };
  /** The instant the report speaks for: an open offboarding past its SLA at this time is a breach. */
  asOf: string;
  slaMs: number;
  /** The last audit entry the report read: rebuilding from the chain up to it gives the same rows. */
  chain: { head: ChainHead | undefined; verify: AuditVerifyResult };
  summary: ReportSummary;
  rows: ReportRow[];
}

export interface BuildOptions {
  since: Date;
  until: Date;
  asOf: Date;
  slaMs: number;
}

const OUTCOME_OF: Partial<Record<string, Outcome>> = {
  'request.verified': 'verified',
  'request.unverifiable': 'unverifiable',
  'request.failed': 'failed',
  'request.cancelled': 'cancelled',
  'request.denied': 'denied',
  'request.expired': 'expired',
};

/** Actions that belong to a request's story (token-level entries would make a row name thousands of ids). */
const STORY = new Set([
  'request.created',
  'request.approval_recorded',
  'request.approved',
  'request.denied',
  'request.cancel_requested',
  'request.cancelled',
  'request.scheduled',
  'request.rescheduled',
  'request.queued',
  'request.started',
  'request.verified',
  'request.unverifiable',
  'request.failed',
  'request.expired',
  'request.dead_lettered',
]);

function who(e: AuditEntry): string {
  return e.actor.name ? `${e.actor.name} (${e.actor.id})` : e.actor.id;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** One request's row from its entries (chain order), or undefined when it is not an offboarding. */
export function buildRow(entries: readonly AuditEntry[], options: BuildOptions): ReportRow | undefined {
  const story = entries.filter((e) => STORY.has(e.action));
  const created = story.find((e) => e.action === 'request.created');
  if (!created?.requestId || !created.target) return undefined;
  const source = created.actor.source;
  // Every offboarding (HR, SCIM) and every revocation of all of a user's tokens, whoever asked.
  if (created.target.kind !== 'user' && source !== 'hr' && source !== 'scim') return undefined;
  const d = created.detail ?? {};
  // A fanned-out revocation's part in one connection is reported through its parent's row, never alone.
  if (str(d.parent)) return undefined;
  // The request's effective time (future ones), else HR's own (past ones run at once), else creation.
  let effectiveAt = str(d.effectiveAt) ?? str(d.hrEffectiveAt) ?? created.at;
  const row: ReportRow = {
    requestId: created.requestId,
    person: str(d.targetName) ?? ('userId' in created.target ? created.target.userId : '-'),
    userId: 'userId' in created.target ? created.target.userId : '-',
    source,
    event:
      source === 'hr'
        ? `${str(d.hrSource) ?? created.actor.id} ${str(d.hrEvent) ?? 'termination'}${str(d.employeeId) ? ` (employee ${str(d.employeeId)})` : ''}`
        : source === 'scim'
          ? `SCIM deactivation by ${created.actor.id}`
          : `${source} request by ${who(created)}`,
    timeZone: str(d.timeZone) ?? 'UTC',
    effectiveAt,
    createdAt: created.at,
    approvals: [],
    denials: [],
    cancelVotes: [],
    startedAt: undefined,
    endedAt: undefined,
    verifiedAt: undefined,
    connections: [],
    outcome: 'open',
    timeToVerifiedMs: undefined,
    flags: [],
    entryIds: story.map((e) => e.id),
  };
  for (const e of story) {
    const connection = str(e.detail?.connection);
    switch (e.action) {
      case 'request.approval_recorded':
        row.approvals.push({ by: who(e), at: e.at });
        break;
      case 'request.denied':
        row.denials.push({ by: who(e), at: e.at });
        break;
      case 'request.cancel_requested':
        row.cancelVotes.push({ by: who(e), at: e.at });
        break;
      case 'request.cancelled':
        // The confirming vote (or HR calling it off) is the last one.
        row.cancelVotes.push({ by: who(e), at: e.at });
        break;
      case 'request.rescheduled':
        effectiveAt = str(e.detail?.effectiveAt) ?? effectiveAt;
        break;
      case 'request.started':
        row.startedAt ??= e.at;
        break;
    }
    const outcome = OUTCOME_OF[e.action];
    if (!outcome) continue;
    if (connection) {
      row.connections.push({ connection, outcome, at: e.at });
      continue;
    }
    row.outcome = outcome;
    row.endedAt = e.at;
    row.connections = connectionsOf(e.detail) ?? row.connections;
    if (outcome === 'verified') row.verifiedAt = e.at;
  }
  row.effectiveAt = new Date(effectiveAt).toISOString();
  if (row.verifiedAt) {
    row.timeToVerifiedMs = Math.max(0, Date.parse(row.verifiedAt) - Date.parse(row.effectiveAt));
  }
  const late =
    row.timeToVerifiedMs !== undefined
      ? row.timeToVerifiedMs > options.slaMs
      : // Still not verified (open, unverifiable, failed): late once the SLA has passed.
        row.outcome !== 'cancelled' &&
        row.outcome !== 'denied' &&
        row.outcome !== 'expired' &&
        options.asOf.getTime() - Date.parse(row.effectiveAt) > options.slaMs;
  if (late) row.flags.push('sla_breach');
  if (row.outcome === 'unverifiable') row.flags.push('unverifiable');
  if (row.outcome === 'failed') row.flags.push('failed');
  if (row.outcome === 'cancelled') row.flags.push('cancelled');
  return row;
}

/** Median (mean of the two middle values for an even count) and nearest-rank percentiles. */
export function summarise(rows: readonly ReportRow[]): ReportSummary {
  const times = rows
    .map((r) => r.timeToVerifiedMs)
    .filter((t): t is number => t !== undefined)
    .sort((a, b) => a - b);
  const n = times.length;
  const median = n === 0 ? undefined : n % 2 ? times[(n - 1) / 2]! : (times[n / 2 - 1]! + times[n / 2]!) / 2;
  const count = (f: Flag) => rows.filter((r) => r.flags.includes(f)).length;
  return {
    count: rows.length,
    verified: n,
    medianMs: median,
    p95Ms: n === 0 ? undefined : times[Math.ceil(0.95 * n) - 1],
    maxMs: n === 0 ? undefined : times[n - 1],
    slaBreaches: count('sla_breach'),
    unverifiable: count('unverifiable'),
    failed: count('failed'),
    cancelled: count('cancelled'),
    open: rows.filter((r) => r.outcome === 'open').length,
  };
}

/**
 * The report over `entries` (chain order, complete up to `head`): rows whose effective time is in
 * `[since, until)`, oldest first.
 */
export function buildReport(
  entries: readonly AuditEntry[],
  options: BuildOptions & { verify: AuditVerifyResult },
): OffboardingReport {
  const byRequest = new Map<string, AuditEntry[]>();
  for (const e of entries) {
    if (!e.requestId) continue;
    let list = byRequest.get(e.requestId);
    if (!list) {
      list = [];
      byRequest.set(e.requestId, list);
    }
    list.push(e);
  }
  const since = options.since.getTime();
  const until = options.until.getTime();
  const rows: ReportRow[] = [];
  for (const list of byRequest.values()) {
    const row = buildRow(list, options);
    if (!row) continue;
    const t = Date.parse(row.effectiveAt);
    if (t >= since && t < until) rows.push(row);
  }
  rows.sort((a, b) => a.effectiveAt.localeCompare(b.effectiveAt) || a.requestId.localeCompare(b.requestId));
  const last = entries[entries.length - 1];
  return {
    kind: REPORT_KIND,
    version: REPORT_VERSION,
    period: { since: options.since.toISOString(), until: options.until.toISOString() },
    asOf: options.asOf.toISOString(),
    slaMs: options.slaMs,
    chain: {
      head: last ? { seq: last.seq, hash: last.hash, id: last.id } : undefined,
      verify: options.verify,
    },
    summary: summarise(rows),
    rows,
  };
}

/** `1h 02m`, `4m 05s`, `12s`: durations as people read them. */
export function formatDurationShort(ms: number | undefined): string {
  if (ms === undefined) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${String(h % 24).padStart(2, '0')}h`;
}
