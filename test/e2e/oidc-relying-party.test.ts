import * as oidc from 'openid-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Idaas, startIdaas, tokenRef } from '../../src/idaas/index.ts';
import { OidcBrowser } from '../helpers/oidc-browser.ts';
import { type Authorization, RelyingParty } from '../helpers/relying-party.ts';
import { admin } from '../integration/idaas/fixtures/token-matrix.ts';

/**
 * The embedded IDaaS as an outside relying party sees it, through openid-client 6: discovery,
 * authorization code + PKCE, ID token validation, UserInfo (or the resource server), refresh,
 * introspection and revocation. Each console scope and automatic trigger must end exactly what it says
 * (README "What each revocation ends") and nothing else.
 */
const PASSWORDS: Record<string, string> = { alice: 'alice-password-1', bob: 'bob-password-1' };

interface SignIn {
  user: 'alice' | 'bob';
  app: 'expense-portal' | 'team-wiki';
  rs: { id: string; audience: string; scopes: string[] } | undefined;
  browser: OidcBrowser;
  sub: string;
  accessToken: string;
  refreshToken: string;
}

let idaas: Idaas;
let rps: Record<string, RelyingParty>;
let browsers: Record<string, OidcBrowser>;
const passwords = { ...PASSWORDS };

beforeEach(async () => {
  idaas = await startIdaas();
  rps = {};
  for (const app of idaas.seed.applications) {
    rps[app.client_id] = await RelyingParty.discover(idaas.issuer, {
      clientId: app.client_id,
      clientSecret: app.client_secret!,
      redirectUri: app.redirect_uris[0] ?? 'http://127.0.0.1:1/unused',
    });
  }
  browsers = { alice: new OidcBrowser(), bob: new OidcBrowser() };
  Object.assign(passwords, PASSWORDS);
});
afterEach(() => idaas.close());

function authorization(s: Pick<SignIn, 'rs'>, prompt: Authorization['prompt']): Authorization {
  return s.rs
    ? { resource: s.rs.audience, scope: `openid offline_access ${s.rs.scopes.join(' ')}`, prompt }
    : { scope: 'openid offline_access profile email', prompt };
}

async function signIn(user: SignIn['user'], app: SignIn['app'], rsId?: string): Promise<SignIn> {
  const rs = rsId === undefined ? undefined : idaas.seed.resourceServers.find((r) => r.id === rsId)!;
  const browser = browsers[user]!;
  const out = await rps[app]!.authorize(browser, authorization({ rs }, 'consent'), {
    login: `${user}@example.com`,
    password: passwords[user]!,
  });
  if (!out.ok) throw new Error(`sign-in of ${user} at ${app} failed: ${out.error}`);
  // openid-client validated the ID token (issuer, audience, nonce, expiry) before handing it over.
  const sub = out.tokens.claims()!.sub;
  return {
    user,
    app,
    rs,
    browser,
    sub,
    accessToken: out.tokens.access_token,
    refreshToken: out.tokens.refresh_token!,
  };
}

/** UserInfo (or the resource server), introspection by the app itself, and one refresh. */
async function probe(s: SignIn) {
  const rp = rps[s.app]!;
  const access = s.rs
    ? await rp.resource(s.accessToken, `${idaas.url}/resources/${s.rs.id}/whoami`)
    : await rp.userinfo(s.accessToken, s.sub);
  const introspection = (await rp.introspect(s.accessToken)).active;
  const refresh = await rp.refresh(s.refreshToken);
  if (refresh.tokens) {
    s.accessToken = refresh.tokens.access_token;
    s.refreshToken = refresh.tokens.refresh_token!;
  }
  return { access, introspection, refresh: refresh.result };
}

/** A silent authorization (prompt=none): 'ok' or the error the app receives at its redirect URI. */
async function silent(s: SignIn): Promise<string> {
  const out = await rps[s.app]!.authorize(s.browser, authorization(s, 'none'));
  return out.ok ? 'ok' : out.error;
}

/** A new interactive authorization: did the IDaaS ask for the password, and did the app get tokens? */
async function again(s: SignIn) {
  const out = await rps[s.app]!.authorize(s.browser, authorization(s, 'consent'), {
    // By email: the user id may just have changed.
    login: `${s.user}@example.com`,
    password: passwords[s.user]!,
  });
  if (out.ok) return { askedPassword: out.askedPassword, tokens: true };
  return {
    askedPassword: out.landing?.kind === 'login',
    tokens: false,
    status: out.landing && 'status' in out.landing ? out.landing.status : undefined,
  };
}

