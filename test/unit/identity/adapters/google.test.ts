import { generateKeyPairSync, verify } from 'node:crypto';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GOOGLE_SCOPES, GoogleIdentityProvider } from '../../../../src/identity/adapters/google.ts';
import {
  IdpRateLimitedError,
  IdpTransientError,
  IdpUnsupportedError,
} from '../../../../src/identity/errors.ts';
import type { IdpBudget } from '../../../../src/identity/idp-budget.ts';
import { withIdpCall } from '../../../../src/identity/idp-call-context.ts';
import { guardContract, type VendorContract } from '../../../helpers/vendor-contract.ts';
import { GoogleSimulator, SCOPE_READONLY, SCOPE_SECURITY } from '../../../simulators/google.ts';

const ADMIN = 'https://admin.google.test';
const DIR = `${ADMIN}/admin/directory/v1`;
const TOKEN_URL = 'https://oauth2.google.test/token';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const serviceAccount = JSON.stringify({
  type: 'service_account',
  client_email: 'revoker@proj.iam.gserviceaccount.com',
  private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  token_uri: TOKEN_URL,
});

/**
 * The Directory API operations the adapter uses, from the Admin SDK Directory API discovery document
 * (admin.googleapis.com/$discovery/rest?version=directory_v1) and its reference pages. Paging: `pageToken` /
 * `nextPageToken`, `maxResults` ≤ 500. Rate limits ("Limits and quotas",
 * developers.google.com/workspace/admin/directory/v1/limits): 403 `userRateLimitExceeded` /
 * `rateLimitExceeded` / `quotaExceeded` or 429, all "retry with exponential backoff".
 */
const REF = 'https://developers.google.com/workspace/admin/directory/reference/rest/v1';
const RL = '403 userRateLimitExceeded|rateLimitExceeded|quotaExceeded, 429';
const USER_RO = 'https://www.googleapis.com/auth/admin.directory.user.readonly';
const SECURITY = 'https://www.googleapis.com/auth/admin.directory.user.security';
const GOOGLE: VendorContract = {
  [DIR]: [
    {
      method: 'GET',
      path: '/users',
      query: [
        'customer',
        'domain',
        'query',
        'maxResults',
        'pageToken',
        'orderBy',
        'sortOrder',
        'projection',
        'viewType',
        'showDeleted',
        'customFieldMask',
        'event',
      ],
      permission: USER_RO,
      pagination: 'pageToken/nextPageToken, maxResults ≤ 500',
      rateLimit: RL,
      source: `${REF}/users/list`,
    },
    {
      method: 'GET',
      path: '/users/{userKey}',
      query: ['projection', 'viewType', 'customFieldMask'],
      permission: USER_RO,
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/users/get`,
    },
    {
      method: 'GET',
      path: '/users/{userKey}/tokens',
      permission: SECURITY,
      pagination: 'none (one entry per client)',
      rateLimit: RL,
      source: `${REF}/tokens/list`,
    },
    {
      method: 'GET',
      path: '/users/{userKey}/tokens/{clientId}',
      permission: SECURITY,
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/tokens/get`,
    },
    {
      method: 'DELETE',
      path: '/users/{userKey}/tokens/{clientId}',
      permission: SECURITY,
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/tokens/delete`,
    },
    {
      method: 'POST',
      path: '/users/{userKey}/signOut',
      permission: SECURITY,
      pagination: 'none (request body must be empty)',
      rateLimit: RL,
      source: `${REF}/users/signOut`,
    },
    {
      method: 'GET',
      path: '/users/{userKey}/asps',
      permission: SECURITY,
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/asps/list`,
    },
    {
      method: 'DELETE',
      path: '/users/{userKey}/asps/{codeId}',
      permission: SECURITY,
      pagination: 'none (codeId: integer)',
      rateLimit: RL,
      source: `${REF}/asps/delete`,
    },
  ],
  // Domain-wide delegation token (JWT bearer): developers.google.com/identity/protocols/oauth2/service-account
  [TOKEN_URL]: [
    {
      method: 'POST',
      path: '/',
      permission: 'client id authorised for the scopes in the Admin console',
      pagination: 'none',
      rateLimit: '429',
      source: 'https://developers.google.com/identity/protocols/oauth2/service-account#authorizingrequests',
    },
  ],
};

