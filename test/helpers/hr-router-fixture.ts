import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Redis } from 'ioredis';
import { createHrEventQueue, type HrEventQueue } from '../../src/hr/hr-event-queue.ts';
import { createHrRouter, type HrRouterDeps } from '../../src/hr/hr-router.ts';
import { MemoryAuditLog } from './memory-audit.ts';
import { connectRedis, deleteKeys, randomPrefix } from './redis.ts';

/** The real HR router over real HTTP, its `hr-events` queue on the real Redis under a random prefix. */
export interface HrRouterFixture {
  redis: Redis;
  prefix: string;
  queue: HrEventQueue;
  audit: MemoryAuditLog;
  /** `http://127.0.0.1:<port>`; the router is mounted at `/webhooks/hr`. */
  base: string;
  /** Stops the server, closes the queue and deletes every key under the prefix. */
  close(): Promise<void>;
}

export async function startHrRouter(
  deps: Omit<HrRouterDeps, 'queue' | 'audit'>,
  options: { prefixLabel?: string; routes?: (app: express.Express) => void } = {},
): Promise<HrRouterFixture> {
  const redis = connectRedis();
  const prefix = randomPrefix(options.prefixLabel ?? 'hr');
  const queue = createHrEventQueue({ connection: redis, prefix });
  const audit = new MemoryAuditLog();
  const app = express();
  app.use('/webhooks/hr', createHrRouter({ ...deps, queue, audit }));
  options.routes?.(app);
  const server: http.Server = app.listen(0);
  await new Promise<void>((resolve) => server.once('listening', resolve));
  return {
    redis,
    prefix,
    queue,
    audit,
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await queue.close();
      await deleteKeys(redis, prefix);
      redis.disconnect();
    },
  };
}
