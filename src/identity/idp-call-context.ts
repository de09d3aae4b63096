import { AsyncLocalStorage } from 'node:async_hooks';
import type { IdpBudget, IdpLane } from './idp-budget.ts';

/**
 * What an IdP HTTP call needs to know about who made it, carried through the adapter's code without
 * changing the port's signatures: the budget to take a permit from (set by `BudgetedIdentityProvider`
 * around every port method) and the lane (set by whoever a person is waiting on, e.g. a Slack handler).
 */
export interface IdpCallContext {
  budget?: IdpBudget;
  lane: IdpLane;
}

const storage = new AsyncLocalStorage<IdpCallContext>();

export function currentIdpCall(): IdpCallContext | undefined {
  return storage.getStore();
}

/** Runs `fn` with `patch` over the current context (an outer lane wins over the default `batch`). */
export function withIdpCall<T>(patch: Partial<IdpCallContext>, fn: () => Promise<T>): Promise<T> {
  const outer = storage.getStore();
  return storage.run({ lane: 'batch', ...outer, ...patch }, fn);
}

/** Runs `fn` as a call someone is waiting on (a Slack dialog, a readiness probe): the reserved share. */
export function asInteractive<T>(fn: () => Promise<T>): Promise<T> {
  return withIdpCall({ lane: 'interactive' }, fn);
}
