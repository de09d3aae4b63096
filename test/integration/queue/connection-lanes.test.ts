import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionRegistry } from '../../../src/connections/connection-registry.ts';
import { BudgetedIdentityProvider } from '../../../src/identity/budgeted-identity-provider.ts';
import { IdpBudget } from '../../../src/identity/idp-budget.ts';
import { BudgetedMemoryIdp } from '../../helpers/budgeted-memory-idp.ts';
import { createPipeline, type Pipeline } from '../../helpers/pipeline.ts';
import { connectRedis, deleteKeys, randomPrefix } from '../../helpers/redis.ts';

const SLOW_RATE = 20;
const FAST_RATE = 200;
const SLOW_REQUESTS = 12;
const FAST_REQUESTS = 10;

let pipe: Pipeline | undefined;
let budgets: { redis: Redis; prefix: string } | undefined;
afterEach(async () => {
  await pipe?.close();
  pipe = undefined;
  if (budgets) {
    await deleteKeys(budgets.redis, budgets.prefix);
    budgets.redis.disconnect();
    budgets = undefined;
  }
});

function withUsers(prefix: string, n: number): BudgetedMemoryIdp {
  const idp = new BudgetedMemoryIdp();
  for (let i = 0; i < n; i++) {
    idp.addUser(`${prefix}${i}`);
    idp.addToken(`${prefix}${i}`, 'expense-portal');
  }
  return idp;
}

describe('each connection works its own jobs (issue 22)', () => {
  it("a connection whose budget is paused (a 429 named a long wait) holds up none of another connection's requests", async () => {
    const fast = withUsers('fast_', FAST_REQUESTS);
    const slow = withUsers('slow_', SLOW_REQUESTS);
    const redis = connectRedis();
    const prefix = randomPrefix('lanes');
    budgets = { redis, prefix };
    const budget = (rate: number, keySuffix: string) =>
      new IdpBudget({ redis, prefix, keySuffix, ratePerSecond: rate });
    const fastBudget = budget(FAST_RATE, '');
    const slowBudget = budget(SLOW_RATE, '.slow');
    const connections = new ConnectionRegistry([
      {
        id: 'fast',
        kind: 'memory',
        suffix: '',
        idp: new BudgetedIdentityProvider(fast, fastBudget),
        budget: fastBudget,
      },
      {
        id: 'slow',
        kind: 'memory',
        suffix: '.slow',
        idp: new BudgetedIdentityProvider(slow, slowBudget),
        budget: slowBudget,
      },
    ]);
    pipe = await createPipeline({ idp: connections.primary.idp, connections });
    // Fewer lifecycle slots (5) than the slow connection has plans waiting for its permits.
    await pipe.startWorkers({ concurrency: 2 });
    const submit = (userId: string, connection: string) =>
      pipe!.intake
        .submit({
          target: { kind: 'user', userId },
          reason: 'terminated',
          requestedBy: { source: 'hr', id: 'standard' },
          source: 'hr',
          connection,
        })
        .then((r) => r.request.id);

    await slowBudget.pause(60_000);
    const slowIds = await Promise.all(
      Array.from({ length: SLOW_REQUESTS }, (_, i) => submit(`slow_${i}`, 'slow')),
    );
    const fastIds = await Promise.all(
      Array.from({ length: FAST_REQUESTS }, (_, i) => submit(`fast_${i}`, 'fast')),
    );
    // Every fast request ends long before the pause would (before each connection had its own lifecycle
    // queue, they waited behind the slow plans, every slot held by one waiting out the pause).
    for (const id of fastIds) expect((await pipe.intake.waitForOutcome(id, 15_000)).state).toBe('verified');
    expect(slow.calls).toEqual([]);
    // The pause lifted, the slow connection catches up; nothing of one connection ran in the other.
    await slowBudget.reset();
    for (const id of slowIds) expect((await pipe.intake.waitForOutcome(id, 20_000)).state).toBe('verified');
    expect(new Set(fast.calls.map((c) => c.userId.split('_')[0]))).toEqual(new Set(['fast']));
    expect(new Set(slow.calls.map((c) => c.userId.split('_')[0]))).toEqual(new Set(['slow']));
  });
});
