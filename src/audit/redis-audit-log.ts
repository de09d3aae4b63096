import { createHash, randomInt } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { ConflictError, ValidationError } from '../domain/errors.ts';
import { TargetSchema } from '../domain/target.ts';
import { confirmReplicated } from '../redis/durability.ts';
import { jsonField } from '../redis/json-field.ts';
import { type Anchor, readAnchors } from './audit-anchor.ts';
import { type ArchiveHead, archiveFiles, readArchive, writeArchive } from './audit-archive.ts';
import type { AuditKeys } from './audit-keys.ts';
import { canonicalJson } from './canonical-json.ts';
import type { AuditEntry, AuditEntryInput, AuditLog, AuditVerifyResult } from './types.ts';

/** prevHash of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

export interface RedisAuditLogOptions {
  redis: Redis;
  /** Keys live under `${prefix}:audit:*`. */
  prefix: string;
  /** Source of `at`; default `() => new Date()`. */
  clock?: () => Date;
  /** Attempts before an append gives up under contention from other processes; default 100. */
  maxAttempts?: number;
  /** Entries per XRANGE page when reading; default 1000. */
  pageSize?: number;
  /**
   * How long a dedupe key keeps an entry from being appended twice. It only has to outlive every way the
   * same fact can be reported again: a job's retries and stalls (hours), an HR vendor's redeliveries (3 days
   * at most among the vendors we take, plus HR_REPLAY_WINDOW_SECONDS), a SCIM client's retries. Default
   * 14 days.
   */
  dedupeTtlSeconds?: number;
  /** AUDIT_HMAC_KEY: signs every new entry, and `verify` checks every signed one. Default: unsigned. */
  keys?: AuditKeys | undefined;
}

/**
 * Appends a batch of entries in one Lua step, only if the chain head is still the one their hashes were
 * computed from. Redis Lua has no sha256, so Node hashes and Redis checks: optimistic concurrency.
 * Nothing is written when any entry's dedupe key is already taken (the reply names those entries, and
 * Node recomputes the chain without them) or when the head moved (the reply carries the new head).
 *
 * KEYS: head, stream, then per entry its dedupe key and its request index.
 * ARGV: expected seq, expected hash, genesis hash, entry count, then per entry: new hash, at (ms),
 * use dedupe ('1'/'0'), use request index ('1'/'0'), number of stream fields, the stream fields; last,
 * the dedupe keys' TTL in seconds.
 * Stream ids are `max(at, last)-n`, so they never go backwards and XRANGE by time finds every
 * entry whose `at` is at or after the start even when process clocks disagree.
 */
const APPEND_MANY_SCRIPT = `
local count = tonumber(ARGV[4])
local items = {}
local dups = {}
local pos = 5
for i = 1, count do
  local nf = tonumber(ARGV[pos + 4])
  local item = {hash = ARGV[pos], ms = tonumber(ARGV[pos + 1]), dedupe = ARGV[pos + 2] == '1',
    req = ARGV[pos + 3] == '1', first = pos + 5, last = pos + 4 + nf}
  items[i] = item
  pos = pos + 5 + nf
  if item.dedupe and redis.call('EXISTS', KEYS[1 + 2 * i]) == 1 then dups[#dups + 1] = tostring(i) end
end
if #dups > 0 then return {'dup', unpack(dups)} end
local cur = redis.call('HMGET', KEYS[1], 'seq', 'hash', 'ms', 'n')
local seq = cur[1] or '0'
local hash = cur[2] or ARGV[3]
if seq ~= ARGV[1] or hash ~= ARGV[2] then return {'conflict', seq, hash} end
local lastMs = tonumber(cur[3] or '0')
local lastN = tonumber(cur[4] or '-1')
local ids = {'ok'}
local id, msStr, nStr
for i = 1, count do
  local item = items[i]
  local ms = item.ms
  local n = 0
  if ms <= lastMs then
    ms = lastMs
    n = lastN + 1
  end
  lastMs = ms
  lastN = n
  msStr = string.format('%.0f', ms)
  nStr = string.format('%.0f', n)
  id = msStr .. '-' .. nStr
  redis.call('XADD', KEYS[2], id, unpack(ARGV, item.first, item.last))
  if item.dedupe then redis.call('SET', KEYS[1 + 2 * i], id, 'EX', ARGV[#ARGV]) end
  if item.req then redis.call('RPUSH', KEYS[2 + 2 * i], id) end
  ids[i + 1] = id
end
redis.call('HSET', KEYS[1], 'seq', string.format('%.0f', tonumber(seq) + count), 'hash', items[count].hash,
  'id', id, 'ms', msStr, 'n', nStr)
return ids
`;