const DEAD = { access: 'invalid_token', introspection: false, refresh: 'invalid_grant' };
const ALIVE = { access: 'ok', introspection: true, refresh: 'ok' };

interface Case {
  name: string;
  revoke(): Promise<void>;
  inScope(s: SignIn): boolean;
  /** What a silent authorization in scope gets; an interactive one asks for the password iff login_required. */
  silentInScope: 'login_required' | 'consent_required';
}

const patchAlice = (patch: Record<string, string>) => async () => {
  const r = await admin(idaas, 'PATCH', '/users/alice', patch);
  expect(r.status).toBe(200);
  if (patch.password) passwords.alice = patch.password;
};

const cases: Case[] = [
  {
    name: 'all tokens of a user',
    revoke: async () => expect((await admin(idaas, 'DELETE', '/users/alice/tokens')).status).toBe(200),
    inScope: (s) => s.user === 'alice',
    silentInScope: 'login_required',
  },
  {
    name: 'all tokens of an application',
    revoke: async () =>
      expect((await admin(idaas, 'DELETE', '/applications/team-wiki/tokens')).status).toBe(200),
    inScope: (s) => s.app === 'team-wiki',
    silentInScope: 'login_required',
  },
  {
    name: 'all tokens of a resource server',
    revoke: async () =>
      expect((await admin(idaas, 'DELETE', '/resource-servers/payroll-api/tokens')).status).toBe(200),
    inScope: (s) => s.rs?.id === 'payroll-api',
    silentInScope: 'login_required',
  },
  {
    name: 'disabling the user',
    revoke: patchAlice({ state: 'disabled' }),
    inScope: (s) => s.user === 'alice',
    silentInScope: 'login_required',
  },
  {
    name: 'changing the user id',
    revoke: patchAlice({ userId: 'alice.new' }),
    inScope: (s) => s.user === 'alice',
    silentInScope: 'login_required',
  },
  {
    name: 'changing the password',
    revoke: patchAlice({ password: 'a-brand-new-password' }),
    inScope: (s) => s.user === 'alice',
    silentInScope: 'login_required',
  },
];

