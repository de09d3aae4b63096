import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError } from '../../../src/domain/errors.ts';
import type { Target } from '../../../src/domain/target.ts';
import { AUTH0_PLAN_REASON, Auth0IdentityProvider } from '../../../src/identity/adapters/auth0.ts';
import type { VerifyResult } from '../../../src/identity/port.ts';
import { createPipeline } from '../../helpers/pipeline.ts';
import { AUTH0_SIM_DOMAIN, Auth0Simulator } from '../../simulators/auth0.ts';

/**
 * The Auth0 adapter against the stateful Auth0 simulator. The oracle is always the simulator's `stillWorks`
 * (what would still work at Auth0), never the adapter's own `verify`.
 */
const sim = new Auth0Simulator();
const server = setupServer(...sim.handlers);
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterEach(() => sim.reset());
afterAll(() => server.close());

let clock = Date.now();
const make = (options: { reprobeMs?: number } = {}) => {
  const env = sim.env();
  return new Auth0IdentityProvider({
    domain: AUTH0_SIM_DOMAIN,
    clientId: env.AUTH0_CLIENT_ID!,
    clientSecret: env.AUTH0_CLIENT_SECRET!,
    baseUrl: env.AUTH0_BASE_URL!,
    timeoutMs: 2000,
    now: () => clock,
    ...options,
  });
};

async function revokeThroughPipeline(idp: Auth0IdentityProvider, target: Target) {
  const pipe = await createPipeline({ idp });
  try {
    await pipe.startWorkers();
    return await pipe.submitAndWait({
      target,
      reason: 'offboarding',
      requestedBy: { source: 'cli', id: 'admin' },
      source: 'cli',
      impact: { userCount: 1, tokenCount: 1 },
    });
  } finally {
    await pipe.close();
  }
}

const partsOf = (v: VerifyResult) =>
  Object.fromEntries((v.parts ?? []).map((p) => [p.part.replace(/ issued before .*/, ''), p.outcome]));