const APPEND_MANY_SHA = createHash('sha1').update(APPEND_MANY_SCRIPT).digest('hex');

/** Default life of an audit dedupe key: longer than every redelivery window (see `dedupeTtlSeconds`). */
export const AUDIT_DEDUPE_TTL_SECONDS = 14 * 86_400;

/** Entries per Lua call at most; more wait for the next call. */
const MAX_BATCH = 200;

interface PendingAppend {
  input: AuditEntryInput;
  at: Date;
  dedupeKey: string | undefined;
  resolve: (entry: AuditEntry | undefined) => void;
  reject: (err: unknown) => void;
}

const DetailSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));
const ActorSchema = z.object({ source: z.string(), id: z.string(), name: z.string().optional() });

/** The stream entry's fields, as written by `append`. */
const StoredEntrySchema = z.object({
  seq: z
    .string()
    .regex(/^[1-9][0-9]*$/)
    .transform(Number),
  at: z.string().min(1),
  prevHash: z.string().regex(/^[0-9a-f]{64}$/),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  action: z.string().min(1),
  actor: jsonField(ActorSchema),
  requestId: z.string().optional(),
  target: jsonField(TargetSchema).optional(),
  detail: jsonField(DetailSchema).optional(),
  kid: z.string().optional(),
  mac: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});

type Decoded = { ok: true; entry: AuditEntry } | { ok: false; id: string; error: string };

/** An entry as an archive file holds it (see audit-archive.ts). */
const ArchivedEntrySchema = z
  .object({
    id: z.string().min(1),
    seq: z.number().int().min(1),
    at: z.string().min(1),
    prevHash: z.string().regex(/^[0-9a-f]{64}$/),
    hash: z.string().regex(/^[0-9a-f]{64}$/),
    action: z.string().min(1),
    actor: ActorSchema,
    requestId: z.string().optional(),
    target: TargetSchema.optional(),
    detail: DetailSchema.optional(),
    kid: z.string().optional(),
    mac: z.string().optional(),
  })
  .strict();

/** The stream id right after `id` (`ms-n` → `ms-(n+1)`): XTRIM MINID with it drops `id` and all before. */
function nextStreamId(id: string): string {
  const [ms, n] = id.split('-');
  return `${ms}-${Number(n) + 1}`;
}

