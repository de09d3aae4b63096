import { afterEach, describe, expect, it } from 'vitest';
import { AuthorizationFlowError, issueTokens } from '../../../src/idaas/authorization-code-flow.ts';
import { startIdaas } from '../../../src/idaas/index.ts';
import { MemoryStore } from '../../../src/idaas/store/memory-store.ts';
import { RedisStore } from '../../../src/idaas/store/redis-store.ts';
import { type TokenStore, tokenRef } from '../../../src/idaas/store/token-store.ts';
import { connectRedis, deleteKeys, randomPrefix } from '../../helpers/redis.ts';

const resolve = (aud: string) => (aud === 'https://api.example' ? 'api' : undefined);

describe.each(['memory', 'redis'] as const)('token store contract (%s)', (kind) => {
  let store: TokenStore;
  let cleanup: () => Promise<void> = async () => {};
  afterEach(() => cleanup());

  function open(): TokenStore {
    if (kind === 'memory') return new MemoryStore({ resolveResourceServer: resolve });
    const redis = connectRedis();
    const prefix = randomPrefix('idaas-store');
    cleanup = async () => {
      await deleteKeys(redis, prefix);
      redis.disconnect();
    };
    return new RedisStore({ redis, prefix, resolveResourceServer: resolve });
  }

  it('upserts, finds by id/uid, consumes, destroys and honours TTLs', async () => {
    store = open();
    await store.upsert('Session', 's1', { uid: 'u1', accountId: 'usr_1' }, 60);
    expect(await store.findByUid('Session', 'u1')).toMatchObject({ accountId: 'usr_1' });
    await store.upsert('AuthorizationCode', 'c1', { grantId: 'g1' }, 1);
    await store.consume('AuthorizationCode', 'c1');
    expect((await store.find('AuthorizationCode', 'c1'))?.consumed).toBeTypeOf('number');
    await store.destroy('Session', 's1');
    expect(await store.findByUid('Session', 'u1')).toBeUndefined();
    await expect
      .poll(() => store.find('AuthorizationCode', 'c1'), { timeout: 3000, interval: 100 })
      .toBeUndefined();
  });

  it('ends every sign-in session of an account, and only that account’s', async () => {
    store = open();
    await store.upsert('Session', 's1', { uid: 'u1', accountId: 'usr_1' }, 60);
    await store.upsert('Session', 's2', { uid: 'u2', accountId: 'usr_1' }, 60);
    await store.upsert('Session', 's3', { uid: 'u3', accountId: 'usr_2' }, 60);
    await store.upsert('Session', 's4', { uid: 'u4' }, 60);
    expect(await store.destroySessions('usr_1')).toBe(2);
    expect(await store.find('Session', 's1')).toBeUndefined();
    expect(await store.find('Session', 's2')).toBeUndefined();
    expect(await store.find('Session', 's3')).toMatchObject({ accountId: 'usr_2' });
    expect(await store.find('Session', 's4')).toBeDefined();
    expect(await store.destroySessions('usr_1')).toBe(0);
  });

  it('indexes tokens by user, application and resource server; revokes by grant', async () => {
    store = open();
    const now = Math.floor(Date.now() / 1000);
    const base = { accountId: 'usr_1', clientId: 'app', grantId: 'g1', iat: now, exp: now + 60 };
    await store.upsert(
      'Grant',
      'g1',
      { accountId: 'usr_1', clientId: 'app', resources: { 'https://api.example': 'r' } },
      60,
    );
    await store.upsert('AccessToken', 'at1', { ...base, aud: 'https://api.example', scope: 'r' }, 60);
    await store.upsert(
      'RefreshToken',
      'rt1',
      { ...base, resource: 'https://api.example', scope: 'openid r' },
      60,
    );
    await store.upsert(
      'AccessToken',
      'at2',
      { ...base, accountId: 'usr_2', grantId: 'g2', scope: 'openid' },
      60,
    );

    const rs = await store.listTokens({ kind: 'resourceServer', value: 'api' });
    expect(rs.map((t) => t.ref).sort()).toEqual([tokenRef('at1'), tokenRef('rt1')].sort());
    expect((await store.listTokens({ kind: 'user', value: 'usr_2' })).map((t) => t.ref)).toEqual([
      tokenRef('at2'),
    ]);
    expect(await store.listTokens({ kind: 'application', value: 'app' })).toHaveLength(3);
    expect((await store.listGrants({ kind: 'resourceServer', value: 'api' })).map((g) => g.grantId)).toEqual([
      'g1',
    ]);

    // A consumed (rotated) refresh token leaves the listing.
    await store.consume('RefreshToken', 'rt1');
    expect((await store.listTokens({ kind: 'user', value: 'usr_1' })).map((t) => t.ref)).toEqual([
      tokenRef('at1'),
    ]);

    await store.revokeByGrantId('AccessToken', 'g1');
    expect(await store.find('AccessToken', 'at1')).toBeUndefined();
    expect(await store.tokenByRef(tokenRef('at1'))).toBeUndefined();
    expect(await store.listTokens({ kind: 'resourceServer', value: 'api' })).toEqual([]);
    expect(await store.find('AccessToken', 'at2')).toBeDefined();
  });
});

describe('login page', () => {
  it('refuses disabled users and wrong passwords with a clear error', async () => {
    const idaas = await startIdaas();
    try {
      const app = idaas.seed.applications[0]!;
      const base = {
        issuerUrl: idaas.url,
        clientId: app.client_id,
        clientSecret: app.client_secret!,
        redirectUri: app.redirect_uris[0]!,
      };
      await expect(issueTokens({ ...base, user: 'erin', password: 'erin-password-1' })).rejects.toThrow(
        /disabled/,
      );
      await expect(issueTokens({ ...base, user: 'alice', password: 'wrong-password' })).rejects.toThrow(
        AuthorizationFlowError,
      );
      const ok = await issueTokens({ ...base, user: 'ALICE@example.com', password: 'alice-password-1' });
      const me = await fetch(`${idaas.url}/me`, { headers: { authorization: `Bearer ${ok.access_token}` } });
      expect(((await me.json()) as { sub: string }).sub).toMatch(/^usr_/);
    } finally {
      await idaas.close();
    }
  });
});
