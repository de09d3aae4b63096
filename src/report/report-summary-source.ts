import type { AuditLog } from '../audit/types.ts';
import type { ReportSummary } from './offboarding-report.ts';
import { createReport } from './report-service.ts';

/** The last `days` days' offboarding summary, for App Home. */
export interface OffboardingSummary {
  summary: ReportSummary;
  slaMs: number;
  days: number;
  /** Whether the audit chain verified when the summary was built. */
  chainOk: boolean;
}

export type OffboardingSummarySource = () => Promise<OffboardingSummary>;

export interface SummarySourceOptions {
  audit: AuditLog;
  /** OFFBOARDING_SLA. */
  slaMs: number;
  /** AUDIT_ARCHIVE_DIR. */
  archiveDir?: string;
  /** Default 30. */
  days?: number;
  /** How long one computation is reused: App Home opens often, the log is read whole. Default 60 s. */
  ttlMs?: number;
  /** Default `Date.now`. */
  now?: () => number;
}

/** The report's summary over the last `days` days, computed at most once per `ttlMs` in this process. */
export function offboardingSummarySource(options: SummarySourceOptions): OffboardingSummarySource {
  const days = options.days ?? 30;
  const ttl = options.ttlMs ?? 60_000;
  const now = options.now ?? Date.now;
  let cached: { at: number; value: Promise<OffboardingSummary> } | undefined;
  return () => {
    const t = now();
    if (cached && t - cached.at < ttl) return cached.value;
    const value = createReport(options.audit, {
      since: new Date(t - days * 86_400_000),
      until: new Date(t),
      asOf: new Date(t),
      slaMs: options.slaMs,
      ...(options.archiveDir !== undefined ? { archiveDir: options.archiveDir } : {}),
    }).then((r) => ({ summary: r.summary, slaMs: r.slaMs, days, chainOk: r.chain.verify.ok }));
    cached = { at: t, value };
    // A failure is not kept: the next opening tries again.
    value.catch(() => {
      if (cached?.value === value) cached = undefined;
    });
    return value;
  };
}