const server = setupServer();
const calls: string[] = [];
let assertions: string[] = [];
const contract = guardContract(server, GOOGLE);
beforeAll(() => {
  server.listen({ onUnhandledFrame: 'error' });
  server.events.on('request:start', ({ request }) => {
    const u = new URL(request.url);
    if (u.origin !== ADMIN) return;
    if (request.headers.get('authorization') !== 'Bearer ya29.test') calls.push('MISSING BEARER');
    calls.push(`${request.method} ${u.pathname.replace('/admin/directory/v1', '')}${u.search}`);
  });
});
beforeEach(() => {
  assertions = [];
  server.use(
    http.post(TOKEN_URL, async ({ request }) => {
      const body = new URLSearchParams(await request.text());
      expect(body.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
      assertions.push(body.get('assertion')!);
      return HttpResponse.json({ access_token: 'ya29.test', expires_in: 3599, token_type: 'Bearer' });
    }),
  );
});
afterEach(() => {
  expect(contract.violations.splice(0), 'requests Google does not document').toEqual([]);
  server.resetHandlers();
  calls.length = 0;
});
afterAll(() => server.close());

const make = () =>
  new GoogleIdentityProvider({
    serviceAccount,
    subject: 'admin@acme.test',
    adminUrl: ADMIN,
    tokenUrl: TOKEN_URL,
  });

// Directory API `tokens.list` answer.
const tokenList = (...clientIds: string[]) => ({
  kind: 'admin#directory#tokenList',
  etag: '"e"',
  items: clientIds.map((clientId) => ({
    kind: 'admin#directory#token',
    etag: '"t"',
    clientId,
    displayText: `App ${clientId}`,
    anonymous: false,
    nativeApp: false,
    userKey: '1001',
    scopes: ['https://www.googleapis.com/auth/userinfo.email'],
  })),
});

/** Google's 403 error envelope for a usage limit ("Standard errors" of the Directory API). */
const usageLimit403 = (reason: string, message: string) =>
  HttpResponse.json(
    { error: { code: 403, message, errors: [{ domain: 'usageLimits', reason, message }] } },
    { status: 403 },
  );

describe('GoogleIdentityProvider', () => {
  it('declares no resource-server scope, with a reason', () => {
    const idp = make();
    expect(idp.capabilities.scopes).toEqual({
      token: true,
      user: true,
      application: true,
      resourceServer: false,
    });
    expect(idp.capabilities.unsupportedReasons.resourceServer).toMatch(
      /^Google Workspace cannot revoke tokens by API/,
    );
  });

  it('authenticates through google-auth-library: an RS256 JWT-bearer assertion for domain-wide delegation', async () => {
    const idp = make();
    server.use(http.delete(`${DIR}/users/:u/tokens/:c`, () => new HttpResponse(null, { status: 204 })));
    await idp.revoke({
      kind: 'token',
      userId: 'alice@acme.test',
      tokenId: 'client-1.apps.googleusercontent.com',
    });
    expect(assertions).toHaveLength(1);
    const [h, p, s] = assertions[0]!.split('.');
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toMatchObject({ alg: 'RS256' });
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    expect(claims).toMatchObject({
      iss: 'revoker@proj.iam.gserviceaccount.com',
      sub: 'admin@acme.test',
      // Google requires its own token URL as audience, wherever the request is sent.
      aud: 'https://oauth2.googleapis.com/token',
      scope: GOOGLE_SCOPES.join(' '),
    });
    expect(claims.exp - claims.iat).toBe(3600);
    expect(verify('RSA-SHA256', Buffer.from(`${h}.${p}`), publicKey, Buffer.from(s!, 'base64url'))).toBe(
      true,
    );
    expect(calls).toEqual(['DELETE /users/alice%40acme.test/tokens/client-1.apps.googleusercontent.com']);
  });

  it('plans a user as one bulk step: every app token, every app password, then users.signOut', async () => {
    const idp = make();
    server.use(
      http.get(`${DIR}/users/1001/tokens`, () => HttpResponse.json(tokenList('c1', 'c2'))),
      http.delete(`${DIR}/users/1001/tokens/:c`, () => new HttpResponse(null, { status: 204 })),
      http.get(`${DIR}/users/1001/asps`, () =>
        HttpResponse.json({
          kind: 'admin#directory#asps',
          items: [{ kind: 'admin#directory#asp', codeId: 7, name: 'Mail', creationTime: '1700000000000' }],
        }),
      ),
      http.delete(`${DIR}/users/1001/asps/:codeId`, () => new HttpResponse(null, { status: 204 })),
      http.post(`${DIR}/users/1001/signOut`, () => new HttpResponse(null, { status: 204 })),
    );
    const plan = await idp.plan({ kind: 'user', userId: '1001' });
    expect(plan.steps).toEqual([{ kind: 'user', userId: '1001' }]);
    expect(plan.tokens).toEqual([
      { id: 'c1', userId: '1001' },
      { id: 'c2', userId: '1001' },
      { id: 'asp:7', userId: '1001' },
    ]);
    expect(plan.sweep).toBeUndefined();
    calls.length = 0;
    expect((await idp.revoke({ kind: 'user', userId: '1001' })).revoked).toHaveLength(3);
    expect(calls).toEqual([
      'GET /users/1001/tokens',
      'DELETE /users/1001/tokens/c1',
      'DELETE /users/1001/tokens/c2',
      'GET /users/1001/asps',
      'DELETE /users/1001/asps/7',
      'POST /users/1001/signOut',
    ]);
  });

  it('point 14: plans an application only for the users holding its token, and verifies by the same look-up', async () => {
    const idp = make();
    const holders = new Set(['1001']);
    server.use(
      http.get(`${DIR}/users`, ({ request }) => {
        const pageToken = new URL(request.url).searchParams.get('pageToken');
        return pageToken
          ? HttpResponse.json({ users: [{ id: '1002', primaryEmail: 'bob@acme.test' }] })
          : HttpResponse.json({
              users: [{ id: '1001', primaryEmail: 'alice@acme.test' }],
              nextPageToken: 'p2',
            });
      }),
      http.get(`${DIR}/users/:u/tokens/app-1`, ({ params }) =>
        holders.has(String(params.u))
          ? HttpResponse.json(tokenList('app-1').items[0])
          : HttpResponse.json(
              { error: { code: 404, message: 'Resource Not Found: clientId', errors: [] } },
              { status: 404 },
            ),
      ),
      http.delete(`${DIR}/users/:u/tokens/app-1`, ({ params }) => {
        holders.delete(String(params.u));
        return new HttpResponse(null, { status: 204 });
      }),
    );
    const plan = await idp.plan({ kind: 'application', applicationId: 'app-1' });
    // Bob never authorised app-1: no step, so no delete and no token.revoked for him.
    expect(plan.steps).toEqual([{ kind: 'token', userId: '1001', tokenId: 'app-1' }]);
    expect(plan).toMatchObject({ userCount: 1, tokenCount: 1, tokens: [{ id: 'app-1', userId: '1001' }] });
    expect(plan.sweep).toBeUndefined();
    expect(calls).toEqual([
      'GET /users?customer=my_customer&maxResults=500',
      'GET /users?customer=my_customer&maxResults=500&pageToken=p2',
      'GET /users/1001/tokens/app-1',
      'GET /users/1002/tokens/app-1',
    ]);
    // Point 15: verification re-checks every user instead of answering ok without looking.
    expect(await idp.verify({ kind: 'application', applicationId: 'app-1' })).toMatchObject({
      ok: false,
      remaining: [{ id: 'app-1', userId: '1001' }],
      method: 'list',
    });
    expect(await idp.revoke(plan.steps[0]!)).toEqual({ revoked: [{ id: 'app-1', userId: '1001' }] });
    expect(await idp.verify({ kind: 'application', applicationId: 'app-1' })).toMatchObject({
      ok: true,
      remaining: [],
      method: 'list',
    });
  });

  it('point 4: a 403 quotaExceeded is retried with backoff, not a permanent permission error', async () => {
    const idp = make();
    server.use(http.get(`${DIR}/users/:u/tokens`, () => usageLimit403('quotaExceeded', 'Quota exceeded')));
    const err = await idp.listUserTokens('1001').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdpTransientError);
    expect((err as IdpTransientError).retryable).toBe(true);
    expect((err as Error).message).toContain('quotaExceeded');
  });

  it('searches users; refuses resource servers', async () => {
    const idp = make();
    server.use(
      http.get(`${DIR}/users`, () =>
        HttpResponse.json({
          users: [
            { id: '1001', primaryEmail: 'alice@acme.test', name: { fullName: 'Alice A' }, suspended: false },
          ],
        }),
      ),
    );
    expect(await idp.searchUsers('alice', 5)).toEqual([
      {
        id: '1001',
        userName: 'alice@acme.test',
        email: 'alice@acme.test',
        displayName: 'Alice A',
        active: true,
      },
    ]);
    expect(calls).toEqual(['GET /users?customer=my_customer&query=alice&maxResults=5']);
    await expect(idp.plan({ kind: 'resourceServer', resourceServerId: 'x' })).rejects.toBeInstanceOf(
      IdpUnsupportedError,
    );
  });

  it('maps 403 userRateLimitExceeded to rate-limited', async () => {
    const idp = make();
    server.use(
      http.get(`${DIR}/users/:u/tokens`, () =>
        usageLimit403('userRateLimitExceeded', 'User Rate Limit Exceeded'),
      ),
    );
    const err = await idp.listUserTokens('1001').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdpRateLimitedError);
    // The first of Google's exponential backoff: 1 s plus up to 1 s at random.
    expect((err as IdpRateLimitedError).retryAfterMs).toBeGreaterThanOrEqual(1000);
    expect((err as IdpRateLimitedError).retryAfterMs).toBeLessThan(2000);
  });
});

