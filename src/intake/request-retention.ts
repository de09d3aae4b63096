import { appendFile, mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { TERMINAL_STATES } from '../domain/request.ts';
import type { Logger } from '../log.ts';

export interface RequestRetentionOptions {
  redis: Redis;
  /** REVOKER_PREFIX: the request store's keys (`{prefix}:req:*`) and the audit's request index. */
  prefix: string;
  /** REQUEST_RETENTION_DAYS: a finished request's record leaves Redis this long after it ended. */
  days: number;
  /** AUDIT_ARCHIVE_DIR: retired records go to `requests-YYYY-MM-DD.jsonl` there, beside the audit's archive. */
  dir: string;
  logger: Logger;
  /**
   * How long after its end a request's working sets stay (a notifier or a late job may still read them).
   * Default 60,000 ms.
   */
  endedGraceMs?: number;
  clock?: () => Date;
}

/** Per-request working sets: what the pipeline needs only while the request runs. */
const WORKING_SETS = ['done', 'failed', 'plan', 'scope', 'bulk', 'revoked', 'steps'] as const;
const CHUNK = 500;

/**
 * Bounds request data in Redis. When a request ends (any terminal state), its working sets (settled
 * steps, failed steps, plan, scope, bulk markers, revoked ids, planned-step digests) are deleted and it
 * moves from its state set to `ended` (scored by its end). REQUEST_RETENTION_DAYS later its record is
 * appended to an archive file beside the audit's (with the ids of its audit entries), then removed with
 * its indexes — and the audit's per-request index with it, so that index never outlives the record it
 * serves (the entries themselves stay in the chain, and move to the audit archive by AUDIT_RETENTION_DAYS).
 */
export class RequestRetention {
  private readonly base: string;
  private readonly clock: () => Date;

  constructor(private readonly o: RequestRetentionOptions) {
    this.base = `${o.prefix}:req:`;
    this.clock = o.clock ?? (() => new Date());
  }

  /** One pass: clears ended requests' working sets, then retires records past the retention. */
  async sweep(): Promise<{ cleared: number; retired: number }> {
    const cleared = await this.clearEnded();
    const retired = await this.retire();
    if (cleared + retired > 0) this.o.logger.info({ cleared, retired }, 'request retention');
    return { cleared, retired };
  }

  private async clearEnded(): Promise<number> {
    const graceEnd = this.clock().getTime() - (this.o.endedGraceMs ?? 60_000);
    let cleared = 0;
    for (const state of TERMINAL_STATES) {
      const setKey = `${this.base}state:${state}`;
      let cursor = '0';
      do {
        const [next, ids] = await this.o.redis.sscan(setKey, cursor, 'COUNT', CHUNK);
        cursor = next;
        if (ids.length === 0) continue;
        const raws = await this.o.redis.mget(...ids.map((id) => `${this.base}${id}`));
        const tx = this.o.redis.multi();
        ids.forEach((id, i) => {
          const raw = raws[i];
          const endedAt = raw ? Date.parse((JSON.parse(raw) as { updatedAt?: string }).updatedAt ?? '') : 0;
          if (raw && !(endedAt <= graceEnd)) return;
          tx.del(...WORKING_SETS.map((k) => `${this.base}${k}:${id}`));
          tx.srem(setKey, id);
          if (raw) tx.zadd(`${this.base}ended`, endedAt, id);
          cleared++;
        });
        await tx.exec();
      } while (cursor !== '0');
    }
    return cleared;
  }

  private async retire(): Promise<number> {
    const cutoff = this.clock().getTime() - this.o.days * 86_400_000;
    let retired = 0;
    for (;;) {
      const ids = await this.o.redis.zrangebyscore(`${this.base}ended`, '-inf', cutoff, 'LIMIT', 0, CHUNK);
      if (ids.length === 0) return retired;
      const raws = await this.o.redis.mget(...ids.map((id) => `${this.base}${id}`));
      const index = this.o.redis.pipeline();
      for (const id of ids) index.lrange(`${this.o.prefix}:audit:req:${id}`, 0, -1);
      const auditIds = ((await index.exec()) ?? []).map(([, v]) => (v as string[] | null) ?? []);
      const lines = ids.flatMap((_id, i) => {
        const raw = raws[i];
        return raw
          ? [`${JSON.stringify({ request: JSON.parse(raw) as unknown, auditIds: auditIds[i] })}\n`]
          : [];
      });
      // Durable on disk before anything leaves Redis.
      if (lines.length > 0) await this.archive(lines.join(''));
      const tx = this.o.redis.multi();
      ids.forEach((id, i) => {
        const raw = raws[i];
        if (raw) {
          const rec = JSON.parse(raw) as { requestedBy?: { id?: string }; source?: string };
          tx.zrem(`${this.base}recent`, id);
          if (rec.requestedBy?.id) tx.zrem(`${this.base}by:${rec.requestedBy.id}`, id);
          if (rec.source) tx.zrem(`${this.base}src:${rec.source}`, id);
        }
        tx.del(`${this.base}${id}`, `${this.o.prefix}:audit:req:${id}`);
        tx.zrem(`${this.base}ended`, id);
      });
      await tx.exec();
      retired += ids.length;
    }
  }

  private async archive(text: string): Promise<void> {
    await mkdir(this.o.dir, { recursive: true });
    const file = join(this.o.dir, `requests-${this.clock().toISOString().slice(0, 10)}.jsonl`);
    await appendFile(file, text, { mode: 0o600 });
    const handle = await open(file, 'r');
    await handle.sync();
    await handle.close();
  }

  /** Sweeps now and then every `intervalMs` (default 60 s). */
  start(intervalMs = 60_000): { stop(): void } {
    const run = () =>
      this.sweep().catch((err: unknown) =>
        this.o.logger.error({ err: String(err) }, 'request retention failed'),
      );
    void run();
    const timer = setInterval(run, intervalMs);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }
}
