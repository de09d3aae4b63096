import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { anchorPaths, startAuditAnchoring } from '../../../src/audit/audit-anchor.ts';
import { AuditKeys } from '../../../src/audit/audit-keys.ts';
import { GENESIS_HASH, hashEntry, RedisAuditLog } from '../../../src/audit/index.ts';
import type { AuditEntry } from '../../../src/audit/types.ts';
import { silentLogger } from '../../../src/log.ts';
import { connectRedis, deleteKeys, randomPrefix } from '../../helpers/redis.ts';

/**
 * Issue 21 item 8: an attacker with Redis write access (but neither AUDIT_HMAC_KEY nor the anchor files)
 * deletes the last entries and moves the head back, or recomputes the whole chain after changing who
 * approved. Both passed `audit verify` with an unkeyed chain whose head lives in the same Redis.
 */
const KEY = 'k1:0123456789abcdef0123456789abcdef-secret';
let redis: Redis;
let prefix: string;
let dir: string;

beforeEach(async () => {
  redis = connectRedis();
  prefix = randomPrefix('keyed');
  dir = await mkdtemp(join(tmpdir(), 'revoker-anchors-'));
});
afterEach(async () => {
  await deleteKeys(redis, prefix);
  await redis.quit();
  await rm(dir, { recursive: true, force: true });
});

const approval = (who: string) => ({
  action: 'request.approved' as const,
  actor: { source: 'slack', id: who },
  requestId: 'req_1',
});

async function populate(log: RedisAuditLog, n: number): Promise<void> {
  for (let i = 0; i < n; i++)
    await log.append(
      i === 3
        ? approval('UAPPROVER1')
        : { action: 'token.revoked', actor: { source: 'system', id: 'w' }, detail: { i } },
    );
}

/** Recomputes the whole chain (no key) after `edit`, and moves the head: what Redis access alone allows. */
async function recompute(edit: (e: AuditEntry) => AuditEntry): Promise<void> {
  const stream = `${prefix}:audit:stream`;
  const rows = (await redis.xrange(stream, '-', '+')) as [string, string[]][];
  await redis.del(stream);
  let prev = GENESIS_HASH;
  let last = { seq: 0, hash: GENESIS_HASH, id: '' };
  for (const [id, flat] of rows) {
    const f: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
    const e = edit({
      id,
      seq: Number(f.seq),
      at: f.at!,
      prevHash: prev,
      hash: '',
      action: f.action as AuditEntry['action'],
      actor: JSON.parse(f.actor!),
      ...(f.requestId ? { requestId: f.requestId } : {}),
      ...(f.detail ? { detail: JSON.parse(f.detail) } : {}),
    });
    const hash = hashEntry(e);
    const fields = ['seq', String(e.seq), 'at', e.at, 'prevHash', prev, 'hash', hash, 'action', e.action];
    fields.push('actor', JSON.stringify(e.actor));
    if (e.requestId) fields.push('requestId', e.requestId);
    if (e.detail) fields.push('detail', JSON.stringify(e.detail));
    await redis.xadd(stream, id, ...fields);
    prev = hash;
    last = { seq: e.seq, hash, id };
  }
  await redis.hset(`${prefix}:audit:head`, 'seq', String(last.seq), 'hash', last.hash, 'id', last.id);
}

describe('keyed audit chain and anchors', () => {
  it('signs every entry with the key id; a recomputed chain (changed approver) fails verify', async () => {
    const keys = AuditKeys.parse(KEY);
    const log = new RedisAuditLog({ redis, prefix, keys });
    await populate(log, 8);
    const entries: AuditEntry[] = [];
    for await (const e of log.entries()) entries.push(e);
    expect(entries.every((e) => e.kid === 'k1' && /^[0-9a-f]{64}$/.test(e.mac ?? ''))).toBe(true);
    expect(await log.verify()).toEqual({ ok: true, count: 8 });

    // Rewritten: another approver, the chain recomputed and the MACs dropped (no key to recompute them).
    await recompute((e) => (e.seq === 4 ? { ...e, actor: { source: 'slack', id: 'UMALLORY' } } : e));
    const res = await new RedisAuditLog({ redis, prefix, keys }).verify();
    expect(res.ok).toBe(false);
    expect(!res.ok && res.reason).toMatch(/unsigned entry|HMAC mismatch/);
  });

  it('an anchor outside Redis catches the last 5 entries deleted with the head moved back, and a rewrite before it', async () => {
    const log = new RedisAuditLog({ redis, prefix });
    const paths = anchorPaths(dir, prefix);
    await populate(log, 10);
    const anchoring = startAuditAnchoring({
      head: () => log.head(),
      paths,
      logger: silentLogger,
      intervalMs: 3_600_000,
    });
    anchoring.stop();
    await anchoring.runOnce().catch(() => false);
    expect(await log.verify({ anchors: paths })).toEqual({ ok: true, count: 10 });

    // Delete the last 5 and move audit:head to entry 5.
    const rows = (await redis.xrange(`${prefix}:audit:stream`, '-', '+')) as [string, string[]][];
    for (const [id] of rows.slice(5)) await redis.xdel(`${prefix}:audit:stream`, id);
    const fifth = await redis.xrange(`${prefix}:audit:stream`, rows[4]![0], rows[4]![0]);
    const f = fifth[0]![1];
    await redis.hset(
      `${prefix}:audit:head`,
      'seq',
      '5',
      'hash',
      f[f.indexOf('hash') + 1]!,
      'id',
      rows[4]![0],
    );
    expect(await log.verify()).toEqual({ ok: true, count: 5 }); // what Redis alone can tell
    const cut = await log.verify({ anchors: paths });
    expect(cut.ok).toBe(false);
    expect(!cut.ok && cut.reason).toMatch(/deletion at the tail/);

    // Recomputing the chain after changing entry 4 (unkeyed log) also shows against the anchor.
    await recompute((e) => (e.seq === 4 ? { ...e, actor: { source: 'slack', id: 'UMALLORY' } } : e));
    const rewritten = await log.verify({ anchors: paths });
    expect(rewritten.ok).toBe(false);
  });

  it('rotation: entries signed by the old key still verify while it is listed after the new one', async () => {
    const old = AuditKeys.parse(KEY);
    await populate(new RedisAuditLog({ redis, prefix, keys: old }), 3);
    const rotated = AuditKeys.parse(`k2:fedcba9876543210fedcba9876543210-newer,${KEY}`);
    const log = new RedisAuditLog({ redis, prefix, keys: rotated });
    const e = await log.append(approval('UAPPROVER2'));
    expect(e?.kid).toBe('k2');
    expect(await log.verify()).toEqual({ ok: true, count: 4 });
    const onlyNew = await new RedisAuditLog({
      redis,
      prefix,
      keys: AuditKeys.parse('k2:fedcba9876543210fedcba9876543210-newer'),
    }).verify();
    expect(!onlyNew.ok && onlyNew.reason).toMatch(/key id k1/);
  });
});
