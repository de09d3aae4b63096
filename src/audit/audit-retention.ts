import type { Logger } from '../log.ts';
import type { RedisAuditLog } from './redis-audit-log.ts';

export interface AuditRetentionOptions {
  audit: RedisAuditLog;
  /** AUDIT_RETENTION_DAYS: entries older than this leave Redis for the archive. */
  days: number;
  /** AUDIT_ARCHIVE_DIR. */
  dir: string;
  logger: Logger;
  /** How often to look; default hourly. */
  intervalMs?: number;
  clock?: () => Date;
}

/** Archives, then trims, audit entries older than the retention period, now and then every interval. */
export function startAuditRetention(o: AuditRetentionOptions): {
  /** The run made at start: how many entries it archived. */
  firstRun: Promise<number>;
  runOnce(): Promise<number>;
  stop(): void;
} {
  const clock = o.clock ?? (() => new Date());
  const runOnce = async (): Promise<number> => {
    const before = new Date(clock().getTime() - o.days * 86_400_000);
    const { archived, file } = await o.audit.archive({ before, dir: o.dir });
    if (archived > 0) o.logger.info({ archived, file }, 'audit: old entries archived and trimmed');
    return archived;
  };
  const run = () =>
    runOnce().catch((err: unknown) => {
      o.logger.error({ err: String(err) }, 'audit retention failed');
      return 0;
    });
  const firstRun = run();
  const timer = setInterval(run, o.intervalMs ?? 3_600_000);
  timer.unref();
  return { firstRun, runOnce, stop: () => clearInterval(timer) };
}