/**
 * Issue 18, against the stateful Google simulator: the oracle is `sim.stillWorks` (what Google would still
 * honour), never the adapter's own verify.
 */
describe('GoogleIdentityProvider against the Google simulator', () => {
  const sim = new GoogleSimulator({ adminUrl: ADMIN, tokenUrl: TOKEN_URL });
  type Extra = Partial<ConstructorParameters<typeof GoogleIdentityProvider>[0]>;
  const adapter = (extra: Extra = {}) => new GoogleIdentityProvider({ ...sim.adapterOptions(), ...extra });
  let targets: ReturnType<GoogleSimulator['seedScenario']>;
  beforeEach(() => {
    sim.reset();
    targets = sim.seedScenario();
    server.use(...sim.handlers);
  });
  const user = () => targets.user!;
  const run = async (idp: GoogleIdentityProvider, target: Parameters<GoogleIdentityProvider['plan']>[0]) => {
    const plan = await idp.plan(target);
    for (const step of plan.steps) await idp.revoke(step);
    if (plan.sweep) await idp.revoke(plan.sweep);
    return plan;
  };

  it('item 2: the user plan deletes tokens and app passwords and signs out; sessions are named unverifiable', async () => {
    const idp = adapter();
    const since = new Date();
    expect(sim.stillWorks(user())).toEqual([
      'oauth_token mail-client.apps.googleusercontent.com (user 100000000000000000002)',
      'oauth_token crm-client.apps.googleusercontent.com (user 100000000000000000002)',
      expect.stringMatching(/^app_password \d+ "Thunderbird"/),
      expect.stringMatching(/^session .* Chrome on laptop/),
      expect.stringMatching(/^session .* Android phone/),
    ]);
    const plan = await run(idp, user());
    expect(plan.tokens.map((t) => t.id)).toEqual([
      'mail-client.apps.googleusercontent.com',
      'crm-client.apps.googleusercontent.com',
      expect.stringMatching(/^asp:\d+$/),
    ]);
    expect(sim.stillWorks(user(), { before: since })).toEqual([]);
    // Bob is untouched.
    expect(sim.stillWorks({ kind: 'user', userId: '100000000000000000003' })).toHaveLength(2);
    const v = await idp.verify(user(), { since });
    expect(v.ok).toBe(true);
    expect(v.parts).toEqual([
      { part: expect.stringMatching(/^OAuth tokens/), outcome: 'verified', method: 'list' },
      { part: 'app passwords (ASPs) created before the revocation', outcome: 'verified', method: 'list' },
      {
        part: 'web and device sessions',
        outcome: 'unverifiable',
        why: expect.stringMatching(/users\.signOut/),
      },
    ]);
  });

  it('item 2: an app password that survives is a failed part, not "verified"', async () => {
    const idp = adapter();
    const since = new Date();
    // asps.delete keeps failing (503 each time): the ASP still works and verify shows it.
    for (let i = 0; i < 3; i++) sim.failOnce({ method: 'DELETE', url: /\/asps\/\d+$/ }, '503');
    await expect(idp.revoke(user())).rejects.toBeInstanceOf(IdpTransientError);
    expect(sim.stillWorks(user(), { before: since })).toContainEqual(expect.stringMatching(/^app_password/));
    const v = await idp.verify(user(), { since });
    expect(v.ok).toBe(false);
    expect(v.parts?.find((p) => p.part.startsWith('app passwords'))).toMatchObject({ outcome: 'failed' });
  });

  it('item 3: a 401 (token revoked early) is followed by a fresh assertion, and the adapter keeps working', async () => {
    const idp = adapter();
    expect(await idp.listUserTokens(user().userId)).toHaveLength(2);
    sim.invalidateAccessTokens();
    expect(await idp.listUserTokens(user().userId)).toHaveLength(2);
    sim.invalidateAccessTokens();
    expect((await idp.getUser(user().userId)).email).toBe('alice@acme.test');
    expect(sim.calls.filter((c) => c.status === 401)).toHaveLength(2);
    expect(sim.assertions).toHaveLength(3);
  });

  it('item 12: rate-limit 403s without Retry-After back off exponentially, as Google documents', async () => {
    const idp = adapter({ backoff: { random: () => 0 } });
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      // Google's 403 userRateLimitExceeded and its 429: neither names a wait.
      if (i % 2 === 0) sim.rateLimitOnce({ method: 'GET', url: /\/tokens$/ });
      else sim.failOnce({ method: 'GET', url: /\/tokens$/ }, '429');
      const err = await idp.listUserTokens(user().userId).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IdpRateLimitedError);
      waits.push((err as IdpRateLimitedError).retryAfterMs);
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000]);
    // A success resets the count.
    await idp.listUserTokens(user().userId);
    sim.failOnce({ method: 'GET', url: /\/tokens$/ }, '429');
    const err = await idp.listUserTokens(user().userId).catch((e: unknown) => e);
    expect((err as IdpRateLimitedError).retryAfterMs).toBe(1000);
  });

  it('item 12: token fetches take a permit from the shared budget', async () => {
    let permits = 0;
    const budget = { acquire: async () => void permits++ } as unknown as IdpBudget;
    const idp = adapter();
    await withIdpCall({ budget }, () => idp.listUserTokens(user().userId));
    expect(sim.calls.map((c) => c.url)).toEqual(['/', '/users/100000000000000000002/tokens']);
    expect(permits).toBe(sim.calls.length);
  });

  it('item 14: probes each delegated scope and its write call without revoking, naming the one withheld', async () => {
    const before = sim.snapshot();
    const all = await adapter().probePermissions();
    expect(all.map((p) => [p.scope, p.ok])).toEqual([
      ['lookup', true],
      ['user', true],
      ['token', true],
      ['application', true],
    ]);
    sim.withhold(SCOPE_SECURITY);
    const probes = await adapter().probePermissions();
    expect(probes.filter((p) => p.ok).map((p) => p.permission)).toEqual([SCOPE_READONLY]);
    expect(new Set(probes.filter((p) => !p.ok).map((p) => p.permission))).toEqual(new Set([SCOPE_SECURITY]));
    expect(probes.find((p) => p.scope === 'user')?.detail).toContain(SCOPE_SECURITY);
    expect(sim.snapshot()).toEqual(before);
  });

  it('item 15: an app password created after the revocation started is outside it', async () => {
    const idp = adapter();
    const since = new Date();
    await run(idp, user());
    sim.addAsp(user().userId, 'New phone', Date.now() + 1000);
    expect(sim.stillWorks(user())).toContainEqual(expect.stringMatching(/"New phone"/));
    expect(sim.stillWorks(user(), { before: since })).toEqual([]);
    expect((await idp.verify(user(), { since })).ok).toBe(true);
  });

  it('a timeout after Google deleted the app password: the retry ends as the no-fault run', async () => {
    const since = new Date();
    sim.failOnce({ method: 'DELETE', url: /\/asps\/\d+$/ }, 'timeout-after-commit');
    const idp = adapter({ timeoutMs: 300 });
    await expect(idp.revoke(user())).rejects.toBeInstanceOf(IdpTransientError);
    await idp.revoke(user());
    const faulted = sim.snapshot();
    sim.reset();
    sim.seedScenario();
    await run(adapter(), user());
    expect(faulted).toEqual(sim.snapshot());
    expect(sim.stillWorks(user(), { before: since })).toEqual([]);
  });

  it('a token request that never answers is bounded by the call timeout', async () => {
    const idp = adapter({ timeoutMs: 300 });
    sim.failOnce({ method: 'POST', url: /^\/$/ }, 'timeout-after-commit');
    const started = Date.now();
    // google-auth-library may retry the timed-out token request itself: either way the call ends promptly
    // (the simulator would hold the answer for a minute).
    const first = await idp.listUserTokens(user().userId).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5000);
    if (first instanceof Error) expect(first).toBeInstanceOf(IdpTransientError);
    expect(await idp.listUserTokens(user().userId)).toHaveLength(2);
  });

  it('item 16: the simulator refuses what Google refuses', async () => {
    const idp = adapter();
    // tokens.delete for a client the user never authorised: 404, nothing revoked, nothing claimed.
    expect(
      await idp.revoke({ kind: 'token', userId: user().userId, tokenId: 'never.apps.googleusercontent.com' }),
    ).toEqual({
      revoked: [],
    });
    expect(sim.calls.at(-1)).toMatchObject({ method: 'DELETE', status: 404 });
    // A token of another service account (not issued here) is a 401.
    const res = await fetch(`${DIR}/users/${user().userId}/tokens`, {
      headers: { Authorization: 'Bearer ya29.other' },
    });
    expect(res.status).toBe(401);
    // maxResults above 500 is refused.
    sim.calls.length = 0;
    await expect(idp.searchUsers('a', 501)).rejects.toThrow(/400/);
  });
});
