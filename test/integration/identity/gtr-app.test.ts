import { generateKeyPairSync } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  IdpBadResponseError,
  IdpTransientError,
  IdpUnauthorizedError,
  IdpUnsupportedError,
} from '../../../src/identity/errors.ts';
import { createGtrConnections } from '../../../src/identity/gtr/create-gtr-apps.ts';
import { GtrAppIdentityProvider } from '../../../src/identity/gtr/gtr-app-identity-provider.ts';
import { loadGtrApps } from '../../../src/identity/gtr/gtr-apps-config.ts';
import { GtrNoAccountError } from '../../../src/identity/gtr/gtr-no-account-error.ts';
import { connectRedis, deleteKeys, randomPrefix } from '../../helpers/redis.ts';
import { type GtrTestPerson, GtrTestServer } from '../../simulators/gtr-app-server.ts';

// Sending Global Token Revocation (draft-parecki-oauth-global-token-revocation-06) to an app that behaves
// as the draft says (test/simulators/gtr-app-server.ts); its state is the oracle.

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherPrivatePem = other.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

function people(): GtrTestPerson[] {
  return [
    {
      email: 'alice@example.com',
      id: 'app-u-1',
      iss: 'https://idp.example.com',
      sub: 'idp-alice',
      tokens: ['rt1', 'at1'],
    },
    { email: 'bob@example.com', id: 'app-u-2', tokens: ['rt2'] },
  ];
}

let server: GtrTestServer;
let redis: Redis;
const prefixes: string[] = [];

beforeAll(() => {
  redis = connectRedis();
});
afterEach(async () => {
  await server?.close();
  for (const p of prefixes.splice(0)) await deleteKeys(redis, p);
});
afterAll(() => {
  redis.disconnect();
});

function jwtApp(extra: Record<string, unknown> = {}): GtrAppIdentityProvider {
  const [app] = loadGtrApps({
    GTR_APPS: JSON.stringify([
      {
        name: 'notes',
        endpoint: server.endpoint,
        auth: { method: 'private_key_jwt', client_id: 'revoker', private_key: privatePem, kid: 'k1' },
        ...extra,
      },
    ]),
  });
  return new GtrAppIdentityProvider({ app: app! });
}

async function start(o: Partial<ConstructorParameters<typeof GtrTestServer>[0]> = {}): Promise<void> {
  server = await new GtrTestServer({
    people: people(),
    jwtClients: [{ clientId: 'revoker', kid: 'k1', publicKeyPem: publicPem, alg: 'RS256' }],
    ...o,
  }).start();
}

