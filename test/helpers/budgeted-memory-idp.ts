import type { Target } from '../../src/domain/target.ts';
import { budgetPermit } from '../../src/identity/adapters/budget-permit.ts';
import type { IdpLane } from '../../src/identity/idp-budget.ts';
import { currentIdpCall } from '../../src/identity/idp-call-context.ts';
import type { IdpUser, RevocationPlan, RevokeResult, VerifyResult } from '../../src/identity/port.ts';
import { MemoryIdp } from './memory-idp.ts';

export interface IdpCall {
  operation: string;
  userId: string;
  lane: IdpLane | undefined;
  at: number;
}

/**
 * The in-memory IdP behind the real budget, as an HTTP adapter is: every call takes a permit first (on the
 * lane it runs in), and is recorded in the order the IdP saw them.
 */
export class BudgetedMemoryIdp extends MemoryIdp {
  readonly calls: IdpCall[] = [];
  private firstRevoke!: () => void;
  /** Resolves when the IdP revokes its first token. */
  readonly revoking = new Promise<void>((resolve) => {
    this.firstRevoke = resolve;
  });

  private async call(operation: string, userId: string): Promise<void> {
    await budgetPermit();
    this.calls.push({ operation, userId, lane: currentIdpCall()?.lane, at: Date.now() });
  }

  override async getUser(userId: string): Promise<IdpUser> {
    await this.call('getUser', userId);
    return super.getUser(userId);
  }
  override async plan(target: Target): Promise<RevocationPlan> {
    await this.call('plan', userOf(target));
    return super.plan(target);
  }
  override async revoke(step: Target): Promise<RevokeResult> {
    await this.call(step.kind === 'token' ? 'revoke-token' : 'sweep', userOf(step));
    if (step.kind === 'token') this.firstRevoke();
    return super.revoke(step);
  }
  override async verify(target: Target): Promise<VerifyResult> {
    await this.call('verify', userOf(target));
    return super.verify(target);
  }
}

function userOf(target: Target): string {
  return 'userId' in target ? target.userId : '';
}
