import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import type { Actor } from '../../../src/domain/request.ts';
import { silentLogger } from '../../../src/log.ts';
import { createRuntime, type Runtime } from '../../../src/runtime.ts';
import { type RunningService, startService } from '../../../src/service.ts';
import { connectRedis, deleteKeys, REDIS_URL, randomPrefix } from '../../helpers/redis.ts';
import { REPO_WORKFLOWS_DIR } from '../../helpers/worker-process.ts';
import { type GtrTestPerson, GtrTestServer } from '../../simulators/gtr-app-server.ts';

// GTR_APPS apps as connections of a running process (issue 22): each one more connection after the IdP's,
// with its own queue, budget and worker; the GTR test server's state is the oracle.

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const ops: Actor = { source: 'cli', id: 'ops', name: 'Ops' };

let rt: Runtime | undefined;
let service: RunningService | undefined;
let server: GtrTestServer | undefined;
afterEach(async () => {
  const prefix = rt?.config.REVOKER_PREFIX;
  await service?.close(1000);
  await rt?.close();
  await server?.close();
  rt = undefined;
  service = undefined;
  server = undefined;
  if (prefix) {
    const redis = connectRedis();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  }
});

async function startApp(people: GtrTestPerson[]): Promise<GtrTestServer> {
  server = await new GtrTestServer({
    people,
    jwtClients: [{ clientId: 'revoker', kid: 'k1', publicKeyPem: publicPem, alg: 'RS256' }],
    bearerTokens: [{ token: 'crm-bearer-token' }],
  }).start();
  return server;
}

async function runtime(env: Record<string, string>): Promise<Runtime> {
  const full = {
    REDIS_URL,
    REVOKER_PREFIX: randomPrefix('gtrconn'),
    WORKFLOWS_DIR: REPO_WORKFLOWS_DIR,
    IDAAS_PORT: '0',
    ...env,
  };
  rt = await createRuntime(loadConfig(full), { logger: silentLogger, env: full });
  return rt;
}

function apps(app: GtrTestServer): string {
  return JSON.stringify([
    {
      name: 'notes',
      endpoint: app.endpoint,
      auth: { method: 'private_key_jwt', client_id: 'revoker', private_key: privatePem, kid: 'k1' },
      rate_limit: 7,
    },
    {
      name: 'crm_eu',
      issuer: app.issuer,
      auth: { method: 'bearer_token', token: 'crm-bearer-token' },
      subject_format: 'iss_sub',
    },
  ]);
}