describe('GTR app (sending)', () => {
  it('sends the draft request (POST, application/json, {"sub_id": email}, signed JWT as Bearer) and maps 204 to accepted, unverifiable', async () => {
    await start();
    const app = jwtApp();
    const result = await app.revokeSubject(await app.subjectFor('Alice@Example.com'));
    expect(result).toEqual({
      app: 'notes',
      noAccount: false,
      part: {
        part: 'tokens at notes',
        outcome: 'unverifiable',
        why: expect.stringContaining('accepted by notes, not observable'),
      },
    });
    // The oracle: the app's own state.
    expect(server.stillWorks('alice@example.com')).toEqual([]);
    expect(server.stillWorks('bob@example.com')).toEqual(['rt2']);
    const call = server.calls[0]!;
    expect(call).toMatchObject({ method: 'POST', authScheme: 'Bearer', status: 204 });
    expect(call.contentType).toMatch(/^application\/json/);
    expect(call.body).toEqual({ sub_id: { format: 'email', email: 'alice@example.com' } });
    // RFC 7523 JWT: iss = sub = client id, aud = the endpoint, jti, iat, exp (checked by the server's jwtVerify).
    expect(call.jwtClaims).toMatchObject({ iss: 'revoker', sub: 'revoker', aud: server.endpoint });
    expect(typeof call.jwtClaims?.jti).toBe('string');
    expect(Number(call.jwtClaims?.exp) - Number(call.jwtClaims?.iat)).toBeLessThanOrEqual(300);
  });

  it('signs a new JWT per call (a replayed jti would be refused) and the port revoke/verify say unverifiable', async () => {
    await start();
    const app = jwtApp();
    await app.revoke({ kind: 'user', userId: 'alice@example.com' });
    await app.revoke({ kind: 'user', userId: 'bob@example.com' });
    expect(server.calls.map((c) => c.status)).toEqual([204, 204]);
    expect(server.calls[0]!.jwtClaims?.jti).not.toBe(server.calls[1]!.jwtClaims?.jti);
    const v = await app.verify({ kind: 'user', userId: 'bob@example.com' });
    expect(v).toMatchObject({ ok: true, method: 'none', parts: [{ outcome: 'unverifiable' }] });
    expect(app.capabilities.scopes).toEqual({
      token: false,
      user: true,
      application: false,
      resourceServer: false,
    });
    expect(await app.findUserByEmail('carol@example.com')).toMatchObject({ id: 'carol@example.com' });
  });

  it('404 User Not Found is "no account": a typed result from revokeSubject, GtrNoAccountError from revoke', async () => {
    await start();
    const app = jwtApp();
    const r = await app.revokeSubject({ format: 'email', email: 'nobody@example.com' });
    expect(r).toMatchObject({ noAccount: true, part: { outcome: 'unverifiable' } });
    const err = await app.revoke({ kind: 'user', userId: 'nobody@example.com' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GtrNoAccountError);
    expect(err).toMatchObject({ noAccount: true, code: 'idp_not_found', retryable: false });
  });

  it('422 and 5xx are transient (retried by the worker); the state is unchanged until a 204', async () => {
    await start();
    const app = jwtApp();
    server.failNext(422);
    server.failNext(503);
    for (let i = 0; i < 2; i++) {
      const err = await app.revoke({ kind: 'user', userId: 'alice@example.com' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IdpTransientError);
      expect(err).toMatchObject({ retryable: true });
    }
    expect(server.stillWorks('alice@example.com')).toEqual(['rt1', 'at1']);
    await app.revoke({ kind: 'user', userId: 'alice@example.com' });
    expect(server.stillWorks('alice@example.com')).toEqual([]);
  });

  it('401 (a key the app does not know) and 403 (a client not allowed) are permanent and name the fix', async () => {
    await start({
      jwtClients: [{ clientId: 'revoker', kid: 'k1', publicKeyPem: publicPem, alg: 'RS256', allowed: false }],
    });
    const forbidden = await jwtApp()
      .revoke({ kind: 'user', userId: 'alice@example.com' })
      .catch((e: unknown) => e);
    expect(forbidden).toBeInstanceOf(IdpUnauthorizedError);
    expect((forbidden as Error).message).toMatch(/403.*permission/);
    const [app] = loadGtrApps({
      GTR_APPS: JSON.stringify([
        {
          name: 'notes',
          endpoint: server.endpoint,
          auth: { method: 'private_key_jwt', client_id: 'revoker', private_key: otherPrivatePem, kid: 'k1' },
        },
      ]),
    });
    const bad = await new GtrAppIdentityProvider({ app: app! })
      .revoke({ kind: 'user', userId: 'alice@example.com' })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(IdpUnauthorizedError);
    expect(bad).toMatchObject({ retryable: false });
    expect((bad as Error).message).toMatch(/401.*fix "auth"/);
    expect(server.stillWorks('alice@example.com')).toEqual(['rt1', 'at1']);
  });

  it('400 for a subject format the app does not support is permanent; opaque ids come from the mapping', async () => {
    await start({ formats: ['email'] });
    const app = jwtApp({ subject_format: 'opaque', opaque_ids: { 'alice@example.com': 'app-u-1' } });
    const err = await app.revoke({ kind: 'user', userId: 'alice@example.com' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdpBadResponseError);
    expect((err as Error).message).toMatch(/400.*subject_format/);
    expect(server.calls[0]!.body).toEqual({ sub_id: { format: 'opaque', id: 'app-u-1' } });
    // Nobody mapped: no account, and no call made.
    await expect(app.revoke({ kind: 'user', userId: 'bob@example.com' })).rejects.toBeInstanceOf(
      GtrNoAccountError,
    );
    expect(server.calls).toHaveLength(1);
  });

  it('iss_sub sends the issuer and subject the identity connection gives', async () => {
    await start();
    const [cfg] = loadGtrApps({
      GTR_APPS: JSON.stringify([
        {
          name: 'notes',
          endpoint: server.endpoint,
          subject_format: 'iss_sub',
          auth: { method: 'private_key_jwt', client_id: 'revoker', private_key: privatePem, kid: 'k1' },
        },
      ]),
    });
    const app = new GtrAppIdentityProvider({
      app: cfg!,
      issSubOf: async (email) =>
        email === 'alice@example.com' ? { iss: 'https://idp.example.com', sub: 'idp-alice' } : undefined,
    });
    await app.revoke({ kind: 'user', userId: 'alice@example.com' });
    expect(server.calls[0]!.body).toEqual({
      sub_id: { format: 'iss_sub', iss: 'https://idp.example.com', sub: 'idp-alice' },
    });
    expect(server.stillWorks('alice@example.com')).toEqual([]);
    await expect(app.revoke({ kind: 'user', userId: 'bob@example.com' })).rejects.toBeInstanceOf(
      IdpUnsupportedError,
    );
  });

  it('issuer: the endpoint and token endpoint come from RFC 8414 metadata; client credentials fetched once and cached', async () => {
    await start({ clients: [{ clientId: 'rv', clientSecret: 's3cret' }], authMethods: ['Bearer'] });
    const prefix = randomPrefix('gtr');
    prefixes.push(prefix);
    const [conn] = createGtrConnections(
      loadGtrApps({
        GTR_APPS: JSON.stringify([
          {
            name: 'crm',
            issuer: server.issuer,
            auth: { method: 'client_credentials', client_id: 'rv', client_secret: 's3cret' },
          },
        ]),
      }),
      { redis, prefix },
    );
    await conn!.idp.revoke({ kind: 'user', userId: 'alice@example.com' });
    await conn!.idp.revoke({ kind: 'user', userId: 'bob@example.com' });
    expect(server.calls.map((c) => c.status)).toEqual([204, 204]);
    expect(server.tokenGrants).toBe(1);
    expect(server.stillWorks('bob@example.com')).toEqual([]);
    // The app's own budget, its own Redis key.
    expect(conn!.id).toBe('gtr-crm');
    expect(await redis.exists(`${prefix}:gtr:crm:idp:budget`)).toBe(1);
  });

  it('refuses before calling when the metadata lists only other auth methods', async () => {
    await start({ bearerTokens: [{ token: 'tok-1' }], authMethods: ['private_key_jwt'] });
    const [cfg] = loadGtrApps({
      GTR_APPS: JSON.stringify([
        { name: 'crm', issuer: server.issuer, auth: { method: 'bearer_token', token: 'tok-1' } },
      ]),
    });
    const app = new GtrAppIdentityProvider({ app: cfg! });
    await expect(app.revoke({ kind: 'user', userId: 'alice@example.com' })).rejects.toBeInstanceOf(
      IdpUnsupportedError,
    );
    expect(server.calls).toHaveLength(0);
  });

  it('bearer_token: sent as Authorization: Bearer; a wrong one is 401', async () => {
    await start({ bearerTokens: [{ token: 'tok-1' }] });
    const make = (token: string) =>
      new GtrAppIdentityProvider({
        app: loadGtrApps({
          GTR_APPS: JSON.stringify([
            { name: 'crm', endpoint: server.endpoint, auth: { method: 'bearer_token', token } },
          ]),
        })[0]!,
      });
    await expect(make('nope').revoke({ kind: 'user', userId: 'alice@example.com' })).rejects.toBeInstanceOf(
      IdpUnauthorizedError,
    );
    await make('tok-1').revoke({ kind: 'user', userId: 'alice@example.com' });
    expect(server.stillWorks('alice@example.com')).toEqual([]);
  });
});
