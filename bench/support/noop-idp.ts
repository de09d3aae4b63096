import type { Target } from '../../src/domain/target.ts';
import { IdpNotFoundError } from '../../src/identity/errors.ts';
import type {
  IdpUser,
  RevocationPlan,
  RevokeResult,
  TokenInfo,
  VerifyResult,
} from '../../src/identity/port.ts';
import { MemoryIdp } from '../../test/helpers/memory-idp.ts';

/**
 * A zero-latency IdP that keeps nothing: user `u_<n>` has `tokensPerUser` tokens `tok_<n>_<i>`, every
 * revoke succeeds, every verify finds nothing left. For the worker-memory bench, so the worker's RSS is
 * the worker's, not a token table's.
 */
export class NoopIdp extends MemoryIdp {
  override readonly name = 'noop';

  constructor(private readonly tokensPerUser: number) {
    super();
  }

  /** Every user exists: nothing is stored. */
  override async getUser(userId: string): Promise<IdpUser> {
    return { id: userId, userName: userId, active: true };
  }
  override async listUserTokens(): Promise<TokenInfo[]> {
    return [];
  }
  override async plan(target: Target): Promise<RevocationPlan> {
    if (target.kind !== 'user') throw new IdpNotFoundError('the noop IdP plans users only', { status: 404 });
    const n = target.userId.replace(/^u_/, '');
    const tokens = Array.from({ length: this.tokensPerUser }, (_, i) => ({
      id: `tok_${n}_${i}`,
      userId: target.userId,
    }));
    return {
      target,
      steps: tokens.map((t) => ({ kind: 'token', userId: t.userId, tokenId: t.id })),
      tokens,
      userCount: 1,
      tokenCount: tokens.length,
    };
  }
  override async revoke(step: Target): Promise<RevokeResult> {
    this.revokeCalls++;
    return { revoked: step.kind === 'token' ? [{ id: step.tokenId, userId: step.userId }] : [] };
  }
  override async verify(): Promise<VerifyResult> {
    return { ok: true, remaining: [], method: 'list' };
  }
}
