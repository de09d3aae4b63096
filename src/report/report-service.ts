import { z } from 'zod';
import type { AuditLog } from '../audit/types.ts';
import { dateInstant } from '../domain/dates.ts';
import { ValidationError } from '../domain/errors.ts';
import { buildReport, type OffboardingReport, REPORT_KIND, type ReportRow } from './offboarding-report.ts';
import { CELLS, cellsOf } from './report-cells.ts';
import { readReportEntries } from './report-entries.ts';
import { unescapeHtml } from './report-html.ts';
import { parseCsv, undefuse } from './report-text.ts';

/**
 * `--since` / `--until`: an instant (ISO-8601 with a zone), or a date, read on the company's clock
 * (HR_TIME_ZONE): `--since` from the start of that day, `--until` through the end of that day.
 */
export function periodBound(
  value: string,
  timeZone: string,
  bound: 'since' | 'until',
  /** How the caller names it in an error (`--since` in the shell). */
  label: string = bound,
): Date {
  const v = value.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) {
    const at = dateInstant(
      v,
      { timeZone, offboardingAt: { kind: bound === 'since' ? 'start-of-day' : 'end-of-day' } },
      'end',
    );
    if (at) return new Date(at);
  } else if (z.iso.datetime({ offset: true }).safeParse(v).success) {
    return new Date(v);
  }
  throw new ValidationError(
    `${label}: not a date (YYYY-MM-DD) or an ISO-8601 time with a zone: ${v.slice(0, 40)}`,
  );
}

export interface ReportOptions {
  since: Date;
  until: Date;
  /** Default: now. */
  asOf?: Date;
  /** OFFBOARDING_SLA. */
  slaMs: number;
  /** AUDIT_ARCHIVE_DIR: periods older than what Redis holds are read from it. */
  archiveDir?: string;
}

/** Reads the audit log (and the archive when the period needs it), builds the report, verifies the chain. */
export async function createReport(audit: AuditLog, options: ReportOptions): Promise<OffboardingReport> {
  if (!(options.since.getTime() < options.until.getTime())) {
    throw new ValidationError('the period is empty: --since must be before --until');
  }
  const entries = await readReportEntries(audit, {
    since: options.since,
    ...(options.archiveDir !== undefined ? { archiveDir: options.archiveDir } : {}),
  });
  // Verified after reading: the result speaks for the chain up to (at least) the head the report names.
  const verify = await audit.verify(
    options.archiveDir !== undefined ? { archiveDir: options.archiveDir } : {},
  );
  return buildReport(entries, {
    since: options.since,
    until: options.until,
    asOf: options.asOf ?? new Date(),
    slaMs: options.slaMs,
    verify,
  });
}

const MetaSchema = z.object({
  kind: z.literal(REPORT_KIND),
  version: z.literal(1),
  period: z.object({ since: z.iso.datetime(), until: z.iso.datetime() }),
  asOf: z.iso.datetime(),
  slaMs: z.number().int().positive(),
  chain: z.object({
    head: z.object({ seq: z.number().int().min(1), hash: z.string(), id: z.string() }).optional(),
  }),
});
type Meta = z.infer<typeof MetaSchema>;

interface ReadBack {
  format: 'json' | 'csv' | 'html';
  meta: Meta;
  /** Each row as its cells (key → string), in file order. */
  rows: Record<string, string>[];
  /** JSON only: the summary as written. */
  summary?: unknown;
}

function meta(json: string, where: string): Meta {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new ValidationError(`${where}: the report's metadata is not JSON`);
  }
  const parsed = MetaSchema.safeParse(value);
  if (!parsed.success) throw new ValidationError(`${where}: not a Revoker offboarding report`);
  return parsed.data;
}

