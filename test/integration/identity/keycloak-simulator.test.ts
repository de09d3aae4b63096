import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError } from '../../../src/domain/errors.ts';
import type { Target } from '../../../src/domain/target.ts';
import { KeycloakIdentityProvider } from '../../../src/identity/adapters/keycloak.ts';
import { IdpUnsupportedError } from '../../../src/identity/errors.ts';
import { createPipeline } from '../../helpers/pipeline.ts';
import { KeycloakSimulator } from '../../simulators/keycloak.ts';

/**
 * The Keycloak adapter against the stateful Keycloak simulator. The oracle is always the simulator's
 * `stillWorks` (what Keycloak would still accept), never the adapter's own `verify`.
 */
const sim = new KeycloakSimulator();
const server = setupServer(...sim.handlers);
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterEach(() => sim.reset());
afterAll(() => server.close());

const make = () => {
  const env = sim.env();
  return new KeycloakIdentityProvider({
    url: env.KEYCLOAK_URL!,
    realm: env.KEYCLOAK_REALM!,
    clientId: env.KEYCLOAK_CLIENT_ID!,
    clientSecret: env.KEYCLOAK_CLIENT_SECRET!,
    timeoutMs: 2000,
  });
};

async function revokeThroughPipeline(idp: KeycloakIdentityProvider, target: Target) {
  const pipe = await createPipeline({ idp });
  try {
    await pipe.startWorkers();
    const since = new Date();
    const done = await pipe.submitAndWait({
      target,
      reason: 'incident',
      requestedBy: { source: 'cli', id: 'admin' },
      source: 'cli',
      impact: { userCount: 1, tokenCount: 1 },
    });
    return { done, since, revoked: await pipe.revokedTokenIds(done.id) };
  } finally {
    await pipe.close();
  }
}