describe('Auth0 against its simulator', () => {
  it('item 1: a sessions DELETE that fails once is made again on retry (the user has no refresh tokens)', async () => {
    sim.seedScenario();
    // A web user: a session, no refresh token.
    sim.addUser({ user_id: 'auth0|dee', email: 'dee@acme.test', name: 'Dee' });
    sim.addSession('auth0|dee', ['c_wiki']);
    const target: Target = { kind: 'user', userId: 'auth0|dee' };
    sim.failOnce({ method: 'DELETE', url: /^\/api\/v2\/users\/auth0%7Cdee\/sessions$/ }, '503');
    const done = await revokeThroughPipeline(make(), target);
    expect(sim.stillWorks(target)).toEqual([]);
    expect(done.state).toBe('verified');
    expect(sim.calls.filter((c) => c.method === 'DELETE' && c.url.endsWith('/sessions'))).toHaveLength(2);
  });

  it('item 1: without delete:sessions the sessions part fails and the request never ends verified', async () => {
    sim.withheld.add('delete:sessions');
    const { user } = sim.seedScenario();
    const done = await revokeThroughPipeline(make(), user!);
    // The oracle: the refresh tokens are gone, the session is still signed in.
    expect(sim.stillWorks(user!)).toEqual([expect.stringMatching(/^session /)]);
    expect(done.state).toBe('failed');
    const v = await make().verify(user!, { since: new Date() });
    expect(v.ok).toBe(false);
    expect(v.parts?.find((p) => p.part.startsWith('sessions'))).toMatchObject({ outcome: 'failed' });
  });

  it('item 4: sessions are listed and verified on Enterprise; unverifiable with a note below it', async () => {
    const { user } = sim.seedScenario();
    const idp = make();
    const since = new Date();
    await idp.revoke(user!);
    // Refresh-token deletes are eventually consistent: the first listing may still show them.
    let v = await idp.verify(user!, { since });
    if (!v.ok) v = await idp.verify(user!, { since });
    expect(sim.stillWorks(user!)).toEqual([]);
    expect(partsOf(v)).toEqual({ 'refresh tokens': 'verified', sessions: 'verified' });

    sim.reset();
    sim.plan = 'professional';
    const t = sim.seedScenario();
    const low = make();
    await low.ping();
    expect(low.capabilities.notes?.user).toMatch(/sessions can be neither ended nor listed/);
    const done = await revokeThroughPipeline(low, t.user!);
    // Below Enterprise the refresh tokens die through grants; the session cannot be ended, and is not called verified.
    expect(sim.stillWorks(t.user!)).toEqual([expect.stringMatching(/^session /)]);
    expect(done.state).toBe('unverifiable');
    const lv = await low.verify(t.user!, { since: new Date() });
    expect(lv.parts?.find((p) => p.part === 'sessions')).toMatchObject({
      outcome: 'unverifiable',
      why: expect.stringContaining('Enterprise'),
    });
    expect(lv.parts?.find((p) => p.part.startsWith('refresh tokens'))).toMatchObject({ outcome: 'verified' });
  });

  it('item 8: an email stored as the federated IdP sent it is found in any case', async () => {
    sim.seedScenario();
    const idp = make();
    expect((await idp.findUserByEmail('bob.jones@acme.test'))?.id).toBe('google-oauth2|bob');
    expect((await idp.findUserByEmail('BOB.JONES@ACME.TEST'))?.id).toBe('google-oauth2|bob');
    // One email in two connections: refused, naming both.
    sim.addUser({ user_id: 'auth0|bob2', email: 'bob.jones@acme.test', name: 'Bob' });
    const err = await idp.findUserByEmail('Bob.Jones@acme.test').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as Error).message).toContain('google-oauth2|bob');
    expect((err as Error).message).toContain('auth0|bob2');
  });

  it('item 10: an application and an API are revoked through their grants, without scanning users', async () => {
    const { application, resourceServer } = sim.seedScenario();
    const idp = make();
    expect(sim.stillWorks(application!)).toHaveLength(2);
    const done = await revokeThroughPipeline(idp, application!);
    expect(sim.stillWorks(application!)).toEqual([]);
    expect(done.state).toBe('verified');
    const done2 = await revokeThroughPipeline(idp, resourceServer!);
    expect(sim.stillWorks(resourceServer!)).toEqual([]);
    expect(done2.state).toBe('verified');
    // No user listing, no user export job (item 12: there is no export left to time out or repeat).
    expect(sim.calls.filter((c) => /^\/api\/v2\/(users\?|users$|jobs)/.test(c.url))).toEqual([]);
    // Other applications' tokens are untouched.
    expect(sim.stillWorks({ kind: 'application', applicationId: 'c_crm' })).toHaveLength(2);
  });

  it('item 10: below Enterprise a user is still revoked (grants, device credentials); the plan is probed again later', async () => {
    sim.plan = 'professional';
    const { user } = sim.seedScenario();
    const idp = make({ reprobeMs: 60_000 });
    await idp.ping();
    expect(idp.capabilities.scopes).toEqual({
      token: false,
      user: true,
      application: true,
      resourceServer: true,
    });
    expect(idp.capabilities.unsupportedReasons.token).toBe(AUTH0_PLAN_REASON);
    await idp.revoke(user!);
    expect(sim.stillWorks(user!).filter((s) => s.startsWith('refresh_token'))).toEqual([]);
    // The tenant upgrades: after the re-probe interval the Enterprise endpoints are tried again.
    sim.plan = 'enterprise';
    clock += 61_000;
    await idp.plan({ kind: 'user', userId: 'auth0|cy' });
    expect(idp.capabilities.scopes.token).toBe(true);
    expect(idp.capabilities.unsupportedReasons.token).toBeUndefined();
  });

  it('item 14: probePermissions names exactly the write permission withheld, and revokes nothing', async () => {
    sim.withheld.add('delete:sessions');
    sim.seedScenario();
    const before = sim.snapshot();
    const probes = await make().probePermissions();
    expect(probes.filter((p) => !p.ok).map((p) => `${p.scope} ${p.permission}`)).toEqual([
      'user delete:sessions',
    ]);
    expect(sim.snapshot()).toEqual(before);
    sim.withheld.clear();
    sim.withheld.add('delete:grants');
    const again = await make().probePermissions();
    expect(again.filter((p) => !p.ok).map((p) => `${p.scope} ${p.permission}`)).toEqual([
      'user delete:grants',
      'application delete:grants',
      'resourceServer delete:grants',
    ]);
  });

  it('item 15: verify counts only what was issued before the revocation started, and says so', async () => {
    const { user } = sim.seedScenario();
    const idp = make();
    const since = new Date(Date.now() + 1);
    await idp.revoke(user!);
    await idp.verify(user!, { since }); // settles the 202 deletes
    // Ada signs in again after the revocation started: a new session and refresh token it never covered.
    const later = new Date(since.getTime() + 1000);
    sim.issueRefreshToken('auth0|ada', 'c_wiki', 'https://api.acme.test', later);
    sim.addSession('auth0|ada', ['c_wiki'], later);
    const v = await idp.verify(user!, { since });
    expect(sim.stillWorks(user!, { before: since })).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.parts?.map((p) => p.part)).toEqual([
      'refresh tokens issued before the start',
      'sessions issued before the start',
    ]);
  });
});
