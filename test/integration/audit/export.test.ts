import { PassThrough } from 'node:stream';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CSV_COLUMNS, exportAudit, RedisAuditLog } from '../../../src/audit/index.ts';
import { connectRedis, deleteKeys, randomPrefix } from '../../helpers/redis.ts';

async function run(log: RedisAuditLog, options: Parameters<typeof exportAudit>[1]) {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const count = await exportAudit(log, options, out);
  out.end();
  return { count, text: Buffer.concat(chunks).toString('utf8') };
}

/** A small RFC 4180 reader, to prove the output parses back to the same cells. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  return rows;
}

describe('exportAudit', () => {
  let redis: Redis;
  let prefix: string;
  let log: RedisAuditLog;
  const reason = 'left, "abruptly"\nsecond line';

  beforeEach(async () => {
    redis = connectRedis();
    prefix = randomPrefix('audit-export');
    let now = Date.parse('2026-05-01T12:00:00Z');
    log = new RedisAuditLog({ redis, prefix, clock: () => new Date(now) });
    await log.append({
      action: 'request.created',
      actor: { source: 'slack', id: 'U1', name: 'Ann, "the admin"\nOps' },
      requestId: 'r1',
      target: { kind: 'token', userId: 'u1', tokenId: 't1' },
      detail: { reason },
    });
    now += 3_600_000;
    await log.append({ action: 'token.revoked', actor: { source: 'system', id: 'worker' }, requestId: 'r1' });
  });
  afterEach(async () => {
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  it('writes JSON Lines, one entry per line', async () => {
    const { count, text } = await run(log, { format: 'jsonl' });
    expect(count).toBe(2);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0]!);
    expect(first).toMatchObject({ seq: 1, action: 'request.created', detail: { reason } });
    expect(Object.keys(first)).toEqual(expect.arrayContaining(['id', 'at', 'prevHash', 'hash']));
  });

  it('writes RFC 4180 CSV that round-trips commas, quotes and newlines', async () => {
    const { text } = await run(log, { format: 'csv' });
    const rows = parseCsv(text);
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    expect(rows).toHaveLength(3);
    const cell = (r: number, col: (typeof CSV_COLUMNS)[number]) => rows[r]![CSV_COLUMNS.indexOf(col)];
    expect(cell(1, 'actor_name')).toBe('Ann, "the admin"\nOps');
    expect(JSON.parse(cell(1, 'detail')!)).toEqual({ reason });
    expect(JSON.parse(cell(1, 'target')!)).toEqual({ kind: 'token', userId: 'u1', tokenId: 't1' });
    expect(cell(2, 'target')).toBe('');
    expect(text).toContain('"{""reason"":""left, \\""abruptly\\""\\nsecond line""}"');
  });

  it('exports only entries since a date', async () => {
    const { count, text } = await run(log, { format: 'jsonl', since: new Date('2026-05-01T12:30:00Z') });
    expect(count).toBe(1);
    expect(JSON.parse(text)).toMatchObject({ seq: 2, action: 'token.revoked' });
  });
});
