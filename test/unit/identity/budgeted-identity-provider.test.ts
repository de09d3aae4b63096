import { afterAll, describe, expect, it } from 'vitest';
import type { Target } from '../../../src/domain/target.ts';
import { BudgetedIdentityProvider } from '../../../src/identity/budgeted-identity-provider.ts';
import { IdpBudget } from '../../../src/identity/idp-budget.ts';
import type {
  TokenValueInfo,
  TokenValueRevocation,
  VerifyContext,
  VerifyResult,
} from '../../../src/identity/port.ts';
import { MemoryIdp } from '../../helpers/memory-idp.ts';
import { connectRedis, deleteKeys, randomPrefix } from '../../helpers/redis.ts';

const redis = connectRedis();
const prefix = randomPrefix('budgeted');
afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

/** What an adapter with more than the basics offers: revocation by value, a verification cut-off. */
class FullIdp extends MemoryIdp {
  seen: VerifyContext | undefined;
  readonly values: string[] = [];
  readonly tokenValues: TokenValueRevocation = {
    inspect: async (value) => {
      this.values.push(`inspect:${value.length}`);
      return { tokenId: 'tok_1', active: true } satisfies TokenValueInfo;
    },
    revoke: async () => ({ verified: true }),
    ping: async () => {},
  };
  override async verify(target: Target, context?: VerifyContext): Promise<VerifyResult> {
    this.seen = context;
    return super.verify(target);
  }
}

describe('BudgetedIdentityProvider', () => {
  const budget = new IdpBudget({ redis, prefix, ratePerSecond: 50, interactiveShare: 0.2 });

  it('offers what the adapter offers: revocation by value (through the budget) and the verify cut-off', async () => {
    const inner = new FullIdp();
    const idp = new BudgetedIdentityProvider(inner, budget);
    expect(idp.tokenValues).toBeDefined();
    await idp.tokenValues!.inspect('x'.repeat(12));
    expect(inner.values).toEqual(['inspect:12']);
    const since = new Date('2026-11-30T00:00:00Z');
    await idp.verify({ kind: 'user', userId: 'u1' }, { since });
    expect(inner.seen).toEqual({ since });
  });

  it('offers no revocation by value where the adapter has none, and reads capabilities live', () => {
    const inner = new MemoryIdp();
    const idp = new BudgetedIdentityProvider(inner, budget);
    expect(idp.tokenValues).toBeUndefined();
    // A start-up probe that narrows the adapter's capabilities is seen through the wrapper.
    (inner as { capabilities: MemoryIdp['capabilities'] }).capabilities = {
      ...inner.capabilities,
      scopes: { token: false, user: false, application: false, resourceServer: false },
    };
    expect(idp.capabilities.scopes.user).toBe(false);
  });
});
