import type { Redis } from 'ioredis';
import { BudgetedIdentityProvider } from '../budgeted-identity-provider.ts';
import { IdpBudget } from '../idp-budget.ts';
import { GtrAppIdentityProvider, type GtrAppIdentityProviderOptions } from './gtr-app-identity-provider.ts';
import { DEFAULT_GTR_RATE_LIMIT, type GtrAppConfig } from './gtr-apps-config.ts';

export interface GtrConnection {
  /** `gtr-<name>`: the connection id (src/connections/connection.ts CONNECTION_ID). */
  id: string;
  adapter: GtrAppIdentityProvider;
  /** The adapter under the app's own budget: every call (token fetch, metadata, revocation) takes a permit. */
  idp: BudgetedIdentityProvider;
  budget: IdpBudget;
}

/**
 * The connection id of a `GTR_APPS` app: `gtr-` and its name, lower case, any character a connection id
 * cannot hold (`_`) as `-`. Two names can meet (`a_b`, `a-b`): src/connections/gtr-connections.ts refuses it.
 */
export function gtrConnectionId(name: string): string {
  return `gtr-${name.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`;
}

/**
 * One connection per `GTR_APPS` entry, each with its own budget at `{prefix}:gtr:<name>:idp:budget`
 * (`rate_limit`, default 10/s), shared by every process on the Redis, like the IdP's own.
 */
export function createGtrConnections(
  apps: GtrAppConfig[],
  deps: {
    redis: Redis;
    prefix: string;
    interactiveShare?: number;
    issSubOf?: GtrAppIdentityProviderOptions['issSubOf'];
  },
): GtrConnection[] {
  return apps.map((app) => {
    const adapter = new GtrAppIdentityProvider({
      app,
      ...(deps.issSubOf ? { issSubOf: deps.issSubOf } : {}),
    });
    const budget = new IdpBudget({
      redis: deps.redis,
      prefix: `${deps.prefix}:gtr:${app.name}`,
      ratePerSecond: app.rate_limit ?? DEFAULT_GTR_RATE_LIMIT,
      ...(deps.interactiveShare !== undefined ? { interactiveShare: deps.interactiveShare } : {}),
    });
    return {
      id: gtrConnectionId(app.name),
      adapter,
      idp: new BudgetedIdentityProvider(adapter, budget),
      budget,
    };
  });
}
