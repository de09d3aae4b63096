import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IdpBudget } from '../../../src/identity/idp-budget.ts';
import { connectRedis, deleteKeys, randomPrefix } from '../../helpers/redis.ts';

/** The shared IdP budget on the real Redis; two instances on one prefix stand for two processes. */
let redis: Redis;
let prefix: string;

beforeEach(() => {
  redis = connectRedis();
  prefix = randomPrefix('budget');
});

afterEach(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

const budget = (ratePerSecond: number, extra: Partial<ConstructorParameters<typeof IdpBudget>[0]> = {}) =>
  new IdpBudget({ redis, prefix, ratePerSecond, ...extra });

async function timed(work: Promise<unknown>): Promise<number> {
  const started = Date.now();
  await work;
  return Date.now() - started;
}

describe('IdpBudget', () => {
  it('admits calls at its rate across two processes, after a burst of at most a tenth of a second', async () => {
    const a = budget(50);
    const b = budget(50);
    const ms = await timed(Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).acquire())));
    // 30 calls at 50/s: the first ~5 at once (100 ms of tolerance), the rest 20 ms apart.
    expect(ms).toBeGreaterThanOrEqual(400);
    expect(ms).toBeLessThan(1500);
  });

  it('a pause set by one process holds every process for exactly that long', async () => {
    const a = budget(1000);
    const b = budget(1000);
    await a.pause(700);
    const waits = await Promise.all([timed(a.acquire()), timed(b.acquire('interactive'))]);
    for (const w of waits) expect(w).toBeGreaterThanOrEqual(690);
    for (const w of waits) expect(w).toBeLessThan(1500);
    // A shorter pause never shortens a longer one.
    await a.pause(600);
    await b.pause(100);
    expect(await timed(b.acquire())).toBeGreaterThanOrEqual(590);
  });

  it('slows down when the IdP reports little quota left, and stops at none until the reset', async () => {
    const a = budget(1000);
    expect(a.shouldSlow(900, 1000, 1000)).toBe(false);
    expect(a.shouldSlow(5, 1000, 1000)).toBe(true);
    // 4 calls left over 800 ms: one every 200 ms instead of one per ms.
    await a.observe(4, 800, 1000);
    expect(await timed(Promise.all(Array.from({ length: 3 }, () => a.acquire())))).toBeGreaterThanOrEqual(
      150,
    );
    await a.observe(0, 500, 1000);
    expect(await timed(a.acquire())).toBeGreaterThanOrEqual(490);
  });

  it('keeps a share for interactive calls while a batch saturates the budget', async () => {
    const worker = budget(20, { interactiveShare: 0.5 });
    const web = budget(20, { interactiveShare: 0.5 });
    // A long batch: 60 calls at 20/s is 3 s of work.
    const batch = Promise.all(Array.from({ length: 60 }, () => worker.acquire('batch')));
    await new Promise((r) => setTimeout(r, 300));
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) waits.push(await timed(web.acquire('interactive')));
    // With the batch ahead of it in line, a FIFO would make each wait up to 3 s.
    for (const w of waits) expect(w).toBeLessThan(400);
    await batch;
  });
});
