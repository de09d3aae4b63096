import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { importPKCS8, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Idaas, loadDemoTenant, parseSeed, startIdaas } from '../../../src/idaas/index.ts';
import { GtrAppIdentityProvider } from '../../../src/identity/gtr/gtr-app-identity-provider.ts';
import { loadGtrApps } from '../../../src/identity/gtr/gtr-apps-config.ts';
import { OidcBrowser } from '../../helpers/oidc-browser.ts';
import { RelyingParty } from '../../helpers/relying-party.ts';

/**
 * The embedded IDaaS receiving Global Token Revocation (draft-parecki-oauth-global-token-revocation-06):
 * tokens obtained through its real authorization-code flow by an independent relying party
 * (openid-client), checked afterwards by introspection, UserInfo, refresh and a silent authorization.
 * The caller is Revoker's own GTR sender (private-key JWT, endpoint from the RFC 8414 metadata).
 */

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    jwk: { ...publicKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' },
  };
}
const allowed = keyPair();
const notAllowed = keyPair();
const stranger = keyPair();

let idaas: Idaas;
let endpoint: string;
const PASSWORDS: Record<string, string> = {
  alice: 'alice-password-1',
  bob: 'bob-password-1',
  carol: 'carol-password-1',
};

beforeAll(async () => {
  const demo = loadDemoTenant();
  idaas = await startIdaas({
    seed: parseSeed({
      ...demo,
      applications: [
        ...demo.applications,
        {
          client_id: 'security-tool',
          name: 'Security tool',
          client_secret: 'security-tool-secret-0123456789',
          grant_types: ['client_credentials'],
          global_token_revocation: true,
          jwks: { keys: [allowed.jwk] },
        },
        {
          client_id: 'nosy-app',
          name: 'Nosy app',
          client_secret: 'nosy-app-secret-0123456789abcdef',
          grant_types: ['client_credentials'],
          jwks: { keys: [notAllowed.jwk] },
        },
      ],
    }),
  });
  endpoint = `${idaas.issuer}/global-token-revocation`;
});
afterAll(async () => {
  await idaas?.close();
});

async function signIn(user: string, app: 'expense-portal' | 'team-wiki') {
  const seedApp = idaas.seed.applications.find((a) => a.client_id === app)!;
  const rp = await RelyingParty.discover(idaas.issuer, {
    clientId: app,
    clientSecret: seedApp.client_secret!,
    redirectUri: seedApp.redirect_uris[0]!,
  });
  const browser = new OidcBrowser();
  const scope = { scope: 'openid offline_access profile email' };
  const out = await rp.authorize(
    browser,
    { ...scope, prompt: 'consent' },
    { login: `${user}@example.com`, password: PASSWORDS[user]! },
  );
  if (!out.ok) throw new Error(`sign-in failed: ${out.error}`);
  const s = {
    rp,
    browser,
    sub: out.tokens.claims()!.sub,
    accessToken: out.tokens.access_token,
    refreshToken: out.tokens.refresh_token!,
  };
  return {
    ...s,
    /** UserInfo, introspection, one refresh: what the app sees. */
    async probe() {
      const userinfo = await rp.userinfo(s.accessToken, s.sub);
      const active = (await rp.introspect(s.accessToken)).active;
      const refreshAnswer = await rp.refresh(s.refreshToken);
      if (refreshAnswer.tokens) {
        s.accessToken = refreshAnswer.tokens.access_token;
        s.refreshToken = refreshAnswer.tokens.refresh_token!;
      }
      return { userinfo, active, refresh: refreshAnswer.result };
    },
    /** A silent authorization (prompt=none): 'ok' or the error at the redirect URI. */
    async silent() {
      const r = await rp.authorize(browser, { ...scope, prompt: 'none' });
      return r.ok ? 'ok' : r.error;
    },
  };
}

const ALIVE = { userinfo: 'ok', active: true, refresh: 'ok' };
const DEAD = { userinfo: 'invalid_token', active: false, refresh: 'invalid_grant' };

async function jwtFor(
  pem: string,
  kid: string,
  clientId: string,
  claims: { aud?: string; jti?: string } = {},
) {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', kid })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(claims.aud ?? endpoint)
    .setJti(claims.jti ?? randomUUID())
    .setIssuedAt()
    .setExpirationTime('60s')
    .sign(await importPKCS8(pem, 'RS256'));
}

async function post(body: unknown, bearer?: string, contentType = 'application/json') {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': contentType, ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return res.status;
}

