import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OAuthIdentityProvider } from '../../../../src/identity/adapters/oauth.ts';
import { IdpUnsupportedError } from '../../../../src/identity/errors.ts';

const ISSUER = 'https://as.test/tenant';
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const make = () =>
  new OAuthIdentityProvider({ issuer: ISSUER, clientId: 'rs client', clientSecret: 's:ecret' });
const basic = `Basic ${Buffer.from('rs+client:s%3Aecret').toString('base64')}`;

describe('OAuthIdentityProvider', () => {
  it('offers no queued scope, and says why a single token cannot be queued', async () => {
    const idp = make();
    expect(idp.capabilities.scopes).toEqual({
      token: false,
      user: false,
      application: false,
      resourceServer: false,
    });
    expect(idp.capabilities.unsupportedReasons.token).toContain('never queues token values');
    const err = await idp.revoke({ kind: 'token', userId: 'u', tokenId: 't' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdpUnsupportedError);
    await expect(idp.plan({ kind: 'user', userId: 'u' })).rejects.toBeInstanceOf(IdpUnsupportedError);
  });

  it('discovers endpoints (RFC 8414 fallback) and revokes / introspects by value with client_secret_basic', async () => {
    const seen: { url: string; auth: string | null; body: string }[] = [];
    server.use(
      http.get(`${ISSUER}/.well-known/openid-configuration`, () => new HttpResponse(null, { status: 404 })),
      http.get('https://as.test/.well-known/oauth-authorization-server/tenant', () =>
        HttpResponse.json({
          issuer: ISSUER,
          revocation_endpoint: `${ISSUER}/oauth/revoke`,
          introspection_endpoint: `${ISSUER}/oauth/introspect`,
        }),
      ),
      http.post(`${ISSUER}/oauth/revoke`, async ({ request }) => {
        seen.push({
          url: request.url,
          auth: request.headers.get('authorization'),
          body: await request.text(),
        });
        return new HttpResponse(null, { status: 200 });
      }),
      http.post(`${ISSUER}/oauth/introspect`, async ({ request }) => {
        seen.push({
          url: request.url,
          auth: request.headers.get('authorization'),
          body: await request.text(),
        });
        return HttpResponse.json({ active: false });
      }),
    );
    const idp = make();
    await idp.revokeTokenValue('tok-value', 'refresh_token');
    expect(await idp.introspect('tok-value')).toEqual({ active: false });
    expect(seen).toEqual([
      { url: `${ISSUER}/oauth/revoke`, auth: basic, body: 'token=tok-value&token_type_hint=refresh_token' },
      { url: `${ISSUER}/oauth/introspect`, auth: basic, body: 'token=tok-value' },
    ]);
  });

  it('pings by fetching discovery', async () => {
    let hits = 0;
    server.use(
      http.get(`${ISSUER}/.well-known/openid-configuration`, () => {
        hits++;
        return HttpResponse.json({ issuer: ISSUER });
      }),
    );
    const idp = make();
    await idp.ping();
    await idp.ping();
    expect(hits).toBe(2);
  });
});