describe('Keycloak against its simulator', () => {
  it('item 1: a retried application step with an older not-before sets this one, and audits no false revocations', async () => {
    const { application } = sim.seedScenario();
    const wiki = sim.clients.find((c) => c.id === application!.applicationId)!;
    wiki.notBefore = Math.floor(sim.serverNow() / 1000) - 86_400; // an earlier revocation, yesterday
    sim.failOnce({ method: 'PUT', url: new RegExp(`/clients/${wiki.id}$`) }, '503');
    expect(sim.stillWorks(application!)).not.toEqual([]);
    const { done, since, revoked } = await revokeThroughPipeline(make(), application!);
    expect(sim.stillWorks(application!, { before: since })).toEqual([]);
    expect(done.state).toBe('verified');
    // The not-before policy ends no session: nothing is audited as a revoked token on the retry's say-so.
    expect(revoked).toEqual([]);
    expect(sim.calls.filter((c) => c.method === 'PUT').map((c) => c.status)).toEqual([503, 204]);
  });

  it('item 1: a user logout that failed once (429) is re-issued: sessions started just before the revocation count, though Date has whole seconds', async () => {
    const { user } = sim.seedScenario();
    sim.failOnce({ method: 'POST', url: new RegExp(`/users/${user!.userId}/logout$`) }, '429');
    const { done, since } = await revokeThroughPipeline(make(), user!);
    expect(
      sim.calls.filter((c) => c.method === 'POST' && c.url.endsWith('/logout')).map((c) => c.status),
    ).toEqual([429, 204]);
    expect(sim.stillWorks(user!, { before: since })).toEqual([]);
    expect(done.state).toBe('verified');
  });

  it('item 11: the not-before is set on the server’s clock (Date), with a minimal update', async () => {
    sim.serverSkewMs = 120_000; // Keycloak's clock two minutes ahead of Revoker's
    const { application } = sim.seedScenario();
    const { done, since } = await revokeThroughPipeline(make(), application!);
    // Tokens issued within the skew do not survive.
    expect(sim.stillWorks(application!, { before: since })).toEqual([]);
    expect(done.state).toBe('verified');
    // Only the field that changes travels: no secret, no stale copy of the rest.
    expect(sim.clientUpdates).toEqual([{ notBefore: expect.any(Number) }]);
  });

  it('item 11: verify reads the not-before against the server’s clock, not Revoker’s', async () => {
    sim.serverSkewMs = 120_000; // Keycloak's clock two minutes ahead
    const { application } = sim.seedScenario();
    const wiki = sim.clients.find((c) => c.id === application!.applicationId)!;
    // A not-before set 50 s before this revocation (server clock): an earlier revocation's, not this one's.
    wiki.notBefore = Math.floor(sim.serverNow() / 1000) - 50;
    const v = await make().verify(application!, { since: new Date() });
    expect(v.ok).toBe(false);
    expect(v.parts?.[0]).toMatchObject({ outcome: 'failed' });
  });

  it('item 11: an offline session is not called gone on a server that ignores isOffline (before 24.0.2)', async () => {
    sim.version = '24.0.1';
    const { user } = sim.seedScenario();
    const offline = sim.sessions.find((s) => s.offline && s.userId === user!.userId)!;
    const target: Target = { kind: 'token', userId: user!.userId, tokenId: `offline:${offline.id}` };
    const err = await make()
      .revoke(target)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdpUnsupportedError);
    expect((err as Error).message).toMatch(/24\.0\.1.*ignores isOffline=true/);
    expect(sim.stillWorks(target)).toHaveLength(1);

    sim.reset();
    sim.version = '26.4.2'; // serverinfo no longer shows the version to a realm admin: new enough
    const t = sim.seedScenario();
    const off = sim.sessions.find((s) => s.offline && s.userId === t.user!.userId)!;
    const target2: Target = { kind: 'token', userId: t.user!.userId, tokenId: `offline:${off.id}` };
    await make().revoke(target2);
    expect(sim.stillWorks(target2)).toEqual([]);
    // The online session of the same id is untouched.
    expect(sim.stillWorks({ kind: 'token', userId: t.user!.userId, tokenId: off.id })).toHaveLength(1);
  });

  it('item 7: a look-up by email refuses several matches, or only a disabled one, naming the ids', async () => {
    sim.seedScenario();
    const idp = make();
    expect((await idp.findUserByEmail('Alice@Acme.test'))?.userName).toBe('alice');
    const twin = sim.addUser('alice2', 'alice@acme.test');
    const err = await idp.findUserByEmail('alice@acme.test').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as Error).message).toContain(twin.id);
    sim.addUser('gone', 'gone@acme.test', false);
    const err2 = await idp.findUserByEmail('gone@acme.test').catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(ConflictError);
    expect((err2 as Error).message).toMatch(/disabled/);
  });

  it('item 14: probePermissions names exactly the write role withheld, and changes nothing', async () => {
    sim.withheld.add('manage-clients');
    sim.seedScenario();
    const before = sim.snapshot();
    const probes = await make().probePermissions();
    expect(probes.filter((p) => !p.ok).map((p) => `${p.scope} ${p.permission}`)).toEqual([
      'application realm-management manage-clients',
    ]);
    sim.withheld.clear();
    sim.withheld.add('manage-users');
    const again = await make().probePermissions();
    expect(again.filter((p) => !p.ok).map((p) => `${p.scope} ${p.permission}`)).toEqual([
      'token realm-management manage-users',
      'user realm-management manage-users',
    ]);
    expect(sim.snapshot()).toEqual(before);
    expect(sim.clientUpdates).toEqual([]);
  });

  it('item 15: verify counts only sessions started before the revocation, and says so', async () => {
    const { user } = sim.seedScenario();
    const idp = make();
    const since = new Date();
    await idp.revoke(user!);
    // Alice signs in again after the revocation started.
    sim.addSession(user!.userId, [sim.clients[1]!.id], { at: sim.serverNow() + 5000 });
    const v = await idp.verify(user!, { since });
    expect(sim.stillWorks(user!, { before: since })).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.parts?.map((p) => p.part)).toEqual([
      'sessions started before the revocation',
      'offline sessions started before the revocation',
    ]);
  });
});
