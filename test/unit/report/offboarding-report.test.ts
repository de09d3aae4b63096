import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../../src/audit/types.ts';
import { buildReport, type ReportRow, summarise } from '../../../src/report/offboarding-report.ts';
import { cellsOf } from '../../../src/report/report-cells.ts';
import { renderHtml } from '../../../src/report/report-html.ts';
import { readReportFile } from '../../../src/report/report-service.ts';
import { formatCsv, formatJson } from '../../../src/report/report-text.ts';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-12-01T12:00:00Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
let seq = 0;

function entry(
  requestId: string,
  action: AuditEntry['action'],
  ms: number,
  detail: AuditEntry['detail'] = {},
  actor: AuditEntry['actor'] = { source: 'system', id: 'revoker' },
): AuditEntry {
  seq++;
  return {
    id: `${T0 + ms}-${seq}`,
    seq,
    at: at(ms),
    prevHash: '0'.repeat(64),
    hash: String(seq).padStart(64, '0'),
    action,
    actor,
    requestId,
    target: { kind: 'user', userId: `u_${requestId}` },
    detail,
  };
}

const created = (id: string, ms: number, detail: AuditEntry['detail'] = {}, source = 'hr') =>
  entry(
    id,
    'request.created',
    ms,
    { effectiveAt: null, ...detail },
    { source, id: source === 'hr' ? 'gusto' : 'U1' },
  );

const options = {
  since: new Date(T0 - 24 * HOUR),
  until: new Date(T0 + 24 * HOUR),
  asOf: new Date(T0 + 10 * HOUR),
  slaMs: HOUR,
  verify: { ok: true as const, count: 0 },
};

describe('buildReport', () => {
  it('effective → verified from HR’s time, rescheduling, approvals, connections and flags', () => {
    const entries = [
      // HR said 30 minutes before the delivery; verified 20 minutes after it: 50 minutes, on time.
      created('a', 0, {
        hrEffectiveAt: at(-30 * 60_000),
        hrEvent: 'employee.terminated',
        targetName: '=cmd|calc',
      }),
      entry('a', 'request.started', 10 * 60_000),
      entry('a', 'request.verified', 20 * 60_000, { connection: 'okta' }),
      entry('a', 'request.verified', 20 * 60_000),
      // Scheduled, moved to +1 h, verified 2 h after that: over the SLA.
      created('b', 0, { effectiveAt: at(30 * 60_000) }),
      entry('b', 'request.rescheduled', 5 * 60_000, { effectiveAt: at(HOUR) }),
      entry('b', 'request.verified', 3 * HOUR + 1000),
      // Slack, approved, never verified, effective long ago: open past the SLA.
      created('c', 0, {}, 'slack'),
      entry(
        'c',
        'request.approval_recorded',
        60_000,
        {},
        { source: 'slack', id: 'UANN', name: 'Ann, "the approver"' },
      ),
      // Cancelled by two votes.
      created('d', 0, { effectiveAt: at(20 * HOUR) }),
      entry('d', 'request.cancel_requested', 60_000, {}, { source: 'slack', id: 'U1' }),
      entry('d', 'request.cancelled', 120_000, {}, { source: 'slack', id: 'U2' }),
      // Outside the period.
      created('e', 0, { effectiveAt: at(48 * HOUR) }),
    ];
    const report = buildReport(entries, options);
    const row = (id: string) => report.rows.find((r) => r.requestId === id)!;
    expect(report.rows.map((r) => r.requestId)).toEqual(['a', 'c', 'b', 'd']);
    expect(row('a')).toMatchObject({
      timeToVerifiedMs: 50 * 60_000,
      flags: [],
      connections: [{ connection: 'okta', outcome: 'verified', at: at(20 * 60_000) }],
    });
    expect(row('a').entryIds).toHaveLength(4);
    expect(row('b')).toMatchObject({
      effectiveAt: at(HOUR),
      timeToVerifiedMs: 2 * HOUR + 1000,
      flags: ['sla_breach'],
    });
    expect(row('c')).toMatchObject({
      outcome: 'open',
      flags: ['sla_breach'],
      approvals: [{ by: 'Ann, "the approver" (UANN)' }],
    });
    expect(row('d')).toMatchObject({ outcome: 'cancelled', flags: ['cancelled'] });
    expect(report.summary).toMatchObject({ count: 4, verified: 2, slaBreaches: 2, cancelled: 1, open: 1 });
    expect(report.chain.head).toEqual({
      seq: entries.at(-1)!.seq,
      hash: entries.at(-1)!.hash,
      id: entries.at(-1)!.id,
    });
  });

  it('median is the mean of the two middle values, p95 the nearest rank', () => {
    const rows = [5, 1, 3, 2, 4, 100, 6, 7, 8, 9].map(
      (s) => ({ timeToVerifiedMs: s * 1000, flags: [], outcome: 'verified' }) as unknown as ReportRow,
    );
    expect(summarise(rows)).toMatchObject({ medianMs: 5500, p95Ms: 100_000, maxMs: 100_000 });
    expect(summarise(rows.slice(0, 3))).toMatchObject({ medianMs: 3000, p95Ms: 5000 });
  });

  it('CSV, HTML and JSON read back cell for cell, formula, quote, comma, markup and line breaks included', () => {
    const report = buildReport(
      [
        created('x', 0, { targetName: '=HYPERLINK("http://evil"),\n<b>Eve</b> & co', hrEffectiveAt: at(0) }),
        entry('x', 'request.approval_recorded', 60_000, {}, { source: 'slack', id: 'U9', name: '+1, "yes"' }),
        entry('x', 'request.verified', 120_000),
      ],
      options,
    );
    const want = report.rows.map(cellsOf);
    const csv = formatCsv(report);
    // A spreadsheet must not run the name as a formula.
    expect(csv).toContain(`"'=HYPERLINK(`);
    const html = renderHtml(report);
    expect(html).not.toContain('<b>Eve</b>');
    for (const text of [csv, html, formatJson(report)]) expect(readReportFile(text).rows).toEqual(want);
  });
});

