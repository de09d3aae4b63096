import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { TERMINAL_STATES } from '../../../src/domain/request.ts';
import { RequestRetention } from '../../../src/intake/request-retention.ts';
import { silentLogger } from '../../../src/log.ts';
import { MemoryIdp } from '../../helpers/memory-idp.ts';
import { createPipeline, type Pipeline } from '../../helpers/pipeline.ts';
import { until } from '../../helpers/wait.ts';

/**
 * Issue 21 item 11: every request's record, scope, revoked and done sets and one audit dedupe key per
 * revoked token used to stay in Redis forever. After retention, what request data leaves in Redis must
 * not grow with the number of finished requests.
 */
const pipes: Pipeline[] = [];
let dir: string | undefined;
afterEach(async () => {
  await Promise.all(pipes.splice(0).map((p) => p.close()));
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Bytes Redis uses for the request store's and the audit log's keys under `prefix`. */
async function memoryOf(redis: Redis, prefix: string): Promise<{ bytes: number; keys: number }> {
  let bytes = 0;
  let keys = 0;
  for (const pattern of [`${prefix}:req:*`, `${prefix}:audit:*`]) {
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      for (const key of found) {
        bytes += Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
        keys++;
      }
    } while (cursor !== '0');
  }
  return { bytes, keys };
}

/** `n` user offboardings (one token each) through the real intake and workers, all verified. */
async function finished(
  n: number,
  archiveDir: string,
): Promise<{ pipe: Pipeline; retention: RequestRetention }> {
  const idp = new MemoryIdp();
  for (let i = 0; i < n; i++) {
    idp.addUser(`u${i}`);
    idp.addToken(`u${i}`, 'team-wiki');
  }
  const pipe = await createPipeline({ idp, auditOptions: { dedupeTtlSeconds: 1 } });
  pipes.push(pipe);
  await pipe.startWorkers({ concurrency: 50 });
  const ids: string[] = [];
  for (let i = 0; i < n; i += 250) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(250, n - i) }, (_, j) =>
        pipe.intake.submit({
          target: { kind: 'user', userId: `u${i + j}` },
          reason: 'leaver',
          requestedBy: { source: 'cli', id: 'ops' },
          source: 'cli',
        }),
      ),
    );
    ids.push(...batch.map((b) => b.request.id));
  }
  await until(
    `${n} requests finished`,
    async () => {
      let open = 0;
      for (const s of ['queued', 'running'] as const)
        open += await pipe.redis.scard(`${pipe.prefix}:req:state:${s}`);
      return open === 0 ? true : undefined;
    },
    600_000,
    200,
  );
  expect(await pipe.redis.scard(`${pipe.prefix}:req:state:verified`)).toBe(n);
  expect(idp.tokens.size).toBe(0);
  const retention = new RequestRetention({
    redis: pipe.redis,
    prefix: pipe.prefix,
    days: 0,
    dir: archiveDir,
    logger: silentLogger,
    endedGraceMs: 0,
    clock: () => new Date(Date.now() + 1000),
  });
  return { pipe, retention };
}

async function afterRetention(pipe: Pipeline, retention: RequestRetention, archiveDir: string) {
  const swept = await retention.sweep();
  await pipe.audit.archive({ before: new Date(Date.now() + 1000), dir: join(archiveDir, 'audit') });
  // Dedupe keys live 1 s here (14 days by default): wait for Redis to expire them.
  await until(
    'audit dedupe keys expired',
    async () => ((await pipe.redis.keys(`${pipe.prefix}:audit:dedupe:*`)).length === 0 ? true : undefined),
    30_000,
    100,
  );
  return { swept, memory: await memoryOf(pipe.redis, pipe.prefix) };
}

describe('request retention (issue 21 item 11)', () => {
  it('Redis memory after retention for 10,000 finished requests is within 10 % of that for 1,000', async () => {
    dir = await mkdtemp(join(tmpdir(), 'revoker-retention-'));
    const small = await finished(1000, join(dir, 'small'));
    const a = await afterRetention(small.pipe, small.retention, join(dir, 'small'));
    expect(a.swept).toEqual({ cleared: 1000, retired: 1000 });
    // Every record retired was archived first, with its audit entries' ids.
    const files = (await readdir(join(dir, 'small'))).filter((f) => f.startsWith('requests-'));
    const lines = (await Promise.all(files.map((f) => readFile(join(dir!, 'small', f), 'utf8'))))
      .join('')
      .trim()
      .split('\n');
    expect(lines).toHaveLength(1000);
    expect(JSON.parse(lines[0]!).auditIds.length).toBeGreaterThan(0);
    for (const state of TERMINAL_STATES)
      expect(await small.pipe.redis.scard(`${small.pipe.prefix}:req:state:${state}`)).toBe(0);
    await Promise.all(pipes.splice(0).map((p) => p.close()));

    const large = await finished(10_000, join(dir, 'large'));
    const b = await afterRetention(large.pipe, large.retention, join(dir, 'large'));
    expect(b.swept).toEqual({ cleared: 10_000, retired: 10_000 });
    expect(b.memory.bytes).toBeLessThanOrEqual(a.memory.bytes * 1.1);
  }, 900_000);
});
