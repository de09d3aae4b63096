import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import type { Command } from 'commander';
import { z } from 'zod';
import { anchorPaths } from '../audit/audit-anchor.ts';
import { AuditKeys } from '../audit/audit-keys.ts';
import { exportAudit } from '../audit/export.ts';
import { RedisAuditLog } from '../audit/redis-audit-log.ts';
import { type Config, loadConfig } from '../config.ts';
import { ValidationError } from '../domain/errors.ts';
import { sanitizeOutsideText } from '../domain/outside-text.ts';
import { connectRedis } from '../redis/connect.ts';
import { checkReportFile } from '../report/report-service.ts';

const ExportOptionsSchema = z.object({
  format: z.enum(['jsonl', 'csv'], { error: '--format must be jsonl or csv' }).default('jsonl'),
  since: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      const d = new Date(v);
      if (Number.isNaN(d.getTime())) {
        ctx.addIssue({ code: 'custom', message: `--since: not a date: ${v}` });
        return z.NEVER;
      }
      return d;
    }),
  out: z.string().min(1).optional(),
});

/** Opens the audit log on the configured Redis, runs `fn`, and always closes Redis so the process exits. */
async function withAuditLog<T>(fn: (log: RedisAuditLog, cfg: Config) => Promise<T>): Promise<T> {
  const cfg = loadConfig();
  // A shell command should fail fast when Redis is down, not retry forever.
  const redis = connectRedis(cfg, { purpose: 'command' });
  try {
    const keys = AuditKeys.parse(cfg.AUDIT_HMAC_KEY);
    return await fn(new RedisAuditLog({ redis, prefix: cfg.REVOKER_PREFIX, keys }), cfg);
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

/** `revoker audit verify | export`: check the hash chain; export it for auditors (DESIGN §3). */
export function register(program: Command): void {
  const audit = program.command('audit').description('Check and export the hash-chained audit log');

  audit
    .command('verify')
    .description('Recompute the hash chain, archive files and stream; exit 1 naming the first bad entry')
    .option('--archive <dir>', 'archive directory (default AUDIT_ARCHIVE_DIR)')
    .option('--report <file>', 'check that a `revoker report` file (CSV, JSON or HTML) matches the chain')
    .action(async (raw: { archive?: string; report?: string }) => {
      if (raw.report !== undefined) {
        const text = await readFile(raw.report, 'utf8');
        const check = await withAuditLog((log, cfg) =>
          checkReportFile(text, log, { archiveDir: raw.archive ?? cfg.AUDIT_ARCHIVE_DIR }),
        );
        if (check.ok) {
          process.stdout.write(
            `ok: ${raw.report} (${check.format}): ${check.rows} rows match the audit chain up to seq ${check.headSeq}\n`,
          );
          return;
        }
        process.stderr.write(
          `report ${raw.report} does not match the audit chain:\n${check.problems.map((p) => `  ${p}`).join('\n')}\n`,
        );
        process.exitCode = 1;
        return;
      }
      const result = await withAuditLog((log, cfg) => {
        const archiveDir = raw.archive ?? cfg.AUDIT_ARCHIVE_DIR;
        // The anchors written outside Redis: deletion at the tail and rewritten history show against them.
        return log.verify({
          archiveDir,
          anchors: anchorPaths(archiveDir, cfg.REVOKER_PREFIX, cfg.AUDIT_ANCHOR_FILE),
        });
      });
      if (result.ok) {
        process.stdout.write(`ok: ${result.count} entries, chain intact\n`);
        return;
      }
      process.stderr.write(
        `audit chain broken at seq ${result.badSeq} (stream id ${sanitizeOutsideText(result.badId)}): ${sanitizeOutsideText(result.reason)}\n` +
          `${result.count} entries before it are intact\n`,
      );
      process.exitCode = 1;
    });

  audit
    .command('archive')
    .description(
      'Move entries older than --days (default AUDIT_RETENTION_DAYS) to the archive, then trim them',
    )
    .option('--days <days>', 'age in days')
    .option('--dir <dir>', 'archive directory (default AUDIT_ARCHIVE_DIR)')
    .action(async (raw: { days?: string; dir?: string }) => {
      const { archived, file } = await withAuditLog((log, cfg) => {
        const days = z.coerce
          .number()
          .min(0)
          .parse(raw.days ?? cfg.AUDIT_RETENTION_DAYS);
        return log.archive({
          before: new Date(Date.now() - days * 86_400_000),
          dir: raw.dir ?? cfg.AUDIT_ARCHIVE_DIR,
        });
      });
      process.stdout.write(`archived ${archived} entries${file ? ` to ${file}` : ''}\n`);
    });

  audit
    .command('export')
    .description('Write the log as JSON Lines or CSV (stdout unless --out)')
    .option('--format <format>', 'jsonl or csv', 'jsonl')
    .option('--since <date>', 'only entries at or after this date (ISO-8601)')
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (raw: unknown) => {
      const parsed = ExportOptionsSchema.safeParse(raw);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => i.message);
        throw new ValidationError(issues.join('; '), issues);
      }
      const { format, since, out } = parsed.data;
      const count = await withAuditLog(async (log) => {
        const sink = out === undefined ? process.stdout : createWriteStream(out);
        const n = await exportAudit(log, since ? { format, since } : { format }, sink);
        if (sink !== process.stdout) {
          sink.end();
          await finished(sink);
        }
        return n;
      });
      process.stderr.write(`exported ${count} entries${out === undefined ? '' : ` to ${out}`}\n`);
    });
}
