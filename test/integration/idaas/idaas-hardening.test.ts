import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Refusal } from '../../../src/audit/refusal-log.ts';
import { ADMIN_PREFIX } from '../../../src/idaas/admin-contract.ts';
import { issueTokens } from '../../../src/idaas/authorization-code-flow.ts';
import { CookieJar } from '../../../src/idaas/cookie-jar.ts';
import { type Idaas, loadDemoTenant, parseSeed, startIdaas, tokenRef } from '../../../src/idaas/index.ts';
import { basicAuth } from '../../../src/idaas/oidc-discovery.ts';
import { loadOrCreateKeys } from '../../../src/idaas/provider/keys.ts';
import { RedisStore } from '../../../src/idaas/store/redis-store.ts';
import { connectRedis, deleteKeys, randomPrefix } from '../../helpers/redis.ts';

/**
 * The embedded IDaaS against issue 19 items 8, 10 and 11: client credentials mint only what the seed
 * names; password sign-in is throttled per address and per account (in Redis, refusals recorded); with
 * the Redis store no token value is in any key or value and the signing keys are encrypted; the login
 * and consent pages cannot be framed.
 */
const redis = connectRedis();
const prefix = randomPrefix('idaas-hardening');
const refusals: Refusal[] = [];
const KEYS_SECRET = randomBytes(32).toString('base64url');
let idaas: Idaas;

const demo = loadDemoTenant();
const WIKI = demo.applications.find((a) => a.client_id === 'team-wiki')!;

beforeAll(async () => {
  idaas = await startIdaas({
    seed: parseSeed({
      ...demo,
      applications: [
        ...demo.applications,
        {
          client_id: 'payroll-sync',
          name: 'Payroll sync job',
          client_secret: 'payroll-sync-secret-0123456789',
          redirect_uris: [],
          grant_types: ['client_credentials'],
          client_credentials_resources: { 'payroll-api': ['payroll:read'] },
        },
      ],
    }),
    store: { redis, prefix },
    keysSecret: KEYS_SECRET,
    signInThrottle: {
      redis,
      prefix,
      refusals: { record: (r) => refusals.push(r) },
      maxFailures: 3,
    },
  });
});

