import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import type { Target } from '../../../src/domain/target.ts';
import { Auth0IdentityProvider } from '../../../src/identity/adapters/auth0.ts';
import { KeycloakIdentityProvider } from '../../../src/identity/adapters/keycloak.ts';
import { createIdentityProvider } from '../../../src/identity/factory.ts';
import type { IdentityProvider } from '../../../src/identity/port.ts';
import { createPipeline } from '../../helpers/pipeline.ts';
import { SIMULATORS } from '../../simulators/index.ts';
import type { SimFault, VendorSimulator } from '../../simulators/types.ts';

/**
 * One fault at a time for the Auth0 and Keycloak adapters against their simulators: every call the no-fault run
 * made after the plan fails once (503, 429 with the vendor's reset, a timeout after the call took effect); the
 * final state must equal the no-fault run's and the outcome must be the same, with nothing in scope still working.
 */
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterAll(() => server.close());

const VENDORS = ['auth0', 'keycloak'] as const;
const FAULTS: SimFault[] = ['503', '429', 'timeout-after-commit'];

/** The adapter, as `serve` builds it from the simulator's variables, but with a short call timeout. */
function adapterFor(sim: VendorSimulator): IdentityProvider {
  const env = sim.env();
  if (env.IDP === 'auth0')
    return new Auth0IdentityProvider({
      domain: env.AUTH0_DOMAIN!,
      clientId: env.AUTH0_CLIENT_ID!,
      clientSecret: env.AUTH0_CLIENT_SECRET!,
      baseUrl: env.AUTH0_BASE_URL!,
      timeoutMs: 400,
    });
  return new KeycloakIdentityProvider({
    url: env.KEYCLOAK_URL!,
    realm: env.KEYCLOAK_REALM!,
    clientId: env.KEYCLOAK_CLIENT_ID!,
    clientSecret: env.KEYCLOAK_CLIENT_SECRET!,
    timeoutMs: 400,
  });
}

async function run(
  vendor: string,
  scope: 'token' | 'user' | 'application' | 'resourceServer',
  fault?: { method: string; url: string; kind: SimFault },
) {
  const sim = SIMULATORS[vendor]!();
  server.resetHandlers(...sim.handlers);
  const target = sim.seedScenario()[scope] as Target;
  if (fault) {
    const escaped = fault.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    sim.failOnce({ method: fault.method, url: new RegExp(`^${escaped}$`) }, fault.kind);
  }
  const idp = adapterFor(sim);
  const pipe = await createPipeline({ idp });
  try {
    await pipe.startWorkers();
    const since = new Date();
    const { request } = await pipe.intake.submit({
      target,
      reason: 'fault matrix',
      requestedBy: { source: 'cli', id: 'admin' },
      source: 'cli',
      impact: { userCount: 1, tokenCount: 1 },
    });
    const intakeCalls = sim.calls.length;
    return { sim, target, since, request, pipe, intakeCalls };
  } catch (err) {
    await pipe.close();
    throw err;
  }
}

describe.each(VENDORS)('%s: one fault at a time', (vendor) => {
  it('the simulator variables build the adapter through the factory', () => {
    const sim = SIMULATORS[vendor]!();
    expect(createIdentityProvider(loadConfig({ ...sim.env(), NODE_ENV: 'test' })).name).toBe(vendor);
  });

  const scopes =
    vendor === 'auth0'
      ? (['token', 'user', 'application', 'resourceServer'] as const)
      : (['token', 'user', 'application'] as const);
  it.each(scopes)('%s scope', { timeout: 240_000 }, async (scope) => {
    // The no-fault run: its calls after the intake's look-up are the ones to fail, one at a time.
    const base = await run(vendor, scope);
    let clean: {
      state: string;
      snapshot: unknown;
      calls: { method: string; url: string }[];
      intakeCalls: number;
    };
    try {
      const rec = await base.pipe.intake.waitForOutcome(base.request.id, 20_000);
      expect(base.sim.stillWorks(base.target, { before: base.since })).toEqual([]);
      clean = {
        state: rec.state,
        snapshot: base.sim.snapshot(),
        calls: base.sim.calls.slice(0),
        intakeCalls: base.intakeCalls,
      };
    } finally {
      await base.pipe.close();
    }
    expect(clean.state).toBe('verified');
    const seen = new Set<string>();
    for (const call of clean.calls.slice(clean.intakeCalls)) {
      const key = `${call.method} ${call.url}`;
      if (seen.has(key)) continue;
      seen.add(key);
      for (const kind of FAULTS) {
        const r = await run(vendor, scope, { method: call.method, url: call.url, kind });
        try {
          const rec = await r.pipe.intake.waitForOutcome(r.request.id, 30_000);
          const label = `${vendor} ${scope}: ${kind} on ${key}`;
          expect(r.sim.stillWorks(r.target, { before: r.since }), label).toEqual([]);
          expect(rec.state, label).toBe(clean.state);
          expect(r.sim.snapshot(), label).toEqual(clean.snapshot);
        } finally {
          await r.pipe.close();
        }
      }
    }
    // Every call of the revocation itself was failed once in each way.
    expect(seen.size).toBeGreaterThan(0);
  });
});