/** sha256 over the canonical JSON of every field except `id` and `hash`. */
export function hashEntry(e: Omit<AuditEntry, 'id' | 'hash'>): string {
  const body = {
    seq: e.seq,
    at: e.at,
    prevHash: e.prevHash,
    action: e.action,
    actor: e.actor,
    requestId: e.requestId,
    target: e.target,
    detail: e.detail,
  };
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

function decode(id: string, flat: string[]): Decoded {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
  const parsed = StoredEntrySchema.safeParse(fields);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, id, error: `${issue.path.map(String).join('.') || 'entry'} ${issue.message}` };
  }
  const d = parsed.data;
  const entry: AuditEntry = {
    id,
    seq: d.seq,
    at: d.at,
    prevHash: d.prevHash,
    hash: d.hash,
    // Stored as written by append; a foreign action string still hashes and verifies as stored.
    action: d.action as AuditEntry['action'],
    actor: d.actor,
  };
  if (d.requestId !== undefined) entry.requestId = d.requestId;
  if (d.target !== undefined) entry.target = d.target;
  if (d.detail !== undefined) entry.detail = d.detail;
  if (d.kid !== undefined) entry.kid = d.kid;
  if (d.mac !== undefined) entry.mac = d.mac;
  return { ok: true, entry };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The hash-chained audit log on one Redis stream (DESIGN §1 Audit).
 *
 * Keys: `${prefix}:audit:stream` (entries), `:audit:head` (seq, hash and id of the last entry),
 * `:audit:dedupe:<key>` (stream id of the entry appended under that key, for `dedupeTtlSeconds`),
 * `:audit:req:<requestId>` (ids of a request's entries, so its history is read without a scan).
 */
export class RedisAuditLog implements AuditLog {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #clock: () => Date;
  readonly #maxAttempts: number;
  readonly #pageSize: number;
  readonly #keys: AuditKeys | undefined;
  readonly #dedupeTtlSeconds: number;
  /** Last head this process saw; saves a read per append when no one else is writing. */
  #head: { seq: number; hash: string } | undefined;
  /**
   * Appends waiting for their turn. Appends from one process go one Lua call at a time (they would only
   * race each other for the head), and each call takes every append that queued up meanwhile (group
   * commit): under load, one round trip and one head check carry many entries.
   */
  readonly #pending: PendingAppend[] = [];
  #draining = false;

  constructor(options: RedisAuditLogOptions) {
    this.#redis = options.redis;
    this.#prefix = `${options.prefix}:audit`;
    this.#clock = options.clock ?? (() => new Date());
    this.#maxAttempts = options.maxAttempts ?? 100;
    this.#pageSize = options.pageSize ?? 1000;
    this.#keys = options.keys;
    this.#dedupeTtlSeconds = Math.max(1, Math.ceil(options.dedupeTtlSeconds ?? AUDIT_DEDUPE_TTL_SECONDS));
  }

  /** The chain head as Redis records it (for anchoring outside Redis). */
  async head(): Promise<{ seq: number; hash: string; id: string }> {
    const [seq, hash, id] = await this.#redis.hmget(`${this.#prefix}:head`, 'seq', 'hash', 'id');
    return { seq: seq ? Number(seq) : 0, hash: hash ?? GENESIS_HASH, id: id ?? '' };
  }

  get streamKey(): string {
    return `${this.#prefix}:stream`;
  }

  append(input: AuditEntryInput, options: { dedupeKey?: string } = {}): Promise<AuditEntry | undefined> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ input, at: this.#clock(), dedupeKey: options.dedupeKey, resolve, reject });
      if (!this.#draining) void this.#drain();
    });
  }

  /**
   * Appends several entries, in this order, as one batch (one Lua call when nothing else is queued);
   * each item as `append` would, `undefined` for those whose dedupe key was already taken.
   */
  appendMany(
    items: readonly { entry: AuditEntryInput; dedupeKey?: string }[],
  ): Promise<(AuditEntry | undefined)[]> {
    return Promise.all(
      items.map((item) =>
        this.append(item.entry, item.dedupeKey === undefined ? {} : { dedupeKey: item.dedupeKey }),
      ),
    );
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#pending.length > 0) {
        // A second append under a key already in this batch waits for the next one, where it is a dup.
        const keys = new Set<string>();
        let size = 0;
        for (const p of this.#pending) {
          if (size === MAX_BATCH) break;
          if (p.dedupeKey !== undefined) {
            if (keys.has(p.dedupeKey)) break;
            keys.add(p.dedupeKey);
          }
          size++;
        }
        const batch = this.#pending.splice(0, size);
        try {
          const results = await this.#appendBatch(batch);
          for (const [i, p] of batch.entries()) p.resolve(results[i]);
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  /** Appends `batch` in order; a result per item, `undefined` for a dedupe key already taken. */
  async #appendBatch(batch: readonly PendingAppend[]): Promise<(AuditEntry | undefined)[]> {
    const headKey = `${this.#prefix}:head`;
    const results: (AuditEntry | undefined)[] = new Array(batch.length).fill(undefined);
    // Indices into `batch` still to append; entries found already appended (dups) leave it.
    let live = batch.map((_, i) => i);
    if (this.#head === undefined) {
      const [seq, hash] = await this.#redis.hmget(headKey, 'seq', 'hash');
      this.#head = { seq: seq ? Number(seq) : 0, hash: hash ?? GENESIS_HASH };
    }
    for (let attempt = 1; attempt <= this.#maxAttempts; ) {
      if (live.length === 0) return results;
      const start = this.#head;
      const keys: string[] = [headKey, this.streamKey];
      const args: string[] = [String(start.seq), start.hash, GENESIS_HASH, String(live.length)];
      const entries: AuditEntry[] = [];
      let prev = start;
      for (const index of live) {
        const { input, at: atDate, dedupeKey } = batch[index]!;
        const at = atDate.toISOString();
        const body: Omit<AuditEntry, 'id' | 'hash'> = {
          seq: prev.seq + 1,
          at,
          prevHash: prev.hash,
          action: input.action,
          actor: input.actor,
        };
        if (input.requestId !== undefined) body.requestId = input.requestId;
        if (input.target !== undefined) body.target = input.target;
        if (input.detail !== undefined) body.detail = input.detail;
        const hash = hashEntry(body);
        const signed = this.#keys?.sign(hash);
        const fields = ['seq', String(body.seq), 'at', at, 'prevHash', body.prevHash, 'hash', hash];
        if (signed) fields.push('kid', signed.kid, 'mac', signed.mac);
        fields.push('action', body.action, 'actor', JSON.stringify(body.actor));
        if (body.requestId !== undefined) fields.push('requestId', body.requestId);
        if (body.target !== undefined) fields.push('target', JSON.stringify(body.target));
        if (body.detail !== undefined) fields.push('detail', JSON.stringify(body.detail));
        keys.push(
          dedupeKey === undefined ? `${this.#prefix}:dedupe` : `${this.#prefix}:dedupe:${dedupeKey}`,
          input.requestId === undefined ? `${this.#prefix}:req` : `${this.#prefix}:req:${input.requestId}`,
        );
        args.push(
          hash,
          String(atDate.getTime()),
          dedupeKey === undefined ? '0' : '1',
          input.requestId === undefined ? '0' : '1',
          String(fields.length),
          ...fields,
        );
        entries.push({ ...body, id: '', hash, ...signed });
        prev = { seq: body.seq, hash };
      }

      args.push(String(this.#dedupeTtlSeconds));
      const reply = (await this.#evalAppendMany(keys, args)) as string[];
      if (reply[0] === 'ok') {
        live.forEach((index, i) => {
          results[index] = { ...entries[i]!, id: reply[i + 1]! };
        });
        this.#head = prev;
        // An entry is a fact others rely on: it must survive a failover before append resolves. Without the
        // connection check the intake and HR paths make: a worker's entries are followed by its job's
        // completion on the same connection, so a failover that loses them loses that too and the job runs
        // again (failing the job here instead strands it when the failover also lost its lock).
        await confirmReplicated(this.#redis);
        return results;
      }
      if (reply[0] === 'dup') {
        // Already in the log (an earlier run of the same job): `undefined` for those, the rest again.
        const dups = new Set(reply.slice(1).map((i) => live[Number(i) - 1]!));
        live = live.filter((index) => !dups.has(index));
        continue;
      }
      // Another process appended first; its head came back with the refusal, so retry at once,
      // with growing jitter so that many contenders spread out instead of colliding again.
      this.#head = { seq: Number(reply[1]), hash: reply[2] ?? GENESIS_HASH };
      if (attempt > 1) await sleep(randomInt(0, Math.min(2 ** attempt, 50) + 1));
      attempt++;
    }
    throw new ConflictError(`audit append gave up after ${this.#maxAttempts} attempts under contention`);
  }

  /** EVALSHA, falling back to EVAL once after a Redis restart or SCRIPT FLUSH (NOSCRIPT). */
  async #evalAppendMany(keys: string[], args: string[]): Promise<unknown> {
    try {
      return await this.#redis.evalsha(APPEND_MANY_SHA, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return this.#redis.eval(APPEND_MANY_SCRIPT, keys.length, ...keys, ...args);
    }
  }

  async *entries(options: { since?: Date; requestId?: string } = {}): AsyncIterable<AuditEntry> {
    const since = options.since?.getTime();
    const keep = (e: AuditEntry) => since === undefined || Date.parse(e.at) >= since;
    if (options.requestId !== undefined) {
      const index = `${this.#prefix}:req:${options.requestId}`;
      for (let start = 0; ; start += this.#pageSize) {
        const ids = await this.#redis.lrange(index, start, start + this.#pageSize - 1);
        if (ids.length === 0) return;
        const pipeline = this.#redis.pipeline();
        for (const id of ids) pipeline.xrange(this.streamKey, id, id);
        for (const [err, rows] of (await pipeline.exec()) ?? []) {
          if (err) throw err;
          for (const [id, flat] of rows as [string, string[]][]) {
            const entry = this.#decodeOrThrow(id, flat);
            if (keep(entry)) yield entry;
          }
        }
        if (ids.length < this.#pageSize) return;
      }
    }
    // Ids never run behind `at` (see APPEND_MANY_SCRIPT), so starting the range at `since` misses nothing.
    for await (const [id, flat] of this.#raw(since === undefined ? '-' : String(since))) {
      const entry = this.#decodeOrThrow(id, flat);
      if (keep(entry)) yield entry;
    }
  }

  /**
   * Moves every entry appended before `before` into an archive file in `dir` (JSON Lines, the chain
   * head carried in its last line), then trims them from the stream and records where the stream now
   * starts (`:audit:base`), so `verify` proves archive and stream as one chain. One run at a time
   * across processes (a Redis lock); returns how many entries moved.
   */
  async archive(options: { before: Date; dir: string }): Promise<{ archived: number; file?: string }> {
    const lockKey = `${this.#prefix}:archive-lock`;
    const token = String(randomInt(1, 2 ** 47));
    if ((await this.#redis.set(lockKey, token, 'PX', 600_000, 'NX')) !== 'OK') return { archived: 0 };
    try {
      const entries: AuditEntry[] = [];
      const cutoff = options.before.getTime();
      for await (const [id, flat] of this.#raw('-')) {
        if (Number(id.split('-')[0]) >= cutoff) break;
        entries.push(this.#decodeOrThrow(id, flat));
      }
      if (entries.length === 0) return { archived: 0 };
      const file = await writeArchive(options.dir, entries);
      const last = entries[entries.length - 1]!;
      // The file is durable before anything leaves Redis; trim and base move together.
      await this.#redis
        .multi()
        .xtrim(this.streamKey, 'MINID', nextStreamId(last.id))
        .hset(`${this.#prefix}:base`, 'seq', String(last.seq), 'hash', last.hash, 'id', last.id)
        .exec();
      return { archived: entries.length, file };
    } finally {
      await this.#redis.eval(
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end",
        1,
        lockKey,
        token,
      );
    }
  }

  /**
   * Recomputes the chain. With `archiveDir`, from the first archived entry through the archive files and
   * on into the stream, which must join the archive exactly; without it, the stream from where the last
   * trim left it (`:audit:base`).
   */
  async verify(options: { archiveDir?: string; anchors?: string[] } = {}): Promise<AuditVerifyResult> {
    let anchors: Anchor[] = [];
    if (options.anchors) {
      const read = await readAnchors(options.anchors);
      if (!read.ok) return { ok: false, count: 0, badSeq: 0, badId: '', reason: `anchors: ${read.reason}` };
      anchors = read.anchors;
    }
    const keyed = new EntryChecks(this.#keys, anchors);
    // Read the head first: appends during the scan only add entries after it.
    const [headSeqText, headHash, headId] = await this.#redis.hmget(
      `${this.#prefix}:head`,
      'seq',
      'hash',
      'id',
    );
    const [baseSeqText, baseHash, baseId] = await this.#redis.hmget(
      `${this.#prefix}:base`,
      'seq',
      'hash',
      'id',
    );
    const base: ArchiveHead | undefined = baseSeqText
      ? { seq: Number(baseSeqText), hash: baseHash ?? '', id: baseId ?? '' }
      : undefined;
    const headSeq = headSeqText ? Number(headSeqText) : 0;
    let count = 0;
    let prevHash = GENESIS_HASH;
    if (options.archiveDir !== undefined) {
      const archived = await verifyArchive(options.archiveDir, keyed);
      if (!archived.ok) return archived;
      count = archived.count;
      prevHash = archived.hash;
      if ((base?.seq ?? 0) !== count || (base && base.hash !== prevHash)) {
        return {
          ok: false,
          count,
          badSeq: count + 1,
          badId: base?.id ?? '',
          reason: `the archive ends at seq ${count} but the stream continues from seq ${base?.seq ?? 0}: archive files are missing or altered`,
        };
      }
    } else if (base) {
      count = base.seq;
      prevHash = base.hash;
    }
    let hashAtHead: string | undefined = headSeq === count ? prevHash : undefined;
    let lastId = '';
    const it = this.#raw('-')[Symbol.asyncIterator]();
    let current = await it.next();
    while (!current.done) {
      const [id, flat] = current.value;
      const next = await it.next();
      const bad = (reason: string): AuditVerifyResult => ({
        ok: false,
        count,
        badSeq: count + 1,
        badId: id,
        reason,
      });
      const decoded = decode(id, flat);
      if (!decoded.ok) return bad(`malformed entry: ${decoded.error}`);
      const e = decoded.entry;
      const expected = count + 1;
      if (hashEntry(e) !== e.hash) return bad('hash mismatch: the entry was altered after it was written');
      if (e.seq < expected) {
        return bad(
          `out-of-order seq: expected ${expected}, found ${e.seq} (entries reordered or duplicated)`,
        );
      }
      if (e.seq > expected) {
        const after = next.done ? undefined : decode(next.value[0], next.value[1]);
        if (after?.ok && after.entry.seq === expected) {
          return bad(`out-of-order seq: expected ${expected}, found ${e.seq} (entries swapped)`);
        }
        return bad(`seq gap: expected ${expected}, found ${e.seq} (entries removed)`);
      }
      if (e.prevHash !== prevHash) {
        return bad(`prevHash mismatch: does not chain to the hash of entry ${expected - 1}`);
      }
      const problem = keyed.check(e);
      if (problem) return bad(problem);
      count = e.seq;
      prevHash = e.hash;
      lastId = id;
      if (e.seq === headSeq) hashAtHead = e.hash;
      current = next;
    }
    const tail = keyed.tail(count);
    if (tail) return { ok: false, count, badSeq: count + 1, badId: '', reason: tail };
    if (headSeq > count) {
      return {
        ok: false,
        count,
        badSeq: count + 1,
        badId: headId ?? '',
        reason: `missing entries: the chain head records seq ${headSeq} but the stream ends at seq ${count}`,
      };
    }
    if (headSeq > 0 && hashAtHead !== headHash) {
      return {
        ok: false,
        count: headSeq - 1,
        badSeq: headSeq,
        badId: headId ?? lastId,
        reason: 'head mismatch: the chain head records a different hash for this entry',
      };
    }
    return { ok: true, count };
  }

  /** The stream in pages of `pageSize`, from `start` (an id or ms) to the end. */
  async *#raw(start: string): AsyncGenerator<[string, string[]]> {
    let from = start;
    for (;;) {
      const rows = (await this.#redis.xrange(this.streamKey, from, '+', 'COUNT', this.#pageSize)) as [
        string,
        string[],
      ][];
      yield* rows;
      if (rows.length < this.#pageSize) return;
      from = `(${rows[rows.length - 1]![0]}`;
    }
  }

  #decodeOrThrow(id: string, flat: string[]): AuditEntry {
    const d = decode(id, flat);
    if (!d.ok) throw new ValidationError(`audit entry ${id} is malformed: ${d.error}`);
    return d.entry;
  }
}

/** Checks the archive files in `dir` as one chain from the genesis; returns where it ends. */
async function verifyArchive(
  dir: string,
  keyed: EntryChecks,
): Promise<{ ok: true; count: number; hash: string } | Extract<AuditVerifyResult, { ok: false }>> {
  let count = 0;
  let prevHash = GENESIS_HASH;
  for (const file of await archiveFiles(dir)) {
    let closed = false;
    for await (const line of readArchive(file)) {
      const bad = (id: string, reason: string): Extract<AuditVerifyResult, { ok: false }> => ({
        ok: false,
        count,
        badSeq: count + 1,
        badId: id,
        reason: `${file} line ${line.line}: ${reason}`,
      });
      if (closed) return bad('', 'lines after the closing head line');
      if (line.kind === 'bad') return bad('', line.error);
      if (line.kind === 'head') {
        if (line.head.seq !== count || line.head.hash !== prevHash) {
          return bad(line.head.id, 'the closing head does not match the last entry');
        }
        closed = true;
        continue;
      }
      const parsed = ArchivedEntrySchema.safeParse(line.value);
      if (!parsed.success) return bad('', `malformed entry: ${parsed.error.issues[0]!.message}`);
      const e = parsed.data as AuditEntry;
      if (hashEntry(e) !== e.hash)
        return bad(e.id, 'hash mismatch: the entry was altered after it was written');
      if (e.seq !== count + 1) return bad(e.id, `seq ${e.seq} where ${count + 1} was expected`);
      if (e.prevHash !== prevHash) return bad(e.id, `prevHash mismatch: does not chain to entry ${count}`);
      const problem = keyed.check(e);
      if (problem) return bad(e.id, problem);
      count = e.seq;
      prevHash = e.hash;
    }
    if (!closed) {
      return {
        ok: false,
        count,
        badSeq: count + 1,
        badId: '',
        reason: `${file}: no closing head line (cut short)`,
      };
    }
  }
  return { ok: true, count, hash: prevHash };
}

/**
 * What the keys and the anchors add to the hash chain's own checks: with a key, every entry must be
 * signed by a known key over its hash (except history anchored before the key was set); an entry an anchor names must have the anchored hash
 * (history rewritten otherwise); and the chain must reach the last anchor (entries deleted at the tail).
 */
class EntryChecks {
  readonly #bySeq = new Map<number, Anchor>();
  readonly #last: Anchor | undefined;
  /**
   * With a key, entries up to here may be unsigned: the highest seq an anchor written without the key
   * recorded (history from before AUDIT_HMAC_KEY was set). Every later entry must be signed.
   */
  readonly #unsignedUpTo: number;

  constructor(
    private readonly keys: AuditKeys | undefined,
    anchors: readonly Anchor[],
  ) {
    for (const a of anchors) this.#bySeq.set(a.seq, a);
    this.#last = anchors.reduce<Anchor | undefined>((m, a) => (!m || a.seq > m.seq ? a : m), undefined);
    this.#unsignedUpTo = Math.max(0, ...anchors.filter((a) => a.mac === undefined).map((a) => a.seq));
  }

  check(e: AuditEntry): string | undefined {
    const anchor = this.#bySeq.get(e.seq);
    if (anchor && anchor.hash !== e.hash) {
      return `rewritten history: entry ${e.seq} differs from the anchor written outside Redis at ${anchor.at}`;
    }
    if (!this.keys) return undefined;
    if (e.mac === undefined || e.kid === undefined) {
      return e.seq <= this.#unsignedUpTo
        ? undefined
        : 'unsigned entry: written (or rewritten) without AUDIT_HMAC_KEY';
    }
    if (!this.keys.has(e.kid)) return `signed with key id ${e.kid}, which AUDIT_HMAC_KEY does not hold`;
    if (!this.keys.verify(e.hash, e.kid, e.mac)) {
      return 'HMAC mismatch: the entry (or the chain before it) was rewritten without the key';
    }
    return undefined;
  }

  /** A problem when the chain (ending at `count`) stops short of the last anchor. */
  tail(count: number): string | undefined {
    if (!this.#last || this.#last.seq <= count) return undefined;
    return `deletion at the tail: an anchor written at ${this.#last.at} records seq ${this.#last.seq}, but the chain ends at seq ${count}`;
  }
}
