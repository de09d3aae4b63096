import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import type { AuditAction, AuditLog } from './types.ts';

/** One refused request: who (as far as it is known), what was refused and why. */
export interface Refusal {
  action: AuditAction;
  /** `id` must come from a bounded set (a verified user id, a known source name, `unverified`). */
  actor: { source: string; id: string };
  /** A stable code from a small fixed set (`signature_invalid`, `not_a_requester`, …). */
  reason: string;
  /** Attacker-chosen text worth keeping (e.g. an unknown source name): bounded and escaped here. */
  excerpt?: string;
}

/** Where entry points report refusals; fire and forget, never slows or fails the refusal itself. */
export interface RefusalRecorder {
  record(refusal: Refusal): void;
}

export interface RedisRefusalLogOptions {
  redis: Redis;
  /** Counters live in `${prefix}:audit:refusals`. */
  prefix: string;
  audit: AuditLog;
  clock?: () => Date;
  logger?: Logger;
  /** How often finished minutes are written to the audit log; default 15 s. */
  flushIntervalMs?: number;
}

/** Longest excerpt kept from attacker text. */
export const EXCERPT_MAX = 64;

/** `text` cut to `max` characters, with anything outside printable ASCII shown as `\uXXXX`. */
export function boundedExcerpt(text: string, max = EXCERPT_MAX): string {
  const cut = [...text].slice(0, max).join('');
  return cut.replace(
    /[^\x20-\x7e]|[\\"<>&`]/g,
    (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0').slice(-4)}`,
  );
}

/** Takes (reads and deletes) every counter of a minute before ARGV[1]; returns field, count, excerpt. */
const TAKE = `
local all = redis.call('HGETALL', KEYS[1])
local out = {}
local cutoff = tonumber(ARGV[1])
for i = 1, #all, 2 do
  local f = all[i]
  if string.sub(f, 1, 1) == 'c' then
    local ms = tonumber(string.match(f, '^c(%d+)|'))
    if ms and ms < cutoff then
      local x = 'x' .. string.sub(f, 2)
      local excerpt = redis.call('HGET', KEYS[1], x)
      out[#out + 1] = f
      out[#out + 1] = all[i + 1]
      out[#out + 1] = excerpt or ''
      redis.call('HDEL', KEYS[1], f, x)
    end
  end
end
return out
`;

const MINUTE_MS = 60_000;

/**
 * Refusals counted per minute, action, actor and reason in Redis (so every web process adds to the same
 * counter), and written to the audit log as one entry with a count once the minute is over: a flood of
 * forged requests costs the audit log a handful of entries a minute, not one each.
 */
export class RedisRefusalLog implements RefusalRecorder {
  readonly #key: string;
  readonly #clock: () => Date;
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: RedisRefusalLogOptions) {
    this.#key = `${o.prefix}:audit:refusals`;
    this.#clock = o.clock ?? (() => new Date());
  }

  record(refusal: Refusal): void {
    const minute = Math.floor(this.#clock().getTime() / MINUTE_MS) * MINUTE_MS;
    const id = JSON.stringify([refusal.action, refusal.actor.source, refusal.actor.id, refusal.reason]);
    const pipeline = this.o.redis.pipeline().hincrby(this.#key, `c${minute}|${id}`, 1);
    if (refusal.excerpt) pipeline.hsetnx(this.#key, `x${minute}|${id}`, boundedExcerpt(refusal.excerpt));
    pipeline.exec().catch((err: unknown) => this.o.logger?.warn({ err: String(err) }, 'refusal not counted'));
  }

  /**
   * Writes the counters of every finished minute (all of them with `all`, e.g. on shutdown) as audit
   * entries; returns how many entries it wrote. Taking is atomic, so two processes never write a minute twice.
   */
  async flush(options: { all?: boolean } = {}): Promise<number> {
    const cutoff = options.all
      ? Number.MAX_SAFE_INTEGER
      : Math.floor(this.#clock().getTime() / MINUTE_MS) * MINUTE_MS;
    const taken = (await this.o.redis.eval(TAKE, 1, this.#key, String(cutoff))) as string[];
    const entries = [];
    for (let i = 0; i < taken.length; i += 3) {
      const field = taken[i]!;
      const bar = field.indexOf('|');
      const minute = Number(field.slice(1, bar));
      const [action, source, id, reason] = JSON.parse(field.slice(bar + 1)) as [
        AuditAction,
        string,
        string,
        string,
      ];
      const excerpt = taken[i + 2];
      entries.push({
        minute,
        field,
        count: Number(taken[i + 1]),
        entry: {
          action,
          actor: { source, id },
          detail: {
            reason,
            count: Number(taken[i + 1]),
            minute: new Date(minute).toISOString(),
            ...(excerpt ? { excerpt } : {}),
          },
        },
      });
    }
    entries.sort((a, b) => a.minute - b.minute || a.field.localeCompare(b.field));
    try {
      await Promise.all(entries.map((e) => this.o.audit.append(e.entry)));
    } catch (err) {
      // Put the counts back so the next flush writes them: refusals are never silently dropped.
      const pipeline = this.o.redis.pipeline();
      for (const e of entries) pipeline.hincrby(this.#key, e.field, e.count);
      await pipeline.exec();
      throw err;
    }
    return entries.length;
  }

  /** Flushes finished minutes periodically. */
  start(): void {
    this.#timer ??= setInterval(() => {
      this.flush().catch((err: unknown) => this.o.logger?.warn({ err: String(err) }, 'refusal flush failed'));
    }, this.o.flushIntervalMs ?? 15_000);
    this.#timer.unref();
  }

  /** Stops the timer and writes whatever is counted. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush({ all: true }).catch((err: unknown) =>
      this.o.logger?.warn({ err: String(err) }, 'refusal flush on close failed'),
    );
  }
}
