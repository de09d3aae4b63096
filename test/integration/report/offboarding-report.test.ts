import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatReport } from '../../../src/cli/report.ts';
import { processHrEvent } from '../../../src/hr/hr-event-processor.ts';
import type { OffboardingReport } from '../../../src/report/offboarding-report.ts';
import { checkReportFile, createReport } from '../../../src/report/report-service.ts';
import { parseCsv } from '../../../src/report/report-text.ts';
import { CLI_TIMEOUT_MS, runRevoker } from '../../helpers/cli.ts';
import { MemoryAuditLog } from '../../helpers/memory-audit.ts';
import { MemoryIdp } from '../../helpers/memory-idp.ts';
import { createPipeline, type Pipeline } from '../../helpers/pipeline.ts';
import { testWorkflowEngine } from '../../helpers/test-workflows.ts';

const HOUR = 3_600_000;
const SLA = HOUR;

let pipe: Pipeline;
let dir: string;
let since: Date;
let until: Date;
let report: OffboardingReport;
const ids: Record<string, string> = {};

/** The story an auditor samples: two HR terminations (one delivered 3 h late), a Slack user revocation
 * with an approval, a scheduled HR one cancelled by two people, and an application revocation (not an
 * offboarding). Real intake, workers, Redis audit chain. */
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'revoker-report-'));
  const idp = new MemoryIdp();
  for (const who of ['alice', 'bob', 'carol', 'dave', 'ann', 'ben']) {
    idp.addUser(`u_${who}`, `${who}@example.com`);
    idp.addToken(`u_${who}`, 'expense-portal');
  }
  const workflows = await testWorkflowEngine([
    { name: 'slack-user', sources: ['slack'], scopes: ['user'], required: 1, approvers: ['UANN'] },
    { name: 'automated', sources: ['hr', 'scim', 'cli'], required: 0 },
  ]);
  pipe = await createPipeline({ idp, workflows });
  await pipe.startWorkers();
  const now = Date.now();
  since = new Date(now - 24 * HOUR);
  until = new Date(now + 3 * 24 * HOUR);
  const deps = {
    idp,
    intake: pipe.intake,
    audit: pipe.audit,
    notifier: pipe.notifier,
    redis: pipe.redis,
    prefix: pipe.prefix,
    clocks: {
      default: { timeZone: 'America/Los_Angeles', offboardingAt: { kind: 'end-of-day' as const } },
    },
  };
  const hr = async (employeeId: string, email: string, effectiveAt: Date) =>
    (
      (await processHrEvent(
        {
          source: 'standard',
          eventId: `evt-${employeeId}`,
          employeeId,
          email,
          effectiveAt: effectiveAt.toISOString(),
          kind: 'terminate',
          type: 'employee.terminated',
        },
        deps,
      )) as { requestId: string }
    ).requestId;
  ids.alice = await hr('E-ALICE', 'alice@example.com', new Date(now - 3 * HOUR));
  ids.bob = await hr('E-BOB', 'bob@example.com', new Date(now - 5 * 60_000));
  const { request: carol } = await pipe.intake.submit({
    target: { kind: 'user', userId: 'u_carol' },
    source: 'slack',
    requestedBy: { source: 'slack', id: 'UADMIN' },
    reason: 'laptop stolen',
  });
  ids.carol = carol.id;
  await pipe.intake.approve(carol.id, { source: 'slack', id: 'UANN', name: 'Ann' });
  ids.dave = await hr('E-DAVE', 'dave@example.com', new Date(now + 2 * 24 * HOUR));
  await pipe.intake.requestCancel(ids.dave, { source: 'slack', id: 'UANN', email: 'ann@example.com' });
  await pipe.intake.requestCancel(ids.dave, { source: 'slack', id: 'UBEN', email: 'ben@example.com' });
  const { request: app } = await pipe.intake.submit({
    target: { kind: 'application', applicationId: 'expense-portal' },
    source: 'cli',
    requestedBy: { source: 'cli', id: 'ops' },
    reason: 'secret leaked',
  });
  for (const id of [ids.alice!, ids.bob!, ids.carol!, app.id]) {
    expect((await pipe.intake.waitForOutcome(id, 20_000)).state).toBe('verified');
  }
  report = await createReport(pipe.audit, { since, until, slaMs: SLA, archiveDir: join(dir, 'archive') });
}, 60_000);

