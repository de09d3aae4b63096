import type { Redis } from 'ioredis';
import { unavailableIdentityProvider } from '../identity/adapters/unavailable.ts';
import { BudgetedIdentityProvider } from '../identity/budgeted-identity-provider.ts';
import { createIdentityProvider, type IdentityProviderOverrides } from '../identity/factory.ts';
import { IdpBudget } from '../identity/idp-budget.ts';
import type { Connection } from './connection.ts';
import { ConnectionRegistry } from './connection-registry.ts';
import type { ConnectionSpec } from './connection-specs.ts';

export interface CreateConnectionsOptions {
  specs: readonly ConnectionSpec[];
  redis: Redis;
  prefix: string;
  /** IDP_INTERACTIVE_SHARE, for every connection's budget. */
  interactiveShare?: number;
  /** The in-process embedded IDaaS, for the one IDaaS connection without IDAAS_URL. */
  idaas?: IdentityProviderOverrides['idaas'];
}

/** The suffix of a connection's queue and budget names: none for the first (the single-IdP names). */
export function connectionSuffix(index: number, id: string): string {
  return index === 0 ? '' : `.${id}`;
}

/** One adapter per connection, each behind its own budget (its own Redis key). */
export function createConnections(o: CreateConnectionsOptions): ConnectionRegistry {
  let embeddedUsed = false;
  const connections = o.specs.map((spec, index): Connection => {
    const suffix = connectionSuffix(index, spec.id);
    const budget = new IdpBudget({
      redis: o.redis,
      prefix: o.prefix,
      keySuffix: suffix,
      ratePerSecond: spec.ratePerSecond,
      ...(o.interactiveShare === undefined ? {} : { interactiveShare: o.interactiveShare }),
    });
    // Only one IDaaS connection can be the in-process one; any other names its IDAAS_URL.
    const embedded = spec.kind === 'idaas' && !spec.config.IDAAS_URL && !embeddedUsed ? o.idaas : undefined;
    if (embedded) embeddedUsed = true;
    const adapter =
      spec.kind === 'idaas' && !spec.config.IDAAS_URL && !embedded
        ? unavailableIdentityProvider()
        : createIdentityProvider(spec.config, embedded ? { idaas: embedded } : undefined);
    return {
      id: spec.id,
      kind: spec.kind,
      idp: new BudgetedIdentityProvider(adapter, budget),
      budget,
      suffix,
    };
  });
  return new ConnectionRegistry(connections);
}
