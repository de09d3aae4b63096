import { formatDurationShort, type OffboardingReport, type ReportSummary } from './offboarding-report.ts';
import { CELLS, cellsOf } from './report-cells.ts';

/** What a report file carries besides its rows: enough to rebuild it from the chain. */
export function reportMeta(report: OffboardingReport) {
  return {
    kind: report.kind,
    version: report.version,
    period: report.period,
    asOf: report.asOf,
    slaMs: report.slaMs,
    chain: report.chain,
  };
}

export function summaryLine(s: ReportSummary, slaMs: number): string {
  return (
    `${s.count} offboarding${s.count === 1 ? '' : 's'}, ${s.verified} verified; effective → verified ` +
    `median ${formatDurationShort(s.medianMs)}, p95 ${formatDurationShort(s.p95Ms)}, max ${formatDurationShort(s.maxMs)}; ` +
    `${s.slaBreaches} over the ${formatDurationShort(slaMs)} SLA, ${s.unverifiable} unverifiable, ${s.failed} failed, ` +
    `${s.cancelled} cancelled, ${s.open} still open`
  );
}

export function chainLine(report: OffboardingReport): string {
  const h = report.chain.head;
  const v = report.chain.verify;
  const head = h ? `seq ${h.seq}, hash ${h.hash}` : 'empty';
  return v.ok
    ? `audit chain head ${head}; chain verified (${v.count} entries)`
    : `audit chain head ${head}; CHAIN BROKEN at seq ${v.badSeq}: ${v.reason}`;
}

/** For people at a terminal: the summary, then the main columns. */
export function formatTable(report: OffboardingReport): string {
  const keys = [
    'person',
    'source',
    'effective',
    'verified',
    'time_to_verified',
    'outcome',
    'flags',
    'request',
  ];
  const cells = CELLS.filter((c) => keys.includes(c.key)).sort(
    (a, b) => keys.indexOf(a.key) - keys.indexOf(b.key),
  );
  const rows = report.rows.map((r) => cells.map((c) => c.value(r) || '—'));
  const header = cells.map((c) => c.title.toUpperCase());
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const lines = [header, ...rows].map((row) =>
    row
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
  return [
    `Offboarding report ${report.period.since} → ${report.period.until} (as of ${report.asOf})`,
    summaryLine(report.summary, report.slaMs),
    chainLine(report),
    '',
    ...lines,
  ].join('\n');
}

/** Spreadsheets run a cell starting with = + - @ as a formula (OWASP CSV injection): a quote keeps it text. */
function defuse(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

/** RFC 4180 field. */
function csvField(value: string): string {
  const v = defuse(value);
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * CSV: `#` lines first (the summary for people, then `# meta {json}` for `audit verify --report`), a
 * header, one row per offboarding.
 */
export function formatCsv(report: OffboardingReport): string {
  const lines = [
    `# Revoker offboarding report ${report.period.since} → ${report.period.until}`,
    `# ${summaryLine(report.summary, report.slaMs)}`,
    `# ${chainLine(report)}`,
    `# meta ${JSON.stringify(reportMeta(report))}`,
    CELLS.map((c) => c.key).join(','),
    ...report.rows.map((r) => {
      const cells = cellsOf(r);
      return CELLS.map((c) => csvField(cells[c.key]!)).join(',');
    }),
  ];
  return `${lines.join('\r\n')}\r\n`;
}

export function formatJson(report: OffboardingReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF) into rows of fields. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** Undoes `defuse`. */
export function undefuse(value: string): string {
  return /^'[=+\-@\t\r]/.test(value) ? value.slice(1) : value;
}