describe('openid-client against the embedded IDaaS', () => {
  it.each(cases)(
    '$name: in scope everything stops and the next authorization says so; out of scope all works',
    async (c) => {
      const signIns = [
        await signIn('alice', 'expense-portal'),
        await signIn('alice', 'team-wiki', 'payroll-api'),
        await signIn('bob', 'expense-portal'),
        await signIn('bob', 'team-wiki', 'reports-api'),
      ];
      // Before: everything works, and a silent authorization succeeds on the live session and consent.
      for (const s of signIns) {
        expect(await probe(s)).toEqual(ALIVE);
        expect(await silent(s)).toBe('ok');
      }
      await c.revoke();

      const label = (s: SignIn) => `${s.user}@${s.app}${s.rs ? `/${s.rs.id}` : ''}`;
      for (const s of signIns) {
        const expected = c.inScope(s) ? { ...DEAD, silent: c.silentInScope } : { ...ALIVE, silent: 'ok' };
        expect({ label: label(s), ...(await probe(s)), silent: await silent(s) }).toEqual({
          label: label(s),
          ...expected,
        });
      }
      // Only then sign in again: once per browser when the session ended (the new sign-in starts a new
      // session there), at every app whose consent ended otherwise.
      const again1 = signIns
        .filter(c.inScope)
        .filter(
          (s, i, all) =>
            c.silentInScope !== 'login_required' || all.findIndex((o) => o.user === s.user) === i,
        );
      for (const s of again1) {
        const next = await again(s);
        if (c.silentInScope === 'login_required') {
          // The sign-in session ended: the password is asked again (and a disabled user is refused).
          expect(next.askedPassword, label(s)).toBe(true);
          if (c.name === 'disabling the user') expect(next).toMatchObject({ tokens: false, status: 403 });
          else expect(next.tokens, label(s)).toBe(true);
        } else {
          // Only the consent ended: the session stands, the user consents again without a password.
          expect(next, label(s)).toEqual({ askedPassword: false, tokens: true });
        }
      }
    },
  );

  it('one token: only that access token stops; its refresh token, the session and consent stand', async () => {
    const s = await signIn('alice', 'expense-portal');
    const other = await signIn('alice', 'team-wiki');
    const r = await admin(idaas, 'DELETE', `/users/alice/tokens/${tokenRef(s.accessToken)}`);
    expect(r.status).toBe(200);
    const rp = rps[s.app]!;
    expect(await rp.userinfo(s.accessToken, s.sub)).toBe('invalid_token');
    expect((await rp.introspect(s.accessToken)).active).toBe(false);
    expect((await rp.refresh(s.refreshToken)).result).toBe('ok');
    expect(await silent(s)).toBe('ok');
    expect(await probe(other)).toEqual(ALIVE);
  });

  it('RFC 7009 revocation of a refresh token through openid-client ends refresh and introspection', async () => {
    const s = await signIn('bob', 'expense-portal');
    await rps[s.app]!.revoke(s.refreshToken);
    expect((await rps[s.app]!.refresh(s.refreshToken)).result).toBe('invalid_grant');
    expect((await rps[s.app]!.introspect(s.refreshToken)).active).toBe(false);
  });

  it('serves RFC 8414 metadata at /.well-known/oauth-authorization-server, with the same issuer', async () => {
    const rp = await RelyingParty.discover(
      idaas.issuer,
      {
        clientId: 'expense-portal',
        clientSecret: 'expense-portal-secret-0123456789',
        redirectUri: 'http://127.0.0.1:8080/expense/callback',
      },
      'oauth2',
    );
    expect(rp.config.serverMetadata().issuer).toBe(idaas.issuer);
    expect(rp.config.serverMetadata().revocation_endpoint).toBe(`${idaas.issuer}/token/revocation`);
    const s = await signIn('alice', 'expense-portal');
    expect((await rp.introspect(s.accessToken)).active).toBe(true);
  });

  it('the seeded revoker client introspects every app’s tokens and mints nothing (issue 19 item 8)', async () => {
    const s = await signIn('alice', 'expense-portal');
    const revoker = rps.revoker!;
    // No client_credentials grant: not for no resource, not for an API with its write scope.
    const attempts: Record<string, string>[] = [
      {},
      { resource: 'https://payroll.example.com/api', scope: 'payroll:write payroll:read' },
    ];
    for (const params of attempts) {
      const refused = await oidc.clientCredentialsGrant(revoker.config, params).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(oidc.ResponseBodyError);
      // oidc-provider names a grant type the client is not registered for `invalid_request`.
      expect(['unauthorized_client', 'invalid_request']).toContain((refused as oidc.ResponseBodyError).error);
    }
    const seen = await revoker.introspect(s.accessToken);
    expect(seen).toMatchObject({ active: true, sub: s.sub, client_id: 'expense-portal' });
    // RFC 7662 §4: another application learns nothing about a token that is not its own.
    expect(await rps['team-wiki']!.introspect(s.accessToken)).toEqual({ active: false });
    expect((await rps['expense-portal']!.introspect(s.accessToken)).active).toBe(true);
  });

  it('the resource server answers a request without credentials with no error code (RFC 6750 §3.1)', async () => {
    const res = await fetch(`${idaas.url}/resources/payroll-api/whoami`);
    await res.arrayBuffer();
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer realm=/);
    expect(challenge).not.toMatch(/error=/);
    const bad = await fetch(`${idaas.url}/resources/payroll-api/whoami`, {
      headers: { authorization: 'Bearer nope' },
    });
    await bad.arrayBuffer();
    expect(bad.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
  });

  it('a refresh token shared by two resource servers survives revoking one, narrowed to the other', async () => {
    const [payroll, reports] = ['payroll-api', 'reports-api'].map(
      (id) => idaas.seed.resourceServers.find((r) => r.id === id)!,
    );
    const rp = rps['team-wiki']!;
    const out = await rp.authorize(
      browsers.alice!,
      {
        resource: [payroll!.audience, reports!.audience],
        exchangeResource: payroll!.audience,
        scope: 'openid offline_access payroll:read reports:read',
      },
      { login: 'alice@example.com', password: PASSWORDS.alice! },
    );
    if (!out.ok) throw new Error(out.error);
    const payrollToken = out.tokens.access_token;
    const forReports = await rp.refresh(out.tokens.refresh_token!, { resource: reports!.audience });
    expect(forReports.result).toBe('ok');
    const refreshToken = forReports.tokens!.refresh_token!;
    const reportsToken = forReports.tokens!.access_token;
    const whoami = (id: string, token: string) => rp.resource(token, `${idaas.url}/resources/${id}/whoami`);
    expect([await whoami('payroll-api', payrollToken), await whoami('reports-api', reportsToken)]).toEqual([
      'ok',
      'ok',
    ]);

    expect((await admin(idaas, 'DELETE', '/resource-servers/payroll-api/tokens')).status).toBe(200);

    // The rule (README): the payroll token dies; the shared refresh token loses payroll only.
    expect(await whoami('payroll-api', payrollToken)).toBe('invalid_token');
    expect(await whoami('reports-api', reportsToken)).toBe('ok');
    const again = await rp.refresh(refreshToken, { resource: reports!.audience });
    expect(again.result).toBe('ok');
    expect(await whoami('reports-api', again.tokens!.access_token)).toBe('ok');
    // A refresh for the revoked resource is refused and rotates nothing: the token still serves reports.
    const rotated = again.tokens!.refresh_token!;
    expect((await rp.refresh(rotated, { resource: payroll!.audience })).result).toBe('invalid_target');
    expect((await rp.refresh(rotated, { resource: reports!.audience })).result).toBe('ok');
  });
});

