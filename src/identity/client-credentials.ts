import type { AxiosInstance } from 'axios';
import { z } from 'zod';
import { IdpBadResponseError, IdpUnauthorizedError } from './errors.ts';
import { createIdpHttpClient, parseResponse } from './http-client.ts';

export interface ClientCredentialsOptions {
  /** The token endpoint (Entra `{login}/{tenant}/oauth2/v2.0/token`, Auth0 `/oauth/token`, Keycloak realm's). */
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** `scope` parameter (Entra: `https://graph.microsoft.com/.default`). Default: none sent. */
  scope?: string;
  /** `audience` parameter (Auth0: `https://{domain}/api/v2/`). Default: none sent. */
  audience?: string;
  /** Body encoding: `form` (RFC 6749 §4.4) or `json` (Auth0 accepts both). Default: `form`. */
  bodyFormat?: 'form' | 'json';
  /**
   * Replaces the client-credentials body, for assertion-based client authentication (Okta's
   * `private_key_jwt`): called on each fetch so a fresh assertion is signed. Default: none
   * (client_credentials with id and secret).
   */
  body?: () => Record<string, string> | Promise<Record<string, string>>;
  /** Fetch a new token this long before the cached one expires. Default: 60 000 ms. */
  refreshMarginMs?: number;
  /** Timeout of the token request. Default: 10 000 ms. */
  timeoutMs?: number;
  /** Name used in error messages. Default: `IdP`. */
  idpName?: string;
  /** Clock, for tests. Default: `Date.now`. */
  now?: () => number;
}

const TokenResponseSchema = z.object({
  access_token: z.string().min(1),
  expires_in: z.coerce.number().positive().optional(),
  token_type: z.string().optional(),
});

/** RFC 6749 §5.2 codes that mean our credentials are wrong, not that the request was malformed. */
const CREDENTIAL_ERRORS = new Set([
  'invalid_client',
  'unauthorized_client',
  'invalid_grant',
  'access_denied',
]);

/**
 * An OAuth access token for the adapters' own API calls, fetched once and shared until shortly before it
 * expires. Concurrent callers share one in-flight request, so a burst of jobs makes one token call.
 */
export class ClientCredentialsTokenCache {
  private readonly http: AxiosInstance;
  private readonly now: () => number;
  private readonly refreshMarginMs: number;
  private cached: { token: string; expiresAt: number } | undefined;
  private inFlight: Promise<string> | undefined;

  constructor(private readonly options: ClientCredentialsOptions) {
    this.now = options.now ?? Date.now;
    this.refreshMarginMs = options.refreshMarginMs ?? 60_000;
    this.http = createIdpHttpClient({
      baseURL: options.tokenUrl,
      timeoutMs: options.timeoutMs ?? 10_000,
      idpName: options.idpName ?? 'IdP',
      now: this.now,
    });
  }

  /** A valid access token, from the cache when it has more than `refreshMarginMs` left. */
  getToken = async (): Promise<string> => {
    if (this.cached && this.cached.expiresAt - this.refreshMarginMs > this.now()) return this.cached.token;
    this.inFlight ??= this.fetch().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  };

  /** Drop the cached token (the API answered 401: it was revoked or the secret rotated). */
  invalidate = (): void => {
    this.cached = undefined;
  };

  private async fetch(): Promise<string> {
    const o = this.options;
    const params: Record<string, string> = o.body
      ? await o.body()
      : {
          grant_type: 'client_credentials',
          client_id: o.clientId,
          client_secret: o.clientSecret,
          ...(o.scope ? { scope: o.scope } : {}),
          ...(o.audience ? { audience: o.audience } : {}),
        };
    const json = o.bodyFormat === 'json' && !o.body;
    let data: unknown;
    try {
      const res = await this.http.post('', json ? params : new URLSearchParams(params), {
        headers: { 'Content-Type': json ? 'application/json' : 'application/x-www-form-urlencoded' },
      });
      data = res.data;
    } catch (err) {
      // A token endpoint answers 400 invalid_client for a bad secret: that is an authorization failure.
      if (err instanceof IdpBadResponseError && err.status === 400 && credentialError(err)) {
        throw new IdpUnauthorizedError(
          `${o.idpName ?? 'IdP'} token endpoint refused our client credentials`,
          {
            status: 400,
            cause: err,
          },
        );
      }
      throw err;
    }
    const body = parseResponse(TokenResponseSchema, data, `${o.idpName ?? 'IdP'} token endpoint`);
    // Without expires_in, assume a short life so a revoked token is not reused for long.
    const expiresInMs = (body.expires_in ?? 300) * 1000;
    this.cached = { token: body.access_token, expiresAt: this.now() + expiresInMs };
    return body.access_token;
  }
}

function credentialError(err: IdpBadResponseError): boolean {
  const cause = err.cause as { response?: { data?: unknown } } | undefined;
  const data = cause?.response?.data;
  if (!data || typeof data !== 'object') return false;
  const code = (data as { error?: unknown }).error;
  return typeof code === 'string' && CREDENTIAL_ERRORS.has(code);
}
