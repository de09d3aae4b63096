import { formatDurationShort, type OffboardingReport, type ReportRow } from './offboarding-report.ts';
import { CELLS, cellsOf } from './report-cells.ts';
import { chainLine, reportMeta } from './report-text.ts';

/**
 * The report as one self-contained HTML page: no script, font or stylesheet from anywhere (it prints and
 * archives as it is), the summary, a server-side SVG chart of effective → verified (`role="img"` with
 * `<title>` and `<desc>` for screen readers), and the table (`<caption>`, `<th scope>`); each row names
 * the audit entries it is built from. A `<meta name="revoker-report">` carries what `revoker audit verify
 * --report` needs to rebuild the rows from the chain.
 */

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

export function unescapeHtml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&amp;/g, '&');
}

/** `15m`, `1h`, `90s`: bucket edges read best without a zero second unit. */
function compact(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return formatDurationShort(ms);
}

interface Bucket {
  label: string;
  count: number;
  late: boolean;
}

/** Time-to-verified in buckets around the SLA, plus those never verified. */
export function buckets(rows: readonly ReportRow[], slaMs: number): Bucket[] {
  const edges = [0, slaMs / 4, slaMs / 2, slaMs, 2 * slaMs, 4 * slaMs, Number.POSITIVE_INFINITY];
  const out: Bucket[] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    const lo = edges[i]!;
    const hi = edges[i + 1]!;
    out.push({
      label:
        hi === Number.POSITIVE_INFINITY
          ? `≥ ${compact(lo)}`
          : `${lo === 0 ? '0' : compact(lo)}–${compact(hi)}`,
      count: rows.filter(
        (r) => r.timeToVerifiedMs !== undefined && r.timeToVerifiedMs >= lo && r.timeToVerifiedMs < hi,
      ).length,
      late: lo >= slaMs,
    });
  }
  out.push({
    label: 'not verified',
    count: rows.filter((r) => r.timeToVerifiedMs === undefined).length,
    late: false,
  });
  return out;
}

