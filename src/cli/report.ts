import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { z } from 'zod';
import { RedisAuditLog } from '../audit/redis-audit-log.ts';
import { loadConfig } from '../config.ts';
import { ValidationError } from '../domain/errors.ts';
import { connectRedis } from '../redis/connect.ts';
import type { OffboardingReport } from '../report/offboarding-report.ts';
import { renderHtml } from '../report/report-html.ts';
import { createReport, periodBound } from '../report/report-service.ts';
import { formatCsv, formatJson, formatTable, summaryLine } from '../report/report-text.ts';

const FormatSchema = z.enum(['table', 'csv', 'json', 'html'], {
  error: '--format must be table, csv, json or html',
});

export function formatReport(report: OffboardingReport, format: z.infer<typeof FormatSchema>): string {
  switch (format) {
    case 'table':
      return `${formatTable(report)}\n`;
    case 'csv':
      return formatCsv(report);
    case 'json':
      return formatJson(report);
    case 'html':
      return renderHtml(report);
  }
}

/** `revoker report`: every offboarding of a period, effective time → verified, checkable against the chain. */
export function register(program: Command): void {
  program
    .command('report')
    .description(
      'Offboardings and user-scope revocations of a period: effective time, approvals, verified, time to verified, SLA',
    )
    .option(
      '--since <date>',
      'start (YYYY-MM-DD in HR_TIME_ZONE, or ISO-8601); default 30 days before --until',
    )
    .option('--until <date>', 'end, exclusive (a date means through that day); default now')
    .option('--format <format>', 'table, csv, json or html', 'table')
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (raw: { since?: string; until?: string; format?: string; out?: string }) => {
      const format = FormatSchema.safeParse(raw.format ?? 'table');
      if (!format.success) throw new ValidationError(format.error.issues[0]!.message);
      const cfg = loadConfig();
      const zone = cfg.HR_TIME_ZONE;
      const now = new Date();
      const until = raw.until ? periodBound(raw.until, zone, 'until', '--until') : now;
      const since = raw.since
        ? periodBound(raw.since, zone, 'since', '--since')
        : new Date(until.getTime() - 30 * 86_400_000);
      // A shell command should fail fast when Redis is down, not retry forever.
      const redis = connectRedis(cfg, { purpose: 'command' });
      let report: OffboardingReport;
      try {
        report = await createReport(new RedisAuditLog({ redis, prefix: cfg.REVOKER_PREFIX }), {
          since,
          until,
          asOf: now,
          slaMs: cfg.OFFBOARDING_SLA,
          archiveDir: cfg.AUDIT_ARCHIVE_DIR,
        });
      } finally {
        await redis.quit().catch(() => redis.disconnect());
      }
      const text = formatReport(report, format.data);
      if (raw.out) {
        await writeFile(raw.out, text);
        process.stderr.write(`${summaryLine(report.summary, report.slaMs)}\nwrote ${raw.out}\n`);
      } else process.stdout.write(text);
      if (!report.chain.verify.ok) process.exitCode = 1;
    });
}