describe('embedded IDaaS: Global Token Revocation endpoint', () => {
  it('is advertised in both discovery documents with its auth methods (draft §5)', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      const meta = (await (await fetch(`${idaas.issuer}${path}`)).json()) as Record<string, unknown>;
      expect(meta.global_token_revocation_endpoint, path).toBe(endpoint);
      expect(meta.global_token_revocation_endpoint_auth_methods_supported, path).toEqual([
        'private_key_jwt',
        'Bearer',
      ]);
    }
  });

  it("a seeded client's private-key JWT (Revoker's sender): 204, all the user's tokens dead, the next sign-in asks for the password", async () => {
    const alice = await signIn('alice', 'expense-portal');
    const aliceWiki = await signIn('alice', 'team-wiki');
    const bob = await signIn('bob', 'expense-portal');
    expect(await alice.probe()).toEqual(ALIVE);
    expect(await alice.silent()).toBe('ok');
    const sender = new GtrAppIdentityProvider({
      app: loadGtrApps({
        GTR_APPS: JSON.stringify([
          {
            name: 'idaas',
            issuer: idaas.issuer,
            auth: {
              method: 'private_key_jwt',
              client_id: 'security-tool',
              private_key: allowed.pem,
              kid: allowed.jwk.kid,
            },
          },
        ]),
      })[0]!,
    });
    const result = await sender.revokeSubject({ format: 'email', email: 'alice@example.com' });
    expect(result.noAccount).toBe(false);
    expect(await alice.probe()).toEqual(DEAD);
    expect(await aliceWiki.probe()).toEqual(DEAD);
    // §3.3 "MUST re-authenticate the user before issuing new … tokens": a silent authorization cannot.
    expect(await alice.silent()).toBe('login_required');
    expect(await bob.probe()).toEqual(ALIVE);
    expect(await bob.silent()).toBe('ok');
    // 404 for a person the IDaaS does not know: "no account" for the sender.
    expect(await sender.revokeSubject({ format: 'email', email: 'nobody@example.com' })).toMatchObject({
      noAccount: true,
    });
  });

  it("the operator's admin token, by opaque id or iss_sub", async () => {
    const bob = await signIn('bob', 'team-wiki');
    const carol = await signIn('carol', 'team-wiki');
    expect(await post({ sub_id: { format: 'opaque', id: bob.sub } }, idaas.adminToken)).toBe(204);
    expect(await bob.probe()).toEqual(DEAD);
    expect(await carol.probe()).toEqual(ALIVE);
    expect(
      await post({ sub_id: { format: 'iss_sub', iss: idaas.issuer, sub: carol.sub } }, idaas.adminToken),
    ).toBe(204);
    expect(await carol.probe()).toEqual(DEAD);
    expect(await carol.silent()).toBe('login_required');
  });

  it('401 without or with bad credentials, 403 for a client not allowed, 400 malformed or unsupported, 404 unknown', async () => {
    const carol = await signIn('carol', 'expense-portal');
    const body = { sub_id: { format: 'email', email: 'carol@example.com' } };
    expect(await post(body)).toBe(401);
    expect(await post(body, 'not-the-admin-token')).toBe(401);
    expect(await post(body, await jwtFor(stranger.pem, allowed.jwk.kid, 'security-tool'))).toBe(401);
    expect(
      await post(body, await jwtFor(allowed.pem, allowed.jwk.kid, 'security-tool', { aud: idaas.issuer })),
    ).toBe(401);
    const once = await jwtFor(allowed.pem, allowed.jwk.kid, 'security-tool');
    expect(await post({ sub_id: { format: 'email', email: 'nobody@example.com' } }, once)).toBe(404);
    // The same JWT again is a replay (one jti, one call).
    expect(await post(body, once)).toBe(401);
    expect(await post(body, await jwtFor(notAllowed.pem, notAllowed.jwk.kid, 'nosy-app'))).toBe(403);
    const admin = idaas.adminToken;
    expect(await post({ sub_id: { format: 'phone_number', phone_number: '+12065550100' } }, admin)).toBe(400);
    expect(await post({ sub_id: { format: 'email' } }, admin)).toBe(400);
    expect(await post({ subject: { format: 'email', email: 'carol@example.com' } }, admin)).toBe(400);
    expect(await post('{oops', admin)).toBe(400);
    expect(await post(JSON.stringify(body), admin, 'text/plain')).toBe(400);
    expect(
      await post({ sub_id: { format: 'iss_sub', iss: 'https://other.example.com', sub: carol.sub } }, admin),
    ).toBe(404);
    expect(await carol.probe()).toEqual(ALIVE);
  });
});