export function chartSvg(report: OffboardingReport): string {
  const data = buckets(report.rows, report.slaMs);
  const width = 720;
  const height = 280;
  const left = 40;
  const bottom = 50;
  const top = 30;
  const plotH = height - top - bottom;
  const slot = (width - left - 10) / data.length;
  const max = Math.max(1, ...data.map((b) => b.count));
  const bars = data
    .map((b, i) => {
      const h = Math.round((b.count / max) * plotH);
      const x = Math.round(left + i * slot + slot * 0.15);
      const w = Math.round(slot * 0.7);
      const y = top + plotH - h;
      const fill = b.label === 'not verified' ? '#6b7280' : b.late ? '#b91c1c' : '#15803d';
      return [
        `<rect class="bar" x="${x}" y="${y}" width="${w}" height="${h}" fill="${fill}"><title>${escapeHtml(`${b.label}: ${b.count}`)}</title></rect>`,
        `<text x="${x + w / 2}" y="${y - 4}" text-anchor="middle" font-size="12">${b.count}</text>`,
        `<text x="${x + w / 2}" y="${top + plotH + 16}" text-anchor="middle" font-size="11">${escapeHtml(b.label)}</text>`,
      ].join('');
    })
    .join('');
  // The SLA falls between the third and fourth buckets by construction.
  const slaX = Math.round(left + 3 * slot);
  const s = report.summary;
  const desc =
    `Histogram of the time from HR's effective time to verified revocation for ${s.count} offboardings: ` +
    data.map((b) => `${b.label}: ${b.count}`).join('; ') +
    `. Bars at or over the ${formatDurationShort(report.slaMs)} SLA are red; p95 is ${formatDurationShort(s.p95Ms)}.`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="chart-title" aria-describedby="chart-desc" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">`,
    '<title id="chart-title">Effective time → verified, per offboarding</title>',
    `<desc id="chart-desc">${escapeHtml(desc)}</desc>`,
    `<line x1="${left}" y1="${top + plotH}" x2="${width - 10}" y2="${top + plotH}" stroke="#111827"/>`,
    bars,
    `<line x1="${slaX}" y1="${top - 10}" x2="${slaX}" y2="${top + plotH}" stroke="#111827" stroke-dasharray="4 3"/>`,
    `<text x="${slaX + 4}" y="${top - 14}" font-size="12">SLA ${escapeHtml(compact(report.slaMs))}</text>`,
    `<text x="${left}" y="${height - 8}" font-size="12">effective → verified</text>`,
    '</svg>',
  ].join('\n');
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827;margin:2rem;max-width:1400px}
h1{font-size:1.5rem;margin:0 0 .25rem}
.meta{color:#374151;margin:.25rem 0}
.broken{color:#b91c1c;font-weight:600}
dl.summary{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:.5rem;margin:1rem 0}
dl.summary div{border:1px solid #d1d5db;border-radius:6px;padding:.5rem .75rem}
dl.summary dt{font-size:.8rem;color:#374151}
dl.summary dd{margin:0;font-size:1.25rem;font-weight:600}
table{border-collapse:collapse;font-size:12px;margin-top:1rem}
caption{text-align:left;font-weight:600;font-size:1rem;padding:.5rem 0}
th,td{border:1px solid #d1d5db;padding:.25rem .4rem;vertical-align:top;text-align:left}
thead th{background:#f3f4f6}
tr.flagged td,tr.flagged th{background:#fef2f2}
td[data-f=effective],td[data-f=created],td[data-f=started],td[data-f=verified]{white-space:nowrap}
td[data-f=audit_entries]{font-family:ui-monospace,monospace;font-size:11px;word-break:break-all;min-width:14rem}
@media print{body{margin:0}tr{break-inside:avoid}}
`;

export function renderHtml(report: OffboardingReport): string {
  const s = report.summary;
  const v = report.chain.verify;
  const figures: [string, string][] = [
    ['Offboardings', String(s.count)],
    ['Verified', String(s.verified)],
    ['Median', formatDurationShort(s.medianMs)],
    ['p95', formatDurationShort(s.p95Ms)],
    ['Max', formatDurationShort(s.maxMs)],
    [`Over SLA (${formatDurationShort(report.slaMs)})`, String(s.slaBreaches)],
    ['Unverifiable', String(s.unverifiable)],
    ['Failed', String(s.failed)],
    ['Cancelled', String(s.cancelled)],
    ['Still open', String(s.open)],
  ];
  const head = CELLS.map((c) => `<th scope="col">${escapeHtml(c.title)}</th>`).join('');
  const body = report.rows
    .map((r) => {
      const cells = cellsOf(r);
      const tds = CELLS.map((c) =>
        c.key === 'request'
          ? `<th scope="row" data-f="${c.key}">${escapeHtml(cells[c.key]!)}</th>`
          : `<td data-f="${c.key}">${escapeHtml(cells[c.key]!)}</td>`,
      ).join('');
      return `<tr data-request="${escapeHtml(r.requestId)}"${r.flags.length ? ' class="flagged"' : ''}>${tds}</tr>`;
    })
    .join('\n');
  const title = `Offboarding report ${report.period.since.slice(0, 10)} → ${report.period.until.slice(0, 10)}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="revoker-report" content="${escapeHtml(JSON.stringify(reportMeta(report)))}">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
<p class="meta">Period ${escapeHtml(report.period.since)} to ${escapeHtml(report.period.until)} (UTC), as of ${escapeHtml(report.asOf)}. Built from Revoker's hash-chained audit log.</p>
<p class="meta${v.ok ? '' : ' broken'}" id="chain">${escapeHtml(chainLine(report))}. Check this file against the chain: <code>revoker audit verify --report FILE</code>.</p>
<section aria-labelledby="summary-h">
<h2 id="summary-h">Summary</h2>
<dl class="summary">${figures.map(([k, val]) => `<div><dt>${escapeHtml(k)}</dt><dd>${escapeHtml(val)}</dd></div>`).join('')}</dl>
</section>
<section aria-labelledby="chart-h">
<h2 id="chart-h">Time from effective to verified</h2>
<figure>
${chartSvg(report)}
</figure>
</section>
<section aria-labelledby="rows-h">
<h2 id="rows-h">Offboardings</h2>
<table>
<caption>Every offboarding and user-scope revocation effective in the period, oldest first; flagged rows are over the SLA, unverifiable, failed or cancelled.</caption>
<thead><tr>${head}</tr></thead>
<tbody>
${body}
</tbody>
</table>
</section>
</main>
</body>
</html>
`;
}