/** A report file (JSON, CSV or HTML, as `revoker report` wrote it) read back as metadata and cells. */
export function readReportFile(text: string): ReadBack {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) {
    const parsed = z
      .looseObject({ rows: z.array(z.record(z.string(), z.unknown())), summary: z.unknown() })
      .safeParse(JSON.parse(trimmed));
    if (!parsed.success) throw new ValidationError('JSON report: no rows');
    return {
      format: 'json',
      meta: meta(trimmed, 'JSON report'),
      // The JSON rows are the builder's rows; their cells are what the other formats print.
      rows: parsed.data.rows.map((r) => cellsOf(r as unknown as ReportRow)),
      summary: parsed.data.summary,
    };
  }
  if (/^<!doctype html|^<html/i.test(trimmed)) {
    const m = /<meta name="revoker-report" content="([^"]*)">/.exec(trimmed);
    if (!m) throw new ValidationError('HTML report: no revoker-report metadata');
    const rows: Record<string, string>[] = [];
    for (const tr of trimmed.matchAll(/<tr data-request="[^"]*"[^>]*>([\s\S]*?)<\/tr>/g)) {
      const cells: Record<string, string> = {};
      for (const cell of tr[1]!.matchAll(/<t[dh][^>]*data-f="([a-z_]+)"[^>]*>([\s\S]*?)<\/t[dh]>/g)) {
        cells[cell[1]!] = unescapeHtml(cell[2]!.replace(/<[^>]*>/g, ''));
      }
      rows.push(cells);
    }
    return { format: 'html', meta: meta(unescapeHtml(m[1]!), 'HTML report'), rows };
  }
  // Only the leading `#` lines are comments: a quoted cell may span lines that start with `#`.
  const lines = text.split(/\r?\n/);
  const head = lines.findIndex((l) => !l.startsWith('#'));
  const comments = head < 0 ? lines : lines.slice(0, head);
  const metaLine = comments.find((l) => l.startsWith('# meta '));
  if (!metaLine) throw new ValidationError('CSV report: no "# meta" line');
  const table = parseCsv(lines.slice(comments.length).join('\n')).filter(
    (r) => !(r.length === 1 && r[0] === ''),
  );
  const [header, ...data] = table;
  if (!header) throw new ValidationError('CSV report: no header');
  return {
    format: 'csv',
    meta: meta(metaLine.slice('# meta '.length), 'CSV report'),
    rows: data.map((fields) => Object.fromEntries(header.map((h, i) => [h, undefuse(fields[i] ?? '')]))),
  };
}

export type ReportCheck =
  | { ok: true; format: string; rows: number; headSeq: number }
  | { ok: false; format?: string; problems: string[] };

/**
 * Checks a report file against the chain: the chain verifies, still holds the head the report was built
 * on, and rebuilding the report from the entries up to that head gives exactly the file's rows, cell by
 * cell (an edited, added or removed row fails).
 */
export async function checkReportFile(
  text: string,
  audit: AuditLog,
  options: { archiveDir?: string } = {},
): Promise<ReportCheck> {
  let file: ReadBack;
  try {
    file = readReportFile(text);
  } catch (err) {
    return { ok: false, problems: [(err as Error).message] };
  }
  const problems: string[] = [];
  const archive = options.archiveDir !== undefined ? { archiveDir: options.archiveDir } : {};
  const chain = await audit.verify(archive);
  if (!chain.ok) problems.push(`the audit chain itself is broken at seq ${chain.badSeq}: ${chain.reason}`);
  const head = file.meta.chain.head;
  const entries = await readReportEntries(audit, {
    since: new Date(file.meta.period.since),
    ...archive,
    upToSeq: head?.seq ?? 0,
  });
  const last = entries[entries.length - 1];
  if (head && (last?.seq !== head.seq || last.hash !== head.hash)) {
    problems.push(
      `the chain has no entry seq ${head.seq} with hash ${head.hash}: not the chain this report was built on`,
    );
  }
  const rebuilt = buildReport(entries, {
    since: new Date(file.meta.period.since),
    until: new Date(file.meta.period.until),
    asOf: new Date(file.meta.asOf),
    slaMs: file.meta.slaMs,
    verify: chain,
  });
  const expected = new Map(rebuilt.rows.map((r) => [r.requestId, cellsOf(r)]));
  const seen = new Set<string>();
  file.rows.forEach((cells, i) => {
    const id = cells.request ?? '';
    const want = expected.get(id);
    if (!want) {
      problems.push(
        `row ${i + 1} (${id || 'no request id'}): no such offboarding in the chain for this period`,
      );
      return;
    }
    if (seen.has(id)) problems.push(`row ${i + 1} (${id}): appears twice`);
    seen.add(id);
    for (const c of CELLS) {
      if ((cells[c.key] ?? '') !== want[c.key]) {
        problems.push(
          `row ${i + 1} (${id}): ${c.title} is ${JSON.stringify(cells[c.key] ?? '')} but the audit entries say ${JSON.stringify(want[c.key])}`,
        );
      }
    }
  });
  if (file.format === 'json' && JSON.stringify(file.summary) !== JSON.stringify(rebuilt.summary)) {
    problems.push('the summary does not match the rows the audit entries give');
  }
  for (const id of expected.keys()) {
    if (!seen.has(id)) problems.push(`${id}: in the chain for this period but missing from the report`);
  }
  return problems.length === 0
    ? { ok: true, format: file.format, rows: file.rows.length, headSeq: head?.seq ?? 0 }
    : { ok: false, format: file.format, problems };
}
