import { generateKeyPairSync } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, exportJWK, jwtVerify } from 'jose';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OKTA_SCOPES, OktaIdentityProvider } from '../../../../src/identity/adapters/okta.ts';
import { IdpNotFoundError, IdpRateLimitedError } from '../../../../src/identity/errors.ts';
import { guardContract, undocumented } from '../../../helpers/vendor-contract.ts';
import { oktaContract } from '../../../simulators/okta-contract.ts';

const ORG = 'https://acme.okta.test';
const OKTA = oktaContract(ORG);

const server = setupServer();
const calls: string[] = [];
const auths = new Set<string | null>();
const contract = guardContract(server, OKTA);
beforeAll(() => {
  server.listen({ onUnhandledFrame: 'error' });
  server.events.on('request:start', ({ request }) => {
    const u = new URL(request.url);
    calls.push(`${request.method} ${u.pathname}${u.search}`);
    auths.add(request.headers.get('authorization'));
  });
});
afterEach(() => {
  const violations = contract.violations.splice(0);
  expect(violations, 'requests Okta does not document').toEqual([]);
  if (calls.length > 0 && !calls[0]!.startsWith('POST /oauth2')) {
    expect([...auths]).toEqual(['SSWS okta-api-token']);
  }
  server.resetHandlers();
  calls.length = 0;
  auths.clear();
});
afterAll(() => server.close());

const idp = new OktaIdentityProvider({ orgUrl: ORG, apiToken: 'okta-api-token' });

// Shapes from Okta's Management API reference (Users, User OAuth 2.0, Application Tokens).
const oktaUser = {
  id: '00u1',
  status: 'ACTIVE',
  created: '2023-01-01T00:00:00.000Z',
  profile: { login: 'alice@acme.com', email: 'alice@acme.com', firstName: 'Alice', lastName: 'Liddell' },
  _links: {},
};
const refreshToken = (id: string, clientId: string, userId = '00u1') => ({
  id,
  status: 'ACTIVE',
  created: '2023-03-09T03:18:06.000Z',
  lastUpdated: '2023-03-09T03:18:06.000Z',
  expiresAt: '2023-03-16T03:18:06.000Z',
  issuer: `${ORG}/oauth2/ausain6z9zIedDCxB0h7`,
  clientId,
  userId,
  scopes: ['offline_access', 'car:drive'],
  _links: {},
});