/**
 * README "What each revocation ends", read with two browsers per user, a second app per user, and a
 * relying party that behaves as RFC 6749 lets it: after a refused refresh it received no new refresh
 * token, so it keeps the one it holds and retries (RFC 6749 §6, §5.2). What must die, and what must keep
 * working (issue 19 items 5–7).
 */
describe('two browsers, a second app, an RFC 6749 relying party (issue 19)', () => {
  const audienceOf = (id: string) => idaas.seed.resourceServers.find((r) => r.id === id)!.audience;
  const credentialsOf = (user: 'alice' | 'bob') => ({
    login: `${user}@example.com`,
    password: PASSWORDS[user]!,
  });
  async function authorize(
    browser: OidcBrowser,
    app: SignIn['app'],
    a: Authorization,
    credentials?: { login: string; password: string },
  ) {
    const out = await rps[app]!.authorize(browser, a, credentials);
    return out.ok
      ? { result: 'ok', askedPassword: out.askedPassword, tokens: out.tokens }
      : { result: out.error };
  }
  const oidcOnly: Authorization = { scope: 'openid offline_access profile email' };

  it('application revocation: a password sign-in in one browser lifts the mark for that browser only; the other app keeps working', async () => {
    const [b1, b2] = [new OidcBrowser(), new OidcBrowser()];
    const alice = credentialsOf('alice');
    expect((await authorize(b1, 'team-wiki', { ...oidcOnly, prompt: 'consent' }, alice)).result).toBe('ok');
    expect((await authorize(b2, 'team-wiki', { ...oidcOnly, prompt: 'consent' }, alice)).result).toBe('ok');
    const other = await authorize(b2, 'expense-portal', { ...oidcOnly, prompt: 'consent' }, alice);
    expect(other.result).toBe('ok');
    expect((await admin(idaas, 'DELETE', '/applications/team-wiki/tokens')).status).toBe(200);

    // Browser 1 signs in again at team-wiki (password asked): its session is newer than the mark.
    const again1 = await authorize(b1, 'team-wiki', { ...oidcOnly, prompt: 'consent' }, alice);
    expect(again1).toMatchObject({ result: 'ok', askedPassword: true });
    expect((await authorize(b1, 'team-wiki', { ...oidcOnly, prompt: 'none' })).result).toBe('ok');
    // Browser 2's session began before the mark: team-wiki still needs its password, not a consent click.
    expect((await authorize(b2, 'team-wiki', { ...oidcOnly, prompt: 'none' })).result).toBe('login_required');
    // Out of scope: the second app works silently, and its tokens live.
    expect((await authorize(b2, 'expense-portal', { ...oidcOnly, prompt: 'none' })).result).toBe('ok');
    const sub = other.tokens!.claims()!.sub;
    expect(await rps['expense-portal']!.userinfo(other.tokens!.access_token, sub)).toBe('ok');
    expect((await rps['expense-portal']!.refresh(other.tokens!.refresh_token!)).result).toBe('ok');
  });

  it('API revocation: the grant keeps its non-API consent; the API needs a password in every session begun before the mark', async () => {
    const [b1, b2] = [new OidcBrowser(), new OidcBrowser()];
    const bob = credentialsOf('bob');
    const payroll = { resource: audienceOf('payroll-api'), scope: 'openid offline_access payroll:read' };
    const reports = { resource: audienceOf('reports-api'), scope: 'openid offline_access reports:read' };
    // Browser 1: team-wiki with only the payroll API; browser 2: team-wiki with reports.
    const p1 = await authorize(b1, 'team-wiki', { ...payroll, prompt: 'consent' }, bob);
    expect(p1.result).toBe('ok');
    const r2 = await authorize(b2, 'team-wiki', { ...reports, prompt: 'consent' }, bob);
    expect(r2.result).toBe('ok');
    expect((await admin(idaas, 'DELETE', '/resource-servers/payroll-api/tokens')).status).toBe(200);

    // What must die: the payroll token and refresh token.
    const whoami = (id: string, token: string) =>
      rps['team-wiki']!.resource(token, `${idaas.url}/resources/${id}/whoami`);
    expect(await whoami('payroll-api', p1.tokens!.access_token)).toBe('invalid_token');
    expect((await rps['team-wiki']!.refresh(p1.tokens!.refresh_token!)).result).toBe('invalid_grant');
    // What keeps working: openid alone at team-wiki in browser 1, silently (consent kept), and reports.
    expect((await authorize(b1, 'team-wiki', { scope: 'openid', prompt: 'none' })).result).toBe('ok');
    expect((await authorize(b2, 'team-wiki', { ...reports, prompt: 'none' })).result).toBe('ok');
    expect(await whoami('reports-api', r2.tokens!.access_token)).toBe('ok');

    // The API again: a password in browser 2 lifts the mark there only.
    expect((await authorize(b1, 'team-wiki', { ...payroll, prompt: 'none' })).result).toBe('login_required');
    const back = await authorize(b2, 'team-wiki', { ...payroll, prompt: 'consent' }, bob);
    expect(back).toMatchObject({ result: 'ok', askedPassword: true });
    expect((await authorize(b2, 'team-wiki', { ...payroll, prompt: 'none' })).result).toBe('ok');
    expect((await authorize(b1, 'team-wiki', { ...payroll, prompt: 'none' })).result).toBe('login_required');
  });

  it('a refused refresh for the revoked API consumes nothing: the RP retries with the token it holds', async () => {
    const rp = rps['team-wiki']!;
    const [payroll, reports] = [audienceOf('payroll-api'), audienceOf('reports-api')];
    const out = await authorize(
      new OidcBrowser(),
      'team-wiki',
      {
        resource: [payroll, reports],
        exchangeResource: payroll,
        scope: 'openid offline_access payroll:read reports:read',
      },
      credentialsOf('alice'),
    );
    expect(out.result).toBe('ok');
    const forReports = await rp.refresh(out.tokens!.refresh_token!, { resource: reports });
    expect(forReports.result).toBe('ok');
    const held = forReports.tokens!.refresh_token!;
    const reportsToken = forReports.tokens!.access_token;
    expect((await admin(idaas, 'DELETE', '/resource-servers/payroll-api/tokens')).status).toBe(200);

    // RFC 6749 §5.2: refused, no new refresh token; the RP keeps `held` and retries for the other API.
    expect((await rp.refresh(held, { resource: payroll })).result).toBe('invalid_target');
    const retry = await rp.refresh(held, { resource: reports });
    expect(retry.result).toBe('ok');
    // No reuse detection fired: the reports token from before the revocation still works, and so does
    // the rotated refresh token.
    const whoami = (token: string) => rp.resource(token, `${idaas.url}/resources/reports-api/whoami`);
    expect(await whoami(reportsToken)).toBe('ok');
    expect(await whoami(retry.tokens!.access_token)).toBe('ok');
    expect((await rp.refresh(retry.tokens!.refresh_token!, { resource: reports })).result).toBe('ok');
  });
});
