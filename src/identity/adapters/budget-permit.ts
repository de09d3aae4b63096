import { currentIdpCall } from '../idp-call-context.ts';

/**
 * A permit from the shared IdP budget the current call runs under (set by `BudgetedIdentityProvider`), none
 * outside one. Adapters whose vendor library fetches its own tokens (MSAL, google-auth-library) call it before
 * each token request, so token fetches count against the IdP's limits like every other call.
 */
export async function budgetPermit(): Promise<void> {
  const call = currentIdpCall();
  if (call?.budget) await call.budget.acquire(call.lane);
}
