import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { summary } from '../../../src/cli/revoke.ts';
import { loadConfig } from '../../../src/config.ts';
import { formatChecks } from '../../../src/doctor/check.ts';
import { checkIdp } from '../../../src/doctor/idp-checks.ts';
import { ConflictError } from '../../../src/domain/errors.ts';
import type { Target } from '../../../src/domain/target.ts';
import { BudgetedIdentityProvider } from '../../../src/identity/budgeted-identity-provider.ts';
import { createIdentityProvider } from '../../../src/identity/factory.ts';
import { IdpBudget } from '../../../src/identity/idp-budget.ts';
import type { IdentityProvider, RevokeResult } from '../../../src/identity/port.ts';
import { statusLine } from '../../../src/slack/messages/request-summary.ts';
import { createPipeline, type Pipeline } from '../../helpers/pipeline.ts';
import { connectRedis, deleteKeys, randomPrefix } from '../../helpers/redis.ts';
import { guardContract } from '../../helpers/vendor-contract.ts';
import { OKTA_SIM_ORIGIN, OktaSimulator } from '../../simulators/okta.ts';
import { oktaContract } from '../../simulators/okta-contract.ts';
import { requester } from '../faults/fixtures.ts';

/**
 * Okta through the real pipeline against the stateful Okta simulator (issue 18 items 1, 4, 5, 7, 14, 15).
 * The oracle is the simulator's state (`stillWorks`), never the adapter's own verify.
 */
const sim = new OktaSimulator();
const server = setupServer(...sim.handlers);
// Every call the pipeline makes is checked against Okta's documented operations, values and headers.
const contract = guardContract(server, oktaContract(OKTA_SIM_ORIGIN));
let pipe: Pipeline | undefined;

beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterEach(async () => {
  expect(contract.violations.splice(0)).toEqual([]);
  await pipe?.close();
  pipe = undefined;
  sim.withheld.clear();
  sim.reset();
});
afterAll(() => server.close());

function adapter(): IdentityProvider {
  return createIdentityProvider(loadConfig({ ...sim.env(), IDP_TIMEOUT_MS: '2000' }));
}

async function revoke(target: Target, idp: IdentityProvider = adapter()) {
  pipe = await createPipeline({ idp, rateLimitPerSecond: 1000 });
  await pipe.startWorkers();
  const before = new Date();
  const done = await pipe.submitAndWait({
    target,
    reason: 'offboarding',
    requestedBy: requester,
    source: 'cli',
  });
  return { done, before, pipe };
}