describe('per-connection outcomes of a fanned-out user revocation (issue 22)', () => {
  const listed = (list: unknown) => ({ connectionsJson: JSON.stringify(list) });

  it('the parent’s outcome entry lists each connection: the connections column in CSV and HTML; none without', () => {
    const why = `accepted, not observable <&> 👩‍💻🇫🇷 ${'<b>x</b>&'.repeat(60)}`;
    const report = buildReport(
      [
        created('p', 0, { hrEffectiveAt: at(0) }),
        // A child is the parent's part in one connection: it has no row of its own.
        created('p.okta', 1000, { hrEffectiveAt: at(0), parent: 'p' }),
        entry('p.okta', 'request.verified', 60_000, { connection: 'okta' }),
        // Without per-connection data, or with data it cannot read, a row is as before.
        created('q', 0, { hrEffectiveAt: at(0) }),
        entry('q', 'request.verified', 60_000),
        created('r', 0, { hrEffectiveAt: at(0) }),
        entry('r', 'request.failed', 60_000, { connectionsJson: '[{"connection": "okta", "sta' }),
        created('s', 0, { hrEffectiveAt: at(0) }),
        entry('s', 'request.verified', 60_000, listed({ connection: 'okta', status: 'verified' })),
        entry(
          'p',
          'request.unverifiable',
          120_000,
          listed([
            { connection: 'okta', status: 'verified' },
            { connection: 'gtr-notes', status: 'unverifiable', why },
            { connection: 'google', status: 'no_account' },
          ]),
        ),
      ],
      options,
    );
    expect(report.rows.map((r) => r.requestId)).toEqual(['p', 'q', 'r', 's']);
    for (const row of report.rows.slice(1)) expect(cellsOf(row).connections, row.requestId).toBe('');
    expect(report.rows[2]).toMatchObject({ outcome: 'failed', connections: [] });
    const cell = cellsOf(report.rows[0]!).connections!;
    expect(cell).toMatch(/^okta: verified; gtr-notes: unverifiable \(accepted, not observable <&> 👩‍💻🇫🇷 /);
    expect(cell).toMatch(/; google: no account$/);
    const html = renderHtml(report);
    expect(html).toContain(
      '<td data-f="connections">okta: verified; gtr-notes: unverifiable (accepted, not observable &lt;&amp;&gt;',
    );
    expect(html).not.toContain('<b>x</b>');
    expect(formatCsv(report)).toContain('okta: verified; gtr-notes: unverifiable (accepted');
    const want = report.rows.map(cellsOf);
    for (const text of [formatCsv(report), html, formatJson(report)])
      expect(readReportFile(text).rows).toEqual(want);
  });
});