afterAll(async () => {
  await idaas?.close();
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

/** Opens an authorization at team-wiki and lands on the login page: its URL, headers and the cookies. */
async function loginPage(): Promise<{ action: string; headers: Headers; cookie: string }> {
  const jar = new CookieJar();
  const auth = new URL(`${idaas.issuer}/auth`);
  auth.search = new URLSearchParams({
    client_id: WIKI.client_id,
    response_type: 'code',
    redirect_uri: WIKI.redirect_uris[0]!,
    scope: 'openid',
    state: 'state-1',
    code_challenge: createHash('sha256')
      .update('verifier-0123456789-0123456789-0123456789')
      .digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  let url = auth.href;
  for (let hop = 0; hop < 5; hop++) {
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } });
    jar.store(res);
    if (res.status >= 300 && res.status < 400) {
      await res.arrayBuffer();
      url = new URL(res.headers.get('location')!, url).href;
      continue;
    }
    const html = await res.text();
    const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
    return { action: new URL(action!, url).href, headers: res.headers, cookie: jar.header() };
  }
  throw new Error('no login page');
}

/** POSTs the login form from a given local address (127.0.0.0/8 is all loopback on Linux). */
function postLogin(
  page: { action: string; cookie: string },
  login: string,
  password: string,
  localAddress: string,
): Promise<number> {
  const body = new URLSearchParams({ login, password }).toString();
  return new Promise((resolve, reject) => {
    const req = request(
      page.action,
      {
        method: 'POST',
        localAddress,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          cookie: page.cookie,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('login and consent pages (issue 19 item 11)', () => {
  it('deny framing: CSP frame-ancestors none and X-Frame-Options', async () => {
    const page = await loginPage();
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
  });
});

describe('sign-in throttle, per address and per account (issue 19 item 10)', () => {
  it('locks an address and an account after repeated failures, the right password included, and records it', async () => {
    const page = await loginPage();
    const [A, B, C] = ['127.0.0.21', '127.0.0.22', '127.0.0.23'];
    for (let i = 0; i < 3; i++) expect(await postLogin(page, 'bob', `wrong-${i}`, A!)).toBe(401);
    // Locked: the right password does not help, from this address or another.
    expect(await postLogin(page, 'bob', 'bob-password-1', A!)).toBe(429);
    expect(await postLogin(page, 'BOB', 'bob-password-1', B!)).toBe(429);
    // The address is locked for every account; another address still signs another account in.
    expect(await postLogin(page, 'alice', 'alice-password-1', A!)).toBe(429);
    expect(await postLogin(page, 'alice', 'alice-password-1', C!)).toBe(303);
    expect(refusals.filter((r) => r.action === 'idaas.login_rejected').map((r) => r.reason)).toEqual([
      'wrong_credentials',
      'wrong_credentials',
      'wrong_credentials',
      'locked_out',
      'locked_out',
      'locked_out',
    ]);
    // Counted in Redis, keyed by hashes (no login or address in a key name).
    const keys = await redis.keys(`${prefix}:signin-*`);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    expect(keys.join(' ')).not.toMatch(/bob|127\.0\.0/);
  });
});

describe('client credentials (issue 19 item 8)', () => {
  async function clientCredentials(form: Record<string, string>) {
    const res = await fetch(`${idaas.issuer}/token`, {
      method: 'POST',
      headers: {
        authorization: basicAuth('payroll-sync', 'payroll-sync-secret-0123456789'),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', ...form }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  }

  it('mint only what the seed names, per client, per resource, per scope', async () => {
    const read = await clientCredentials({
      resource: 'https://payroll.example.com/api',
      scope: 'payroll:read payroll:write',
    });
    expect(read.status).toBe(200);
    expect(read.body.scope).toBe('payroll:read');
    const reports = await clientCredentials({
      resource: 'https://reports.example.com/api',
      scope: 'reports:read',
    });
    expect(reports).toMatchObject({ status: 400, body: { error: 'invalid_target' } });
  });
});

describe('client-credentials tokens in application and API revocation (issue 19 item 9)', () => {
  async function admin(method: string, path: string): Promise<Record<string, unknown>> {
    const res = await fetch(`${idaas.adminUrl}${ADMIN_PREFIX}${path}`, {
      method,
      headers: { authorization: `Bearer ${idaas.adminToken}` },
    });
    expect(res.status, path).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  }
  async function mintCc(): Promise<string> {
    const res = await fetch(`${idaas.issuer}/token`, {
      method: 'POST',
      headers: {
        authorization: basicAuth('payroll-sync', 'payroll-sync-secret-0123456789'),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        resource: 'https://payroll.example.com/api',
        scope: 'payroll:read',
      }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { access_token: string }).access_token;
  }
  /** The server's own answer (RFC 7662), asked by the token's client. */
  async function active(token: string): Promise<boolean> {
    const res = await fetch(`${idaas.issuer}/token/introspection`, {
      method: 'POST',
      headers: {
        authorization: basicAuth('payroll-sync', 'payroll-sync-secret-0123456789'),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token }),
    });
    return ((await res.json()) as { active: boolean }).active;
  }

  it('lists them for the application and the API, and both revocations end them', async () => {
    const first = await mintCc();
    const ref = tokenRef(first);
    const byApp = (await admin('GET', '/applications/payroll-sync/tokens')).tokens as { id: string }[];
    const byApi = (await admin('GET', '/resource-servers/payroll-api/tokens')).tokens as { id: string }[];
    expect(byApp.map((t) => t.id)).toContain(ref);
    expect(byApi.find((t) => t.id === ref)).toMatchObject({ grantType: 'client_credentials', userId: '' });
    expect(await active(first)).toBe(true);
    const revoked = (await admin('DELETE', '/resource-servers/payroll-api/tokens')).revoked as {
      id: string;
    }[];
    expect(revoked.map((r) => r.id)).toContain(ref);
    expect(await active(first)).toBe(false);

    const second = await mintCc();
    expect(await active(second)).toBe(true);
    await admin('DELETE', '/applications/payroll-sync/tokens');
    expect(await active(second)).toBe(false);
    // A new one can still be obtained: client credentials need no sign-in.
    expect(await active(await mintCc())).toBe(true);
  });
});

describe('the Redis store (issue 19 item 11)', () => {
  it('holds no token value in any key or value, and the signing keys only encrypted', async () => {
    const issued = await issueTokens({
      issuerUrl: idaas.url,
      clientId: WIKI.client_id,
      clientSecret: WIKI.client_secret!,
      redirectUri: WIKI.redirect_uris[0]!,
      user: 'dave',
      password: 'dave-password-1',
    });
    const [minted] = await idaas.mintTokens({
      user: 'carol',
      application: 'expense-portal',
      resourceServer: 'payroll-api',
    });
    const values = [issued.access_token, issued.refresh_token!, minted!.access_token, minted!.refresh_token!];
    const stored: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      for (const key of keys) {
        const type = await redis.type(key);
        const value =
          type === 'string'
            ? await redis.get(key)
            : type === 'hash'
              ? JSON.stringify(await redis.hgetall(key))
              : type === 'set'
                ? JSON.stringify(await redis.smembers(key))
                : type === 'zset'
                  ? JSON.stringify(await redis.zrange(key, '0', '-1'))
                  : '';
        stored.push(key, value ?? '');
      }
    } while (cursor !== '0');
    const all = stored.join('\n');
    expect(all).toMatch(/AccessToken/); // the scan saw the tokens' entries
    for (const v of values) expect(all.includes(v), 'a token value is in Redis').toBe(false);
    // The private signing key: no RSA private member in clear anywhere.
    expect(all).not.toMatch(/"d":"|"p":"|"q":"/);
    // The tokens still work (the store finds them by their hashed ids).
    const userinfo = await fetch(`${idaas.issuer}/me`, {
      headers: { authorization: `Bearer ${issued.access_token}` },
    });
    expect(userinfo.status).toBe(200);
    await userinfo.arrayBuffer();
  });
});

describe('signing keys at rest (issue 19 item 11)', () => {
  it('keys kept in clear are sealed under IDAAS_KEYS_SECRET, the same keys; a wrong secret opens nothing', async () => {
    const keysPrefix = randomPrefix('idaas-keys');
    const store = new RedisStore({ redis, prefix: keysPrefix });
    try {
      const clear = await loadOrCreateKeys(store);
      expect(await redis.get(`${keysPrefix}:meta:jwks`)).toContain('"d":');
      const sealed = await loadOrCreateKeys(store, KEYS_SECRET);
      expect(sealed).toEqual(clear);
      expect(await redis.get(`${keysPrefix}:meta:jwks`)).toBeNull();
      expect(await redis.get(`${keysPrefix}:meta:jwks.sealed`)).not.toContain('"d":');
      expect(await loadOrCreateKeys(store, KEYS_SECRET)).toEqual(clear);
      await expect(loadOrCreateKeys(store, `${KEYS_SECRET}-other`)).rejects.toThrow(/IDAAS_KEYS_SECRET/);
    } finally {
      await deleteKeys(redis, keysPrefix);
    }
  });
});
