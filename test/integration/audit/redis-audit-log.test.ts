import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GENESIS_HASH, hashEntry, RedisAuditLog } from '../../../src/audit/index.ts';
import type { AuditEntry, AuditEntryInput } from '../../../src/audit/types.ts';
import { connectRedis, deleteKeys, randomPrefix } from '../../helpers/redis.ts';

const actor = { source: 'slack', id: 'U123' };
const input = (n: number, extra: Partial<AuditEntryInput> = {}): AuditEntryInput => ({
  action: 'request.created',
  actor,
  requestId: `req-${n}`,
  target: { kind: 'user', userId: `user-${n}` },
  detail: { n, reason: `entry ${n}` },
  ...extra,
});

async function collect(it: AsyncIterable<AuditEntry>): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

/** Rewrites the stream the way an attacker with Redis access would: read all, DEL, re-XADD by id. */
async function rewrite(
  redis: Redis,
  key: string,
  edit: (rows: [string, string[]][]) => [string, string[]][],
): Promise<void> {
  const rows = (await redis.xrange(key, '-', '+')) as [string, string[]][];
  const next = edit(rows);
  await redis.del(key);
  for (const [id, fields] of next) await redis.xadd(key, id, ...fields);
}

describe('RedisAuditLog', () => {
  let prefix: string;
  const clients: Redis[] = [];
  const client = () => {
    const c = connectRedis();
    clients.push(c);
    return c;
  };

  beforeEach(() => {
    prefix = randomPrefix('audit');
  });
  afterEach(async () => {
    await deleteKeys(clients[0]!, prefix);
    await Promise.all(clients.splice(0).map((c) => c.quit()));
  });

  it('appends a hash chain that verifies', async () => {
    const log = new RedisAuditLog({ redis: client(), prefix, clock: () => new Date('2026-01-02T03:04:05Z') });
    const a = await log.append(input(1));
    const b = await log.append({ action: 'token.revoked', actor: { source: 'system', id: 'worker-1' } });
    expect(a).toMatchObject({ seq: 1, prevHash: GENESIS_HASH, at: '2026-01-02T03:04:05.000Z' });
    expect(a?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(b).toMatchObject({ seq: 2, prevHash: a?.hash });
    expect(b).not.toHaveProperty('target');
    expect(await log.verify()).toEqual({ ok: true, count: 2 });
    const read = await collect(log.entries());
    expect(read).toEqual([a, b]);
  });

  it('verifies an empty log', async () => {
    const log = new RedisAuditLog({ redis: client(), prefix });
    expect(await log.verify()).toEqual({ ok: true, count: 0 });
  });

  it('keeps one gap-free chain under 200 concurrent appends from several connections', async () => {
    const logs = Array.from({ length: 5 }, () => new RedisAuditLog({ redis: client(), prefix }));
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => logs[i % logs.length]!.append(input(i))),
    );
    const seqs = results.map((r) => r?.seq).sort((x, y) => (x ?? 0) - (y ?? 0));
    expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(await logs[0]!.verify()).toEqual({ ok: true, count: 200 });
    const stored = await collect(logs[1]!.entries());
    expect(stored.map((e) => e.seq)).toEqual(seqs);
    expect(new Set(stored.map((e) => e.detail?.n)).size).toBe(200);
  });

  it('appends a dedupeKey exactly once, even under concurrency', async () => {
    const logs = Array.from({ length: 4 }, () => new RedisAuditLog({ redis: client(), prefix }));
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        logs[i % logs.length]!.append(input(i % 2), { dedupeKey: `job-${i % 2}:revoked` }),
      ),
    );
    expect(results.filter((r) => r !== undefined)).toHaveLength(2);
    expect(await logs[0]!.append(input(9), { dedupeKey: 'job-0:revoked' })).toBeUndefined();
    expect(await logs[0]!.verify()).toEqual({ ok: true, count: 2 });
  });

  it('appends a batch in order in one chain, skipping the dedupe keys already taken (appendMany)', async () => {
    const log = new RedisAuditLog({ redis: client(), prefix });
    const other = new RedisAuditLog({ redis: client(), prefix });
    await other.append(input(2), { dedupeKey: 'k2' });
    await other.append(input(5), { dedupeKey: 'k5' });
    // The same key twice in one batch: the second one is a dup of the first.
    const keys = ['k0', 'k1', 'k2', 'k3', 'k3', 'k5', undefined, 'k7'];
    const results = await log.appendMany(
      keys.map((dedupeKey, i) =>
        dedupeKey === undefined ? { entry: input(i) } : { entry: input(i), dedupeKey },
      ),
    );
    expect(results.map((r) => r?.detail?.n)).toEqual([0, 1, undefined, 3, undefined, undefined, 6, 7]);
    expect(results.filter((r) => r !== undefined).map((r) => r?.seq)).toEqual([3, 4, 5, 6, 7]);
    expect(await log.verify()).toEqual({ ok: true, count: 7 });
    const stored = await collect(log.entries());
    expect(stored.map((e) => e.detail?.n)).toEqual([2, 5, 0, 1, 3, 6, 7]);
    expect(stored.slice(2)).toEqual(results.filter((r) => r !== undefined));
    expect(await collect(log.entries({ requestId: 'req-3' }))).toHaveLength(1);
  });

  it('filters entries by request id and by time, reading in pages', async () => {
    let now = Date.parse('2026-03-01T00:00:00Z');
    const log = new RedisAuditLog({ redis: client(), prefix, pageSize: 3, clock: () => new Date(now) });
    for (let i = 0; i < 10; i++) {
      await log.append(input(i, { requestId: i % 2 === 0 ? 'even' : 'odd' }));
      now += 60_000;
    }
    expect((await collect(log.entries({ requestId: 'odd' }))).map((e) => e.detail?.n)).toEqual([
      1, 3, 5, 7, 9,
    ]);
    const since = new Date('2026-03-01T00:05:00Z');
    expect((await collect(log.entries({ since }))).map((e) => e.seq)).toEqual([6, 7, 8, 9, 10]);
    expect((await collect(log.entries({ since, requestId: 'even' }))).map((e) => e.seq)).toEqual([7, 9]);
    expect(await collect(log.entries({ requestId: 'none' }))).toEqual([]);
    expect((await log.verify()).ok).toBe(true);
  });

  it('finds entries by time even when a writer clock runs behind the last entry', async () => {
    let now = Date.parse('2026-03-01T10:00:00Z');
    const log = new RedisAuditLog({ redis: client(), prefix, clock: () => new Date(now) });
    await log.append(input(1));
    now -= 3_600_000; // a second process with a slow clock
    await log.append(input(2));
    const since = new Date('2026-03-01T09:30:00Z');
    expect((await collect(log.entries({ since }))).map((e) => e.seq)).toEqual([1]);
    expect((await log.verify()).ok).toBe(true);
  });

  describe('tampering', () => {
    async function seeded(n: number) {
      const redis = client();
      const log = new RedisAuditLog({ redis, prefix, pageSize: 4 });
      for (let i = 1; i <= n; i++) await log.append(input(i));
      return { redis, log, key: `${prefix}:audit:stream` };
    }

    it('detects one changed byte and names the entry', async () => {
      const { redis, log, key } = await seeded(10);
      let id = '';
      await rewrite(redis, key, (rows) =>
        rows.map(([rid, f], i) => {
          if (i !== 5) return [rid, f];
          id = rid;
          const at = f.indexOf('detail') + 1;
          const g = [...f];
          g[at] = g[at]!.replace('entry 6', 'entry 7');
          return [rid, g];
        }),
      );
      const r = await log.verify();
      expect(r).toMatchObject({ ok: false, badSeq: 6, badId: id, count: 5 });
      expect(r.ok === false && r.reason).toMatch(/hash mismatch/);
    });

    it('detects a removed entry', async () => {
      const { redis, log, key } = await seeded(10);
      let id = '';
      await rewrite(redis, key, (rows) => {
        id = rows[4]![0];
        return rows.filter((_, i) => i !== 3);
      });
      const r = await log.verify();
      expect(r).toMatchObject({ ok: false, badSeq: 4, badId: id });
      expect(r.ok === false && r.reason).toMatch(/seq gap: expected 4, found 5/);
    });

    it('detects the last entry removed, by the chain head', async () => {
      const { redis, log, key } = await seeded(5);
      await rewrite(redis, key, (rows) => rows.slice(0, 4));
      const r = await log.verify();
      expect(r).toMatchObject({ ok: false, badSeq: 5 });
      expect(r.ok === false && r.reason).toMatch(/missing entries/);
    });

    it('detects two swapped entries', async () => {
      const { redis, log, key } = await seeded(10);
      let id = '';
      await rewrite(redis, key, (rows) => {
        const out = rows.map(([rid, f]) => [rid, f] as [string, string[]]);
        id = out[6]![0];
        // Keep the ids in place, swap the contents of entries 7 and 8.
        const f7 = out[6]![1];
        out[6]![1] = out[7]![1];
        out[7]![1] = f7;
        return out;
      });
      const r = await log.verify();
      expect(r).toMatchObject({ ok: false, badSeq: 7, badId: id });
      expect(r.ok === false && r.reason).toMatch(/out-of-order seq: expected 7, found 8/);
    });

    it('detects an edited entry whose hash was recomputed, at the next entry', async () => {
      const { redis, log, key } = await seeded(5);
      let id = '';
      await rewrite(redis, key, (rows) =>
        rows.map(([rid, f], i) => {
          if (i === 2) id = rid;
          if (i !== 1) return [rid, f];
          const g = [...f];
          const get = (k: string) => g[g.indexOf(k) + 1]!;
          g[g.indexOf('detail') + 1] = JSON.stringify({ n: 2, reason: 'forged' });
          g[g.indexOf('hash') + 1] = hashEntry({
            seq: Number(get('seq')),
            at: get('at'),
            prevHash: get('prevHash'),
            action: get('action') as AuditEntry['action'],
            actor: JSON.parse(get('actor')),
            requestId: get('requestId'),
            target: JSON.parse(get('target')),
            detail: JSON.parse(get('detail')),
          });
          return [rid, g];
        }),
      );
      const r = await log.verify();
      expect(r).toMatchObject({ ok: false, badSeq: 3, badId: id, count: 2 });
      expect(r.ok === false && r.reason).toMatch(/prevHash mismatch/);
    });
  });
});
