import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OAuthIdentityProvider } from '../../../../src/identity/adapters/oauth.ts';
import {
  IdpBadResponseError,
  IdpUnauthorizedError,
  IdpUnsupportedError,
} from '../../../../src/identity/errors.ts';

/**
 * A stand-in RFC 7009/7662 server. Rules it enforces, as a real one does:
 * - RFC 6749 §2.3.1 / §5.2: client_secret_basic, form-encoded id and secret; wrong ones → 401 invalid_client.
 * - RFC 7662 §2.2/§4: `{active:false}` for tokens the caller may not learn about (here: other clients' tokens).
 * - RFC 7009 §2.1: only the client a token was issued to may revoke it; §2.2: 200 for unknown tokens.
 * - RFC 8414 §3 (path-inserted well-known URL) and §3.3 (the `issuer` in the document).
 */
const ISSUER = 'https://as.test/tenant';
const CLIENTS = [
  { clientId: 'rs client', clientSecret: 's:ecret' },
  { clientId: 'app-b', clientSecret: 'b-secret' },
];
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id).replace(/%20/g, '+')}:${encodeURIComponent(secret)}`).toString('base64')}`;
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

/** Tokens the stand-in issued: value → owning client. */
const TOKENS = new Map<string, { client: string; sub: string }>();

function authServer(options: { issuer?: string } = {}) {
  const calls: { path: string; client: string | undefined; body: string }[] = [];
  const authenticate = (header: string | null) =>
    CLIENTS.find((c) => basic(c.clientId, c.clientSecret) === header)?.clientId;
  server.use(
    http.get(`${ISSUER}/.well-known/openid-configuration`, () => new HttpResponse(null, { status: 404 })),
    http.get('https://as.test/.well-known/oauth-authorization-server/tenant', () =>
      HttpResponse.json({
        issuer: options.issuer ?? ISSUER,
        revocation_endpoint: `${ISSUER}/oauth/revoke`,
        introspection_endpoint: `${ISSUER}/oauth/introspect`,
      }),
    ),
    http.post(`${ISSUER}/oauth/:op`, async ({ request, params }) => {
      const client = authenticate(request.headers.get('authorization'));
      const body = await request.text();
      calls.push({ path: String(params.op), client, body });
      if (!client) return HttpResponse.json({ error: 'invalid_client' }, { status: 401 });
      const token = new URLSearchParams(body).get('token') ?? '';
      const held = TOKENS.get(token);
      if (params.op === 'introspect') {
        if (!held || held.client !== client) return HttpResponse.json({ active: false });
        return HttpResponse.json({
          active: true,
          sub: held.sub,
          client_id: held.client,
          token_type: 'Bearer',
          exp: 2_000_000_000,
          aud: 'https://api.test',
        });
      }
      if (held && held.client === client) TOKENS.delete(token);
      return new HttpResponse(null, { status: 200 });
    }),
  );
  return calls;
}

const make = (clients = CLIENTS) => new OAuthIdentityProvider({ issuer: ISSUER, clients });

describe('OAuthIdentityProvider (RFC 7009/7662, OAUTH_CLIENTS)', () => {
  it('offers no queued scope and points at the leaked-token path instead', async () => {
    const idp = make();
    expect(idp.capabilities.scopes).toEqual({
      token: false,
      user: false,
      application: false,
      resourceServer: false,
    });
    expect(idp.capabilities.unsupportedReasons.token).toContain('A leaked token');
    expect(idp.tokenValues).toBeDefined();
    await expect(idp.plan({ kind: 'user', userId: 'u' })).rejects.toBeInstanceOf(IdpUnsupportedError);
  });

  it('introspects with each client in turn, revokes with the owning client, and verifies', async () => {
    const calls = authServer();
    TOKENS.set('value-of-app-b-token', { client: 'app-b', sub: 'user-1' });
    const values = make().tokenValues;
    const info = await values.inspect('value-of-app-b-token');
    expect(info).toMatchObject({
      active: true,
      subject: 'user-1',
      clientId: 'app-b',
      type: 'access_token',
      audience: ['https://api.test'],
    });
    expect(info.tokenId).toMatch(/^tok_/);
    expect(await values.revoke('value-of-app-b-token', info)).toEqual({ outcome: 'revoked', verified: true });
    expect(calls.map((c) => `${c.path}:${c.client}`)).toEqual([
      'introspect:rs client', // the first client learns nothing about another app's token
      'introspect:app-b',
      'revoke:app-b', // RFC 7009 §2.1: the owner revokes
      'introspect:rs client',
      'introspect:app-b',
    ]);
    expect(calls[2]!.body).toBe('token=value-of-app-b-token&token_type_hint=access_token');
  });

  it('a token of a client it holds no credentials for: revoked with each client anyway, reported unverifiable', async () => {
    const calls = authServer();
    TOKENS.set('value-of-app-b-token-2', { client: 'app-b', sub: 'user-1' });
    const onlyRs = make([CLIENTS[0]!]).tokenValues;
    const info = await onlyRs.inspect('value-of-app-b-token-2');
    expect(info.active).toBe(false); // RFC 7662 §4: not the asking client's to know about
    expect(await onlyRs.revoke('value-of-app-b-token-2', info)).toEqual({
      outcome: 'unverifiable',
      verified: false,
    });
    expect(TOKENS.has('value-of-app-b-token-2')).toBe(true); // nothing claimed, nothing wrong revoked
    expect(calls.map((c) => `${c.path}:${c.client}`)).toEqual([
      'introspect:rs client',
      'revoke:rs client',
      'introspect:rs client',
    ]);
  });

  it('readiness authenticates every client, naming the refused one (never its secret)', async () => {
    const calls = authServer();
    await make().ping();
    expect(calls.map((c) => c.client)).toEqual(['rs client', 'app-b']);
    const wrong = make([CLIENTS[0]!, { clientId: 'app-b', clientSecret: 'stale' }]);
    const err = await wrong.ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdpUnauthorizedError);
    expect((err as Error).message).toContain('app-b');
    expect((err as Error).message).not.toContain('stale');
  });

  it('refuses metadata that names another issuer (RFC 8414 §3.3)', async () => {
    authServer({ issuer: 'https://evil.test/tenant' });
    const err = await make()
      .ping()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdpBadResponseError);
    expect((err as Error).message).toContain('RFC 8414');
  });

  it('an error of a call carrying a token value holds no trace of the value', async () => {
    server.use(
      http.get(`${ISSUER}/.well-known/openid-configuration`, () =>
        HttpResponse.json({ issuer: ISSUER, introspection_endpoint: `${ISSUER}/oauth/introspect` }),
      ),
      http.post(`${ISSUER}/oauth/introspect`, () =>
        HttpResponse.json({ error: 'server_error' }, { status: 500 }),
      ),
    );
    const err = await make()
      .tokenValues.inspect('super-secret-token-value')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    const seen = JSON.stringify(err, Object.getOwnPropertyNames(err)) + String((err as Error).cause ?? '');
    expect(seen).not.toContain('super-secret-token-value');
  });
});