afterAll(async () => {
  await pipe?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('revoker report: offboardings joined from the audit chain', () => {
  it('one row per offboarding or user-scope revocation, with effective → verified and flags', () => {
    expect(report.rows.map((r) => r.requestId).sort()).toEqual(
      [ids.alice, ids.bob, ids.carol, ids.dave].sort(),
    );
    const row = (who: string) => report.rows.find((r) => r.requestId === ids[who])!;
    const alice = row('alice');
    expect(alice).toMatchObject({
      source: 'hr',
      event: 'standard employee.terminated (employee E-ALICE)',
      timeZone: 'America/Los_Angeles',
      outcome: 'verified',
      flags: ['sla_breach'],
    });
    // HR said 3 h ago: the delivery came late, and the report says so.
    expect(alice.timeToVerifiedMs).toBeGreaterThan(3 * HOUR);
    expect(alice.timeToVerifiedMs).toBeLessThan(3 * HOUR + 5 * 60_000);
    expect(alice.startedAt).toBeDefined();
    expect(row('bob')).toMatchObject({ outcome: 'verified', flags: [] });
    expect(row('carol')).toMatchObject({
      source: 'slack',
      outcome: 'verified',
      approvals: [{ by: 'Ann (UANN)', at: expect.any(String) }],
    });
    expect(row('dave')).toMatchObject({ outcome: 'cancelled', flags: ['cancelled'] });
    expect(row('dave').cancelVotes.map((v) => v.by)).toEqual(['UANN', 'UBEN']);
    // Each row names the entries it is built from, and they are the request's own.
    for (const r of report.rows) expect(r.entryIds.length).toBeGreaterThan(1);
    expect(report.summary).toMatchObject({ count: 4, verified: 3, slaBreaches: 1, cancelled: 1, open: 0 });
    expect(report.summary.maxMs).toBe(alice.timeToVerifiedMs);
    expect(report.chain.verify).toMatchObject({ ok: true });
    expect(report.chain.head?.seq).toBeGreaterThan(10);
  });

  it('every format checks against the chain; an edited, removed or added row does not', async () => {
    const csv = formatReport(report, 'csv');
    const html = formatReport(report, 'html');
    const json = formatReport(report, 'json');
    for (const text of [csv, html, json]) {
      expect(await checkReportFile(text, pipe.audit)).toMatchObject({ ok: true, rows: 4 });
    }
    const alice = report.rows.find((r) => r.requestId === ids.alice)!;
    const edited: [string, string][] = [
      [csv, csv.replace(alice.verifiedAt!, '2020-01-01T00:00:00.000Z')],
      [html, html.replace(`>${alice.verifiedAt!}<`, '>2020-01-01T00:00:00.000Z<')],
      [
        json,
        json.replace(`"verifiedAt": "${alice.verifiedAt!}"`, '"verifiedAt": "2020-01-01T00:00:00.000Z"'),
      ],
      [csv, csv.replace(/\r\n[^\r\n]*sla_breach[^\r\n]*/, '')],
      [
        html,
        html.replace(
          '</tbody>',
          '<tr data-request="req_forged"><th scope="row" data-f="request">req_forged</th></tr></tbody>',
        ),
      ],
    ];
    for (const [original, text] of edited) {
      expect(text).not.toBe(original);
      expect((await checkReportFile(text, pipe.audit)).ok).toBe(false);
    }
    const check = await checkReportFile(edited[0]![1], pipe.audit);
    expect(check.ok ? [] : check.problems.join('\n')).toContain(
      `(${ids.alice}): Verified is "2020-01-01T00:00:00.000Z"`,
    );
  });

  it(
    'from the shell: `revoker report --format csv`, then `revoker audit verify --report` passes, and fails once a row is edited',
    async () => {
      const env = {
        REDIS_URL: process.env.REDIS_URL,
        REVOKER_PREFIX: pipe.prefix,
        AUDIT_ARCHIVE_DIR: join(dir, 'archive'),
        LOG_LEVEL: 'silent',
      };
      const period = ['--since', since.toISOString(), '--until', until.toISOString()];
      const out = await runRevoker(['report', ...period, '--format', 'csv'], env);
      expect(out.code, out.stderr).toBe(0);
      const table = parseCsv(
        out.stdout
          .split('\r\n')
          .filter((l) => !l.startsWith('#'))
          .join('\n'),
      ).filter((r) => r.length > 1);
      const [header, ...rows] = table;
      expect(header).toEqual(
        expect.arrayContaining(['effective', 'verified', 'time_to_verified_s', 'audit_entries']),
      );
      expect(rows).toHaveLength(4);
      const file = join(dir, 'report.csv');
      await writeFile(file, out.stdout);
      const ok = await runRevoker(['audit', 'verify', '--report', file], env);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/^ok: .*report\.csv \(csv\): 4 rows match the audit chain/);
      const alice = report.rows.find((r) => r.requestId === ids.alice)!;
      await writeFile(
        file,
        (await readFile(file, 'utf8')).replace(alice.verifiedAt!, '2020-01-01T00:00:00.000Z'),
      );
      const bad = await runRevoker(['audit', 'verify', '--report', file], env);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain(ids.alice);
    },
    CLI_TIMEOUT_MS,
  );

  it('a period older than what Redis keeps is read from the archive', async () => {
    const archiveDir = join(dir, 'archive');
    const html = formatReport(report, 'html');
    // Everything leaves Redis for the archive (as AUDIT_RETENTION_DAYS would do with older entries).
    const moved = await pipe.audit.archive({ before: new Date(Date.now() + 60_000), dir: archiveDir });
    expect(moved.archived).toBeGreaterThan(10);
    const again = await createReport(pipe.audit, {
      since,
      until,
      slaMs: SLA,
      archiveDir,
      asOf: new Date(report.asOf),
    });
    expect(again.rows).toEqual(report.rows);
    expect(again.chain.verify).toMatchObject({ ok: true });
    expect(await checkReportFile(html, pipe.audit, { archiveDir })).toMatchObject({ ok: true, rows: 4 });
    // Without the archive the same period is empty: the rows above came from it.
    expect((await createReport(pipe.audit, { since, until, slaMs: SLA })).rows).toEqual([]);
  });

  it('an empty log gives an empty report with a summary of zeros', async () => {
    const empty = await createReport(new MemoryAuditLog(), { since, until, slaMs: SLA });
    expect(empty.summary).toMatchObject({ count: 0, medianMs: undefined, slaBreaches: 0 });
    expect(formatReport(empty, 'table')).toContain('0 offboardings');
  });
});
