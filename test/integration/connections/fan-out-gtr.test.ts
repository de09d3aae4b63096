import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionRegistry } from '../../../src/connections/connection-registry.ts';
import type { Actor } from '../../../src/domain/request.ts';
import { GtrAppIdentityProvider } from '../../../src/identity/gtr/gtr-app-identity-provider.ts';
import { loadGtrApps } from '../../../src/identity/gtr/gtr-apps-config.ts';
import { MemoryIdp } from '../../helpers/memory-idp.ts';
import { createPipeline, type Pipeline } from '../../helpers/pipeline.ts';
import { GtrTestServer } from '../../simulators/gtr-app-server.ts';

/**
 * Issue 22: a Global Token Revocation app is one more connection of a user revocation. Its answers map to
 * the connection's line exactly as draft-parecki-oauth-global-token-revocation-06 §3.4 defines them: 204 ⇒
 * accepted, not observable (`unverifiable`); 404 ⇒ no account (done); 422 ⇒ retried; and the app's own
 * state (its people's tokens) is the oracle, never Revoker's view of it.
 */
const admin: Actor = { source: 'cli', id: 'ops', name: 'Ops' };
const BEARER = 'gtr-test-bearer-token-0123456789';

let pipe: Pipeline | undefined;
let app: GtrTestServer | undefined;
afterEach(async () => {
  await pipe?.close();
  await app?.close();
  pipe = undefined;
  app = undefined;
});

async function setUp(people: Array<{ email: string; tokens: string[] }>) {
  app = await new GtrTestServer({
    people: people.map((p, i) => ({ ...p, id: `notes-${i}` })),
    bearerTokens: [{ token: BEARER }],
  }).start();
  const [config] = loadGtrApps({
    GTR_APPS: JSON.stringify([
      { name: 'notes', endpoint: app.endpoint, auth: { method: 'bearer_token', token: BEARER } },
    ]),
  });
  const idp = new MemoryIdp();
  idp.addUser('dave', 'dave@example.com');
  idp.addToken('dave', 'app-1');
  const connections = new ConnectionRegistry([
    { id: 'idaas', kind: 'memory', idp, suffix: '' },
    { id: 'gtr-notes', kind: 'gtr', idp: new GtrAppIdentityProvider({ app: config! }), suffix: '.gtr-notes' },
  ]);
  pipe = await createPipeline({ idp, connections });
  await pipe.startWorkers();
  return { idp };
}

const revokeDave = () =>
  pipe!.submitAndWait({
    target: { kind: 'user', userId: 'dave' },
    reason: 'offboarding',
    requestedBy: admin,
    source: 'cli',
  });

describe('a Global Token Revocation app as a connection of a user revocation (issue 22)', () => {
  it("204: the app's line is unverifiable (accepted, nobody observed it), the request says so, the app's tokens are gone", async () => {
    await setUp([{ email: 'dave@example.com', tokens: ['notes-rt-1', 'notes-at-1'] }]);
    const done = await revokeDave();
    expect(done.connections?.map((c) => [c.connection, c.status])).toEqual([
      ['idaas', 'verified'],
      ['gtr-notes', 'unverifiable'],
    ]);
    expect(done.state).toBe('unverifiable');
    expect(done.connections?.[1]?.why).toMatch(/accepted by notes, not observable/);
    // The app was called with the draft's request: JSON `sub_id` in the email format, authenticated.
    const call = app!.calls.find((c) => c.path === '/global-token-revocation');
    expect(call).toMatchObject({
      method: 'POST',
      contentType: 'application/json',
      authScheme: 'Bearer',
      body: { sub_id: { format: 'email', email: 'dave@example.com' } },
      status: 204,
    });
    expect(app!.stillWorks('dave@example.com')).toEqual([]);
  });

  it('404: the person has no account at the app — its line says no account, which counts as done (verified)', async () => {
    await setUp([{ email: 'someone-else@example.com', tokens: ['x'] }]);
    const done = await revokeDave();
    expect(done.connections?.map((c) => [c.connection, c.status])).toEqual([
      ['idaas', 'verified'],
      ['gtr-notes', 'no_account'],
    ]);
    expect(done.state).toBe('verified');
    expect(app!.stillWorks('someone-else@example.com')).toEqual(['x']);
  });

  it('422 (unable to log out the user, now): retried, then accepted', async () => {
    await setUp([{ email: 'dave@example.com', tokens: ['notes-rt-1'] }]);
    app!.failNext(422);
    const done = await revokeDave();
    expect(app!.calls.filter((c) => c.path === '/global-token-revocation').map((c) => c.status)).toEqual([
      422, 204,
    ]);
    expect(done.connections?.[1]?.status).toBe('unverifiable');
    expect(app!.stillWorks('dave@example.com')).toEqual([]);
  });
});