describe('OktaIdentityProvider', () => {
  it('declares all four scopes with listing and search', () => {
    expect(idp.capabilities.scopes).toEqual({
      token: true,
      user: true,
      application: true,
      resourceServer: true,
    });
    expect(idp.capabilities.listTokens).toBe(true);
    expect(idp.capabilities.search).toBe(true);
  });

  it('searches users, apps and authorization servers, and finds a user by email', async () => {
    server.use(
      http.get(`${ORG}/api/v1/users`, () => HttpResponse.json([oktaUser])),
      http.get(`${ORG}/api/v1/apps`, () =>
        HttpResponse.json([{ id: '0oa1', name: 'oidc_client', label: 'Payroll', status: 'ACTIVE' }]),
      ),
      http.get(`${ORG}/api/v1/authorizationServers`, () =>
        HttpResponse.json([{ id: 'aus1', name: 'Cars API', audiences: ['api://cars'], status: 'ACTIVE' }]),
      ),
    );
    expect(await idp.searchUsers('ali', 5)).toEqual([
      {
        id: '00u1',
        userName: 'alice@acme.com',
        email: 'alice@acme.com',
        displayName: 'Alice Liddell',
        active: true,
      },
    ]);
    expect(await idp.searchApplications('pay')).toEqual([{ id: '0oa1', name: 'Payroll' }]);
    expect(await idp.searchResourceServers('car')).toEqual([
      { id: 'aus1', name: 'Cars API', audience: 'api://cars' },
    ]);
    expect((await idp.findUserByEmail('alice@acme.com'))?.id).toBe('00u1');
    expect(calls).toEqual([
      'GET /api/v1/users?q=ali&limit=5',
      'GET /api/v1/apps?q=pay&limit=20',
      'GET /api/v1/authorizationServers?q=car&limit=20',
      `GET /api/v1/users?search=${encodeURIComponent('profile.email eq "alice@acme.com"').replace(/%20/g, '+')}&limit=200`,
    ]);
  });

  it('plans a user as the one sessions call, its clients’ refresh tokens as the record', async () => {
    server.use(
      http.get(`${ORG}/api/v1/users/00u1/clients`, () =>
        HttpResponse.json([
          { client_id: '0oaA', client_name: 'A' },
          { client_id: '0oaB', client_name: 'B' },
        ]),
      ),
      http.get(`${ORG}/api/v1/users/00u1/clients/:c/tokens`, ({ params }) =>
        HttpResponse.json([refreshToken(`oar-${String(params.c)}`, String(params.c))]),
      ),
    );
    const plan = await idp.plan({ kind: 'user', userId: '00u1' });
    expect(plan.steps).toEqual([{ kind: 'user', userId: '00u1' }]);
    expect(plan.sweep).toBeUndefined();
    expect(plan.tokens).toEqual([
      { id: '0oaA:oar-0oaA', userId: '00u1' },
      { id: '0oaB:oar-0oaB', userId: '00u1' },
    ]);
    expect(plan.tokenCount).toBe(2);
    expect(calls).toEqual([
      'GET /api/v1/users/00u1/clients',
      'GET /api/v1/users/00u1/clients/0oaA/tokens?limit=200',
      'GET /api/v1/users/00u1/clients/0oaB/tokens?limit=200',
    ]);
  });

  it('plans an application following Link: rel="next" pagination', async () => {
    server.use(
      http.get(`${ORG}/api/v1/apps/0oaA/tokens`, ({ request }) => {
        const after = new URL(request.url).searchParams.get('after');
        if (!after) {
          return HttpResponse.json([refreshToken('t1', '0oaA', '00u1')], {
            headers: { Link: `<${ORG}/api/v1/apps/0oaA/tokens?after=t1&limit=200>; rel="next"` },
          });
        }
        return HttpResponse.json([refreshToken('t2', '0oaA', '00u2')]);
      }),
    );
    const plan = await idp.plan({ kind: 'application', applicationId: '0oaA' });
    expect(plan.tokens).toEqual([
      { id: '0oaA:t1', userId: '00u1' },
      { id: '0oaA:t2', userId: '00u2' },
    ]);
    expect(plan.userCount).toBe(2);
    expect(plan.steps).toEqual([{ kind: 'application', applicationId: '0oaA' }]);
    expect(plan.sweep).toBeUndefined();
  });

  it('revokes each scope with the documented calls', async () => {
    const noContent = () => new HttpResponse(null, { status: 204 });
    server.use(
      http.delete(`${ORG}/api/v1/users/00u1/clients/0oaA/tokens/oar1`, noContent),
      http.delete(`${ORG}/api/v1/users/00u1/sessions`, noContent),
      http.delete(`${ORG}/api/v1/apps/0oaA/tokens`, noContent),
      http.get(`${ORG}/api/v1/authorizationServers/aus1/clients`, () =>
        HttpResponse.json([{ client_id: '0oaA' }, { client_id: '0oaB' }]),
      ),
      http.delete(`${ORG}/api/v1/authorizationServers/aus1/clients/:c/tokens`, noContent),
    );
    expect(await idp.revoke({ kind: 'token', userId: '00u1', tokenId: '0oaA:oar1' })).toEqual({
      revoked: [{ id: '0oaA:oar1', userId: '00u1' }],
    });
    await idp.revoke({ kind: 'user', userId: '00u1' });
    await idp.revoke({ kind: 'application', applicationId: '0oaA' });
    await idp.revoke({ kind: 'resourceServer', resourceServerId: 'aus1' });
    expect(calls).toEqual([
      'DELETE /api/v1/users/00u1/clients/0oaA/tokens/oar1',
      'DELETE /api/v1/users/00u1/sessions?oauthTokens=true&forgetDevices=false',
      'DELETE /api/v1/apps/0oaA/tokens',
      'GET /api/v1/authorizationServers/aus1/clients',
      'DELETE /api/v1/authorizationServers/aus1/clients/0oaA/tokens',
      'DELETE /api/v1/authorizationServers/aus1/clients/0oaB/tokens',
    ]);
  });

  it('treats a token already gone as revoked, an unknown user as not found', async () => {
    const e404 = () =>
      HttpResponse.json(
        { errorCode: 'E0000007', errorSummary: 'Not found: Resource not found' },
        { status: 404 },
      );
    server.use(
      http.delete(`${ORG}/api/v1/users/:u/clients/:c/tokens/:t`, e404),
      http.get(`${ORG}/api/v1/users/00u1`, () => HttpResponse.json(oktaUser)),
      http.get(`${ORG}/api/v1/users/nobody`, e404),
    );
    expect(await idp.revoke({ kind: 'token', userId: '00u1', tokenId: '0oaA:oar1' })).toEqual({
      revoked: [],
    });
    await expect(
      idp.revoke({ kind: 'token', userId: 'nobody', tokenId: '0oaA:oar1' }),
    ).rejects.toBeInstanceOf(IdpNotFoundError);
  });

  it('verifies a token by reading it back', async () => {
    server.use(
      http.get(`${ORG}/api/v1/users/00u1/clients/0oaA/tokens/oar1`, () =>
        HttpResponse.json({ ...refreshToken('oar1', '0oaA'), status: 'REVOKED' }),
      ),
    );
    expect(await idp.verify({ kind: 'token', userId: '00u1', tokenId: '0oaA:oar1' })).toMatchObject({
      ok: true,
      remaining: [],
      method: 'list',
    });
  });

  it('maps a 429 E0000047 with X-Rate-Limit-Reset to rate-limited', async () => {
    const reset = Math.floor(Date.now() / 1000) + 30;
    server.use(
      http.delete(`${ORG}/api/v1/apps/0oaA/tokens`, () =>
        HttpResponse.json(
          { errorCode: 'E0000047', errorSummary: 'API call exceeded rate limit due to too many requests.' },
          {
            status: 429,
            headers: {
              'X-Rate-Limit-Limit': '100',
              'X-Rate-Limit-Remaining': '0',
              'X-Rate-Limit-Reset': `${reset}`,
            },
          },
        ),
      ),
    );
    const err = await idp.revoke({ kind: 'application', applicationId: '0oaA' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdpRateLimitedError);
    const ms = (err as IdpRateLimitedError).retryAfterMs;
    expect(ms).toBeGreaterThan(28_000);
    expect(ms).toBeLessThanOrEqual(30_000);
  });

  it('point 12: revoking a user sends forgetDevices=false, so remembered MFA devices stay', async () => {
    let query: URLSearchParams | undefined;
    server.use(
      http.delete(`${ORG}/api/v1/users/00u1/sessions`, ({ request }) => {
        query = new URL(request.url).searchParams;
        return new HttpResponse(null, { status: 204 });
      }),
    );
    await idp.revoke({ kind: 'user', userId: '00u1' });
    expect(query?.get('oauthTokens')).toBe('true');
    expect(query?.get('forgetDevices')).toBe('false');
  });

  it('point 15: list verification skips REVOKED entries, as single-token verification does', async () => {
    server.use(
      http.get(`${ORG}/api/v1/apps/0oaA/tokens`, () =>
        HttpResponse.json([
          { ...refreshToken('t1', '0oaA', '00u1'), status: 'REVOKED' },
          refreshToken('t2', '0oaA', '00u2'),
        ]),
      ),
    );
    expect(await idp.verify({ kind: 'application', applicationId: '0oaA' })).toMatchObject({
      ok: false,
      remaining: [{ id: '0oaA:t2', userId: '00u2' }],
      method: 'list',
    });
    server.use(
      http.get(`${ORG}/api/v1/apps/0oaA/tokens`, () =>
        HttpResponse.json([{ ...refreshToken('t1', '0oaA', '00u1'), status: 'REVOKED' }]),
      ),
    );
    expect((await idp.verify({ kind: 'application', applicationId: '0oaA' })).ok).toBe(true);
  });

  it('an OAuth service app authenticates with private_key_jwt and caches the token', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = { ...(await exportJWK(privateKey)), kid: 'key-1' };
    const bodies: URLSearchParams[] = [];
    server.use(
      http.post(`${ORG}/oauth2/v1/token`, async ({ request }) => {
        bodies.push(new URLSearchParams(await request.text()));
        return HttpResponse.json({
          token_type: 'Bearer',
          expires_in: 3600,
          access_token: 'okta-at',
          scope: OKTA_SCOPES.join(' '),
        });
      }),
      http.get(`${ORG}/api/v1/users/00u1`, ({ request }) => {
        expect(request.headers.get('authorization')).toBe('Bearer okta-at');
        return HttpResponse.json(oktaUser);
      }),
    );
    const app = new OktaIdentityProvider({
      orgUrl: ORG,
      oauth: { clientId: '0oaSvc', privateKey: JSON.stringify(jwk) },
    });
    await app.getUser('00u1');
    await app.getUser('00u1');
    expect(bodies).toHaveLength(1);
    const body = bodies[0]!;
    expect(body.get('grant_type')).toBe('client_credentials');
    expect(body.get('scope')).toBe(OKTA_SCOPES.join(' '));
    expect(body.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    const assertion = body.get('client_assertion')!;
    await jwtVerify(assertion, publicKey, {
      issuer: '0oaSvc',
      subject: '0oaSvc',
      audience: `${ORG}/oauth2/v1/token`,
    });
    expect(decodeProtectedHeader(assertion)).toMatchObject({ alg: 'RS256', kid: 'key-1' });
    expect(decodeJwt(assertion).jti).toEqual(expect.any(String));
  });

  it('the contract refuses an undocumented parameter or path', () => {
    // What the adapter sent before point 12 was fixed: forgetDevices left to its IE default.
    expect(undocumented(OKTA, 'DELETE', `${ORG}/api/v1/users/00u1/sessions?oauthTokens=true`)).toContain(
      'not as documented',
    );
    expect(undocumented(OKTA, 'GET', `${ORG}/api/v1/users/00u1/tokens`)).toContain('undocumented operation');
    expect(undocumented(OKTA, 'GET', `${ORG}/api/v1/users?limit=1`)).toBeUndefined();
  });

  it('the contract checks values, headers, bodies and documented limits, not only names (issue 18 item 16)', () => {
    const ok = { headers: new Headers({ authorization: 'SSWS t', accept: 'application/json' }), body: '' };
    const list = `${ORG}/api/v1/apps/0oaA/tokens`;
    expect(undocumented(OKTA, 'GET', `${list}?limit=200`, ok)).toBeUndefined();
    // Okta's documented maximum page is 200.
    expect(undocumented(OKTA, 'GET', `${list}?limit=201`, ok)).toContain(
      'limit=201 is not a documented value',
    );
    expect(undocumented(OKTA, 'GET', `${list}?limit=0`, ok)).toContain('limit=0');
    const sessions = `${ORG}/api/v1/users/00u1/sessions`;
    expect(undocumented(OKTA, 'DELETE', `${sessions}?oauthTokens=yes&forgetDevices=false`, ok)).toContain(
      'oauthTokens=yes',
    );
    // No credential, or a body Okta does not document on a DELETE.
    const bare = { headers: new Headers({ accept: 'application/json' }), body: '' };
    expect(undocumented(OKTA, 'GET', `${list}?limit=20`, bare)).toContain('header authorization');
    expect(undocumented(OKTA, 'DELETE', list, { ...ok, body: '{"all":true}' })).toContain(
      'a body the vendor',
    );
  });

  it('a request outside the contract is caught and fails the test (shown here, then cleared)', async () => {
    server.use(http.get(`${ORG}/api/v1/users/:id/tokens`, () => HttpResponse.json([])));
    await fetch(`${ORG}/api/v1/users/00u1/tokens?limit=5`, {
      headers: { Authorization: 'SSWS okta-api-token' },
    });
    expect(contract.violations.splice(0)).toEqual([
      `GET ${ORG}/api/v1/users/00u1/tokens?limit=5: undocumented operation`,
    ]);
  });
});
