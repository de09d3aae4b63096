import type { IdpBudget } from '../identity/idp-budget.ts';
import type { IdentityProvider } from '../identity/port.ts';
import type { IdpKind } from '../identity/rate-limits.ts';

/**
 * A connection id: what jobs, requests and the audit name a connection by (`okta`, `okta-eu`). Lower case,
 * no `:` (BullMQ queue names cannot hold one).
 */
export const CONNECTION_ID = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * One identity system Revoker revokes in: its id, its kind, its adapter (every call through its own
 * budget) and that budget. A Global Token Revocation app can be one more connection: a kind of its own
 * whose adapter offers only the user scope.
 */
export interface Connection {
  id: string;
  kind: IdpKind | (string & {});
  /** The adapter; in `serve` a BudgetedIdentityProvider, every call of which takes a permit from `budget`. */
  idp: IdentityProvider;
  /** Its own call budget (its own Redis key); absent for an adapter that is not budgeted (tests). */
  budget?: IdpBudget;
  /**
   * Suffix of this connection's queue and budget key names: '' for the first connection (the names a
   * single-IdP deployment has always used, so upgrading keeps its queued jobs), `.{id}` otherwise.
   */
  suffix: string;
}