describe('Okta: the outcome says what was verified and what Okta cannot show', () => {
  it('item 4: a user revocation verifies refresh tokens by listing and reports sessions unverifiable, everywhere', async () => {
    sim.seedScenario();
    const target: Target = { kind: 'user', userId: '00ualice' };
    expect(sim.stillWorks(target).length).toBeGreaterThan(0);
    const { done, before, pipe } = await revoke(target);
    expect(sim.stillWorks(target, { before })).toEqual([]);
    expect(done.state).toBe('unverifiable');
    expect(done.result?.parts).toEqual([
      { part: 'refresh tokens issued before the start', outcome: 'verified', method: 'list' },
      {
        part: 'access tokens',
        outcome: 'unverifiable',
        why: expect.stringContaining('no listing of access tokens'),
      },
      {
        part: 'sessions',
        outcome: 'unverifiable',
        why: expect.stringContaining("no listing of a user's sessions"),
      },
    ]);
    // CLI, Slack and audit all say it.
    expect(summary(done)).toMatch(
      /done, unverifiable; .* — verified: refresh tokens issued before the start; unverifiable: access tokens \(.*\), sessions \(Okta offers no listing/,
    );
    expect(statusLine(done)).toContain(
      'unverifiable: access tokens (Okta offers no listing of access tokens',
    );
    const entry = (await pipe.auditEntries()).find((e) => e.action === 'request.unverifiable');
    expect(String(entry?.detail?.parts)).toContain('unverifiable: access tokens');
    expect(JSON.parse(String(entry?.detail?.partsJson))).toEqual([
      { part: 'refresh tokens issued before the start', outcome: 'verified' },
      { part: 'access tokens', outcome: 'unverifiable' },
      { part: 'sessions', outcome: 'unverifiable' },
    ]);
  });

  it('item 1: a sessions DELETE that answered 503 is made again on retry, though the user has no refresh token', async () => {
    const { user } = sim.seedScenario(); // carol: a session and an access token, no refresh token
    sim.failOnce({ method: 'DELETE', url: /^\/api\/v1\/users\/00ucarol\/sessions\?/ }, '503');
    const { done, before } = await revoke(user!);
    const deletes = sim.calls.filter((c) => c.method === 'DELETE');
    expect(deletes.map((c) => c.status)).toEqual([503, 204]);
    expect(sim.stillWorks(user!, { before })).toEqual([]);
    expect(done.state).toBe('unverifiable');
  });

  it('item 5: application and API scopes revoke refresh tokens only, and never end verified', async () => {
    const { application, resourceServer } = sim.seedScenario();
    const idp = adapter();
    expect(idp.capabilities.notes?.application).toMatch(/access tokens issued without a refresh token/);
    expect(idp.capabilities.notes?.resourceServer).not.toMatch(/every client/);
    expect(idp.capabilities.notes?.resourceServer).toMatch(/live until they expire/);
    const { done, before } = await revoke(application!, idp);
    // Access tokens issued without a refresh token (bob's, carol's) still work: the simulator says so …
    const alive = sim.stillWorks(application!, { before });
    expect(alive).toHaveLength(2);
    for (const a of alive)
      expect(a).toMatch(/^access_token \S+ \(user 00u(bob|carol), client 0oawiki, server \w+\)$/);
    // … and the outcome does not claim otherwise.
    expect(done.state).toBe('unverifiable');
    expect(done.result?.parts?.map((p) => [p.part, p.outcome])).toEqual([
      ['refresh tokens issued before the start', 'verified'],
      ['access tokens', 'unverifiable'],
    ]);
    await pipe?.close();
    pipe = undefined;
    const api = await revoke(resourceServer!, idp);
    expect(api.done.state).toBe('unverifiable');
    expect(
      sim.stillWorks(resourceServer!, { before: api.before }).every((s) => s.startsWith('access_token')),
    ).toBe(true);
  });

  it('a single refresh token: revoked and read back; the access token minted from it is not claimed', async () => {
    const { token } = sim.seedScenario();
    const { done, before } = await revoke(token!);
    const alive = sim.stillWorks(token!, { before });
    expect(alive).toEqual([expect.stringMatching(/^access_token .*, from oar/)]);
    expect(done.state).toBe('unverifiable');
    expect(done.result?.parts?.map((p) => [p.part, p.outcome])).toEqual([
      ['refresh token', 'verified'],
      ['access tokens', 'unverifiable'],
    ]);
  });

  it('item 15: a refresh token issued after the request started does not fail it', async () => {
    sim.seedScenario();
    const target: Target = { kind: 'application', applicationId: '0oacrm' };
    const inner = adapter();
    // Right after the bulk call, the user signs in to the CRM again: a token this request never covered.
    const signsInAgain: IdentityProvider = Object.assign(Object.create(inner) as IdentityProvider, {
      async revoke(step: Target): Promise<RevokeResult> {
        const result = await inner.revoke(step);
        sim.issueRefreshToken('00ualice', '0oacrm', 'default', new Date(Date.now() + 1000));
        return result;
      },
    });
    const { done, before } = await revoke(target, signsInAgain);
    expect(sim.stillWorks(target, { before })).toEqual([]);
    expect(sim.stillWorks(target)).toHaveLength(1);
    expect(done.state).toBe('unverifiable');
    expect(done.result?.parts?.[0]).toEqual({
      part: 'refresh tokens issued before the start',
      outcome: 'verified',
      method: 'list',
    });
  });
});

describe('Okta: a look-up by email never picks (item 7)', () => {
  it('returns the one active user, refusing several active matches or only inactive ones with their ids', async () => {
    sim.seedScenario();
    const idp = adapter();
    // alice@acme.test: one ACTIVE, one DEPROVISIONED (an old account) → the live one.
    expect((await idp.findUserByEmail('Alice@Acme.test'))?.id).toBe('00ualice');
    sim.addUser({ id: '00ubob2', login: 'bob2@acme.test', email: 'bob@acme.test', firstName: 'Bob' });
    const several = await idp.findUserByEmail('bob@acme.test').catch((e: unknown) => e);
    expect(several).toBeInstanceOf(ConflictError);
    expect((several as ConflictError).code).toBe('revoker_conflict');
    expect((several as Error).message).toMatch(/00ubob \(ACTIVE\).*00ubob2 \(ACTIVE\)/);
    sim.addUser({
      id: '00udan',
      login: 'dan@acme.test',
      email: 'dan@acme.test',
      firstName: 'Dan',
      status: 'DEPROVISIONED',
    });
    const inactive = await idp.findUserByEmail('dan@acme.test').catch((e: unknown) => e);
    expect(inactive).toBeInstanceOf(ConflictError);
    expect((inactive as Error).message).toContain('00udan (DEPROVISIONED)');
    expect(await idp.findUserByEmail('nobody@acme.test')).toBeUndefined();
    // Never `limit=1`: Okta's documented maximum page, so the ambiguity is seen.
    expect(
      sim.calls
        .filter((c) => c.url.startsWith('/api/v1/users?search='))
        .every((c) => c.url.includes('limit=200')),
    ).toBe(true);
  });
});

describe('Okta: revoker doctor names the missing write permission exactly (items 8, 14)', () => {
  it('probes every permission without revoking anything, and fails on the one withheld', async () => {
    sim.seedScenario();
    sim.withheld.add('okta.apps.manage');
    const state = sim.snapshot();
    const redis = connectRedis();
    const prefix = randomPrefix('doctor');
    try {
      // Wrapped as `serve` wraps it: the budget forwards the probes.
      const idp = new BudgetedIdentityProvider(
        adapter(),
        new IdpBudget({ redis, prefix, ratePerSecond: 100 }),
      );
      const checks = await checkIdp(idp, 'okta');
      const text = formatChecks(checks);
      const failed = checks.filter((c) => !c.ok);
      expect(failed).toHaveLength(1);
      expect(failed[0]!.detail).toMatch(/^okta lacks okta\.apps\.manage, which scope application needs/);
      expect(failed[0]!.fix).toBe('grant okta.apps.manage');
      expect(text).toMatch(/✓ idp: okta holds okta\.users\.manage \(user\)/);
      expect(text).toMatch(/doctor: 1 of \d+ checks failed/);
    } finally {
      await deleteKeys(redis, prefix);
      redis.disconnect();
    }
    // Nothing was revoked by the probes.
    expect(sim.snapshot()).toEqual(state);
    expect(
      sim.calls.filter((c) => c.method === 'DELETE').every((c) => c.status === 404 || c.status === 403),
    ).toBe(true);
  });
});
