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
const SLOW_REQUESTS = 24;
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
  it("a slow connection's backlog does not hold up a fast connection's requests", async () => {
    const fast = withUsers('fast_', FAST_REQUESTS);
    const slow = withUsers('slow_', SLOW_REQUESTS);
    const redis = connectRedis();
    const prefix = randomPrefix('lanes');
    budgets = { redis, prefix };
    const budgeted = (idp: BudgetedMemoryIdp, rate: number, keySuffix: string) => {
      const budget = new IdpBudget({ redis, prefix, keySuffix, ratePerSecond: rate });
      return { idp: new BudgetedIdentityProvider(idp, budget), budget };
    };
    const connections = new ConnectionRegistry([
      { id: 'fast', kind: 'memory', suffix: '', ...budgeted(fast, FAST_RATE, '') },
      { id: 'slow', kind: 'memory', suffix: '.slow', ...budgeted(slow, SLOW_RATE, '.slow') },
    ]);
    pipe = await createPipeline({ idp: connections.primary.idp, connections });
    // Few slots: the slow connection's jobs, each waiting for its permits, would fill them.
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

    const slowIds = await Promise.all(
      Array.from({ length: SLOW_REQUESTS }, (_, i) => submit(`slow_${i}`, 'slow')),
    );
    const slowCallsBefore = slow.calls.length;
    const fastIds = await Promise.all(
      Array.from({ length: FAST_REQUESTS }, (_, i) => submit(`fast_${i}`, 'fast')),
    );
    for (const id of fastIds) expect((await pipe.intake.waitForOutcome(id, 20_000)).state).toBe('verified');
    // While the fast connection's requests ran start to end, the slow one made a handful of its calls: the
    // fast ones never waited behind its plans and verifications.
    // (Before each connection had its own lifecycle queue, the fast ones waited behind the slow plans and
    // verifications: 44 of its calls went first.)
    const slowCallsMeanwhile = slow.calls.length - slowCallsBefore;
    expect(slowCallsMeanwhile).toBeLessThanOrEqual(12);
    for (const id of slowIds) expect((await pipe.intake.waitForOutcome(id, 20_000)).state).toBe('verified');
    // And each connection's calls stayed its own: nothing of one ran in the other.
    expect(new Set(fast.calls.map((c) => c.userId.split('_')[0]))).toEqual(new Set(['fast']));
    expect(new Set(slow.calls.map((c) => c.userId.split('_')[0]))).toEqual(new Set(['slow']));
  });
});
