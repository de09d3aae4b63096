import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisAuditLog } from '../../../src/audit/index.ts';
import { CLI_TIMEOUT_MS, runRevoker } from '../../helpers/cli.ts';
import { connectRedis, deleteKeys, REDIS_URL, randomPrefix } from '../../helpers/redis.ts';

const revoker = (prefix: string, ...args: string[]) =>
  runRevoker(['audit', ...args], { REVOKER_PREFIX: prefix, REDIS_URL });

describe('revoker audit (CLI)', { timeout: 2 * CLI_TIMEOUT_MS }, () => {
  let redis: Redis;
  const prefixes: string[] = [];
  let dir: string;

  async function seeded(n: number): Promise<string> {
    const prefix = randomPrefix('audit-cli');
    prefixes.push(prefix);
    const log = new RedisAuditLog({ redis, prefix });
    for (let i = 1; i <= n; i++) {
      await log.append({ action: 'request.created', actor: { source: 'cli', id: 'ops' }, detail: { i } });
    }
    return prefix;
  }

  beforeAll(async () => {
    redis = connectRedis();
    dir = await mkdtemp(join(tmpdir(), 'revoker-audit-'));
  });
  afterAll(async () => {
    for (const p of prefixes) await deleteKeys(redis, p);
    await redis.quit();
    await rm(dir, { recursive: true, force: true });
  });

  it('verify exits 0 on an intact chain', async () => {
    const prefix = await seeded(3);
    const r = await revoker(prefix, 'verify');
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toContain('ok: 3 entries, chain intact');
  });

  it('verify exits 1 naming the first bad entry', async () => {
    const prefix = await seeded(4);
    const key = `${prefix}:audit:stream`;
    const rows = (await redis.xrange(key, '-', '+')) as [string, string[]][];
    const [id, fields] = rows[1]!;
    fields[fields.indexOf('detail') + 1] = '{"i":99}';
    await redis.del(key);
    for (const [rid, f] of rows) await redis.xadd(key, rid, ...f);
    const r = await revoker(prefix, 'verify');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`seq 2 (stream id ${id}): hash mismatch`);
  });

  it('export writes CSV to a file and JSON Lines to stdout', async () => {
    const prefix = await seeded(2);
    const out = join(dir, 'audit.csv');
    const csv = await revoker(prefix, 'export', '--format', 'csv', '--out', out);
    expect(csv.code).toBe(0);
    const text = await readFile(out, 'utf8');
    expect(text.split('\r\n').filter(Boolean)).toHaveLength(3);
    const jsonl = await revoker(prefix, 'export', '--since', '2000-01-01');
    expect(jsonl.code).toBe(0);
    expect(
      jsonl.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).seq),
    ).toEqual([1, 2]);
  });

  it('export rejects a bad --since with a clear message', async () => {
    const r = await revoker(randomPrefix('audit-cli'), 'export', '--since', 'yesterday-ish');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--since: not a date');
  });
});
