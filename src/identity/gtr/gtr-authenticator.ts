import { randomUUID } from 'node:crypto';
import type { CryptoKey, JWK, KeyObject } from 'jose';
import { ClientCredentialsTokenCache } from '../client-credentials.ts';
import { IdpUnsupportedError } from '../errors.ts';
import type { GtrAuthConfig } from './gtr-apps-config.ts';
import type { GtrEndpointInfo } from './gtr-endpoint-resolver.ts';

/** Lifetime of the per-call JWT: long enough for one call and its retries on a slow link, no longer. */
const JWT_LIFETIME_S = 60;

/**
 * The `Authorization: Bearer …` value for one call to an app's Global Token Revocation endpoint, by the
 * configured method (draft-parecki-oauth-global-token-revocation-06 §3.2: "MUST also be authenticated …
 * may include OAuth 2.0 Bearer Token [RFC6750] or a client authentication JWT [RFC7523]").
 */
export class GtrAuthenticator {
  private key: Promise<CryptoKey | KeyObject | Uint8Array> | undefined;
  private tokens: ClientCredentialsTokenCache | undefined;

  constructor(
    private readonly appName: string,
    private readonly auth: GtrAuthConfig,
  ) {}

  /**
   * The name the app's `global_token_revocation_endpoint_auth_methods_supported` lists for this method
   * (§5: values of the IANA "Token Endpoint Authentication Methods" or "Access Token Types" registries).
   */
  get advertisedName(): string {
    return this.auth.method === 'private_key_jwt' ? 'private_key_jwt' : 'Bearer';
  }

  /** Refuses before calling when the app says it does not accept our method. */
  checkAdvertised(info: GtrEndpointInfo): void {
    if (!info.authMethods) return;
    const want = this.advertisedName.toLowerCase();
    if (info.authMethods.some((m) => m.toLowerCase() === want)) return;
    throw new IdpUnsupportedError(
      `GTR app ${this.appName} accepts ${info.authMethods.join(', ') || 'no method'} at its endpoint, not ${this.advertisedName}: change "auth" in GTR_APPS`,
    );
  }

  /** The bearer value for one call to `info.endpoint`. */
  async bearer(info: GtrEndpointInfo): Promise<string> {
    const a = this.auth;
    if (a.method === 'bearer_token') return a.token;
    if (a.method === 'client_credentials') {
      const tokenUrl = a.token_endpoint ?? info.tokenEndpoint;
      if (!tokenUrl) {
        throw new IdpUnsupportedError(
          `GTR app ${this.appName}: no token endpoint (set auth.token_endpoint in GTR_APPS)`,
        );
      }
      this.tokens ??= new ClientCredentialsTokenCache({
        tokenUrl,
        clientId: a.client_id,
        clientSecret: a.client_secret,
        ...(a.scope ? { scope: a.scope } : {}),
        idpName: `GTR app ${this.appName}`,
      });
      return this.tokens.getToken();
    }
    // private_key_jwt: a fresh JWT per call, aud = the endpoint, a unique jti (RFC 7523 §3).
    const { SignJWT } = await import('jose');
    this.key ??= importKey(a.private_key, a.alg);
    return new SignJWT({})
      .setProtectedHeader({ alg: a.alg, kid: a.kid, typ: 'JWT' })
      .setIssuer(a.client_id)
      .setSubject(a.client_id)
      .setAudience(info.endpoint)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime(`${JWT_LIFETIME_S}s`)
      .sign(await this.key);
  }

  /** The app answered 401: a cached access token is dropped so the retry fetches a new one. */
  invalidate(): void {
    this.tokens?.invalidate();
  }
}

async function importKey(raw: string, alg: string): Promise<CryptoKey | KeyObject | Uint8Array> {
  const { importJWK, importPKCS8 } = await import('jose');
  const text = raw.trim();
  return text.startsWith('{') ? importJWK(JSON.parse(text) as JWK, alg) : importPKCS8(text, alg);
}