describe('GTR_APPS as connections (issue 22)', () => {
  it('IDP=idaas + two apps: each app one more connection, with its own queue and budget key', async () => {
    const app = await startApp([]);
    const r = await runtime({ IDP: 'idaas', GTR_APPS: apps(app) });
    expect(r.connections.all.map((c) => [c.id, c.kind, c.suffix])).toEqual([
      ['idaas', 'idaas', ''],
      ['gtr-notes', 'gtr', '.gtr-notes'],
      ['gtr-crm-eu', 'gtr', '.gtr-crm-eu'],
    ]);
    expect(r.connections.primary.id).toBe('idaas');
    expect(r.queues.all.map((q) => q.name)).toEqual([
      'revocations',
      'revocations.gtr-notes',
      'revocations.gtr-crm-eu',
      'revocations-people',
      'idp-calls',
      'idp-calls.gtr-notes',
      'idp-calls.gtr-crm-eu',
      'dead-letters',
    ]);
    // Each budget its own key, written through it (a pause); the IdP's keeps its single-IdP name.
    for (const c of r.connections.all) await c.budget?.pause(60_000);
    const p = r.config.REVOKER_PREFIX;
    expect((await r.redis.keys(`${p}:*budget*`)).sort()).toEqual([
      `${p}:gtr:crm_eu:idp:budget`,
      `${p}:gtr:notes:idp:budget`,
      `${p}:idp:budget`,
    ]);
  });

  it('a user revocation on a GTR connection runs in its own queue: the app receives the draft request (iss_sub from the embedded IDaaS) and the tokens die there', {
    timeout: 30_000,
  }, async () => {
    const people: GtrTestPerson[] = [{ email: 'bob@example.com', id: 'n-bob', tokens: ['rt-notes'] }];
    const app = await startApp(people);
    const r = await runtime({ IDP: 'idaas', GTR_APPS: apps(app) });
    // alice at the app, known by her subject at the embedded IDaaS (the primary connection).
    const alice = await r.idp.findUserByEmail('alice@example.com');
    people.push({
      email: 'alice@example.com',
      id: 'c-alice',
      iss: r.idaas!.issuer,
      sub: alice!.id,
      tokens: ['rt-crm'],
    });
    service = await startService(r, { role: 'worker' });
    const submit = (connection: string, email: string) =>
      r.intake.submit({
        target: { kind: 'user', userId: email },
        reason: 'offboarding',
        requestedBy: ops,
        source: 'cli',
        connection,
      });
    const crm = await submit('gtr-crm-eu', 'alice@example.com');
    const notes = await submit('gtr-notes', 'bob@example.com');
    const [crmDone, notesDone] = await Promise.all([
      r.intake.waitForOutcome(crm.request.id, 20_000),
      r.intake.waitForOutcome(notes.request.id, 20_000),
    ]);
    // 204: accepted by the app, nobody observed it.
    expect([crmDone.state, notesDone.state]).toEqual(['unverifiable', 'unverifiable']);
    expect(people.map((x) => [x.email, x.tokens])).toEqual([
      ['bob@example.com', []],
      ['alice@example.com', []],
    ]);
    const bodies = app.calls.map((c) => c.body);
    expect(bodies).toContainEqual({ sub_id: { format: 'email', email: 'bob@example.com' } });
    expect(bodies).toContainEqual({
      sub_id: { format: 'iss_sub', iss: r.idaas!.issuer, sub: alice!.id },
    });
    // Each call went through its own connection's queue.
    const done = async (queue: string) =>
      (await r.queues.idpCallsOf(queue).getCompleted()).map((j) => j.data.requestId);
    expect(await done('gtr-crm-eu')).toEqual([crm.request.id]);
    expect(await done('gtr-notes')).toEqual([notes.request.id]);
    expect(await done('idaas')).toEqual([]);
  });

  it('a user revocation naming no connection fans out to the apps too: accepted by one (iss_sub), no account at the other', {
    timeout: 30_000,
  }, async () => {
    const people: GtrTestPerson[] = [{ email: 'bob@example.com', id: 'n-bob', tokens: ['rt-notes'] }];
    const app = await startApp(people);
    const r = await runtime({ IDP: 'idaas', GTR_APPS: apps(app) });
    const alice = await r.idp.findUserByEmail('alice@example.com');
    people.push({
      email: 'x@example.com',
      id: 'c-alice',
      iss: r.idaas!.issuer,
      sub: alice!.id,
      tokens: ['rt'],
    });
    service = await startService(r, { role: 'worker' });
    const { request } = await r.intake.submit({
      target: { kind: 'user', userId: alice!.id },
      reason: 'offboarding',
      requestedBy: ops,
      source: 'cli',
    });
    const done = await r.intake.waitForOutcome(request.id, 20_000);
    expect(done.connections?.map((c) => [c.connection, c.status])).toEqual([
      ['idaas', 'verified'],
      // Both apps are one server here: by email it knows no alice (404), by her IDaaS subject it does.
      ['gtr-notes', 'no_account'],
      ['gtr-crm-eu', 'unverifiable'],
    ]);
    expect(done.state).toBe('unverifiable');
    expect(people[1]!.tokens).toEqual([]);
    expect(people[0]!.tokens).toEqual(['rt-notes']);
  });

  it('refuses at start: an app whose connection id names another connection, and iss_sub with an IdP whose subject Revoker cannot name', async () => {
    const app = await startApp([]);
    const jwt = { method: 'private_key_jwt', client_id: 'revoker', private_key: privatePem, kid: 'k1' };
    const clash = JSON.stringify([
      { name: 'a_b', endpoint: app.endpoint, auth: jwt },
      { name: 'a-b', endpoint: app.endpoint, auth: jwt },
    ]);
    await expect(runtime({ IDP: 'idaas', GTR_APPS: clash })).rejects.toThrow(
      /^GTR_APPS: app "a-b": connection id "gtr-a-b" names another connection$/,
    );
    const issSub = JSON.stringify([
      { name: 'crm', endpoint: app.endpoint, auth: jwt, subject_format: 'iss_sub' },
    ]);
    await expect(
      runtime({
        IDP: 'entra',
        ENTRA_TENANT_ID: 'tenant',
        ENTRA_CLIENT_ID: 'client',
        ENTRA_CLIENT_SECRET: 'secret',
        GTR_APPS: issSub,
      }),
    ).rejects.toThrow(/^GTR_APPS: app "crm": subject_format iss_sub needs .*entra.*pairwise/);
  });
});
