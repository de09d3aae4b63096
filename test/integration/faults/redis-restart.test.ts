import { afterEach, describe, expect, it } from 'vitest';
import { type Idaas, startIdaas } from '../../../src/idaas/index.ts';
import { IdaasIdentityProvider } from '../../../src/identity/adapters/idaas.ts';
import { createPipeline, type Pipeline } from '../../helpers/pipeline.ts';
import { RedisServer } from '../../helpers/redis-server.ts';
import { spawnWorker, type WorkerProcess } from '../../helpers/worker-process.ts';
import {
  deadLetterCount,
  expectBatchDone,
  IN_SCOPE_APP,
  leavers,
  listTokenIds,
  revokedInBatch,
  submitUsers,
  until,
} from './fixtures.ts';

/**
 * Redis itself restarted mid-batch (DESIGN §8): a test-owned redis-server with AOF (`appendfsync always`)
 * is shut down and started again on the same port and dir while a worker process revokes a batch.
 * Nothing reconnects by hand: ioredis and BullMQ in the worker process and in this process must resume.
 */
let server: RedisServer | undefined;
let idaas: Idaas | undefined;
let pipe: Pipeline | undefined;
let child: WorkerProcess | undefined;

afterEach(async () => {
  await child?.stop();
  await pipe?.close().catch(() => undefined);
  await idaas?.close();
  await server?.stop();
  child = undefined;
  pipe = undefined;
  idaas = undefined;
  server = undefined;
});

describe('faults: Redis restarted mid-batch', () => {
  it('a batch of 300 offboardings completes after two restarts, each token audited exactly once', {
    timeout: 120_000,
  }, async () => {
    server = await RedisServer.start();
    idaas = await startIdaas({ port: 0, store: 'memory' });
    pipe = await createPipeline({
      idp: new IdaasIdentityProvider({ baseUrl: idaas.url, adminToken: idaas.adminToken }),
      redisUrl: server.url,
    });
    // While Redis is down the connection reports errors; it reconnects by itself.
    pipe.redis.on('error', () => undefined);
    const batch = await leavers(idaas, 300);
    child = spawnWorker({
      env: {
        REDIS_URL: server.url,
        REVOKER_PREFIX: pipe.prefix,
        IDAAS_URL: idaas.url,
        IDAAS_ADMIN_TOKEN: idaas.adminToken,
        WORKER_CONCURRENCY: '4',
        // Slow enough (300 offboardings ≈ 900 calls ≈ 18 s) that both restarts land mid-batch even on a loaded
        // machine: at 100/s a CI run on a busy machine once finished the last 250 tokens before the second
        // restart was over, and the restart proved nothing.
        IDP_RATE_LIMIT: '50',
        // A job moved to active just before a shutdown may never be seen by the worker (the reply is lost):
        // it waits for its lock to lapse and the stalled-job check. Defaults make that up to 90 s; keep it short.
        WORKER_LOCK_MS: '2000',
        WORKER_STALLED_INTERVAL_MS: '1000',
      },
    });
    await child.waitUntilReady(pipe.queues.idpCalls, 45_000);

    const started = Date.now();
    const requests = await submitUsers(pipe, batch);
    const p = pipe;
    const revokedAtLeast = (min: number) =>
      until(
        `${min} revoked`,
        async () => {
          const n = await revokedInBatch(p, requests);
          return n >= min ? n : undefined;
        },
        30_000,
        5,
      );
    // Twice mid-batch, each time with IdP calls in flight.
    const restarts: string[] = [];
    for (const min of [120, 280]) {
      const before = await revokedAtLeast(min);
      const at = Date.now();
      await server.restart();
      // The AOF kept everything written before the shutdown.
      const after = await revokedInBatch(pipe, requests);
      expect(after).toBeGreaterThanOrEqual(before);
      // The restart landed mid-batch: otherwise this test proves nothing.
      expect(after, `restart at ${before}/600 was not mid-batch`).toBeLessThan(600);
      restarts.push(`at ${before}/600 revoked (down ${Date.now() - at} ms)`);
    }
    const lastRestart = Date.now();

    await expectBatchDone(pipe, requests, batch, 90_000);
    const ms = Date.now() - started;
    expect(child.running, child.stderr).toBe(true);
    console.info(
      `[faults] Redis restarted ${restarts.join(', then ')}; verified after ${ms} ms, ` +
        `${Date.now() - lastRestart} ms after the last restart`,
    );
    expect(await listTokenIds(idaas, `/applications/${IN_SCOPE_APP}/tokens`)).toEqual([]);
    expect(await deadLetterCount(pipe)).toBe(0);
  });
});
