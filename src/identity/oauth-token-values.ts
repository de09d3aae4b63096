import { randomBytes } from 'node:crypto';
import type { AxiosInstance } from 'axios';
import { z } from 'zod';
import { tokenRef } from '../idaas/store/token-store.ts';
import {
  IdpBadResponseError,
  type IdpError,
  IdpNotFoundError,
  IdpUnauthorizedError,
  IdpUnsupportedError,
} from './errors.ts';
import { createIdpHttpClient, parseResponse, toIdpError } from './http-client.ts';
import type { OAuthClient } from './oauth-clients.ts';
import type { TokenValueInfo, TokenValueRevocation } from './port.ts';

export interface OAuthTokenValuesOptions {
  /** The issuer exactly as the server names itself; discovery must answer with this very string. */
  issuer: string;
  /** Introspection tries them in order; revocation uses the token's own client (RFC 7009 §2.1). */
  clients: readonly OAuthClient[];
  /** Name in error messages. Default `OAuth server`. */
  idpName?: string;
  /** Per-call timeout. Default: 10 000 ms. */
  timeoutMs?: number;
}

const MetadataSchema = z.object({
  issuer: z.string(),
  revocation_endpoint: z.url().optional(),
  introspection_endpoint: z.url().optional(),
});
type Metadata = z.infer<typeof MetadataSchema>;

/** RFC 7662 §2.2: only `active` is required; the rest is read when present. */
const IntrospectionSchema = z.looseObject({
  active: z.boolean(),
  sub: z.string().optional(),
  username: z.string().optional(),
  client_id: z.string().optional(),
  aud: z.union([z.string(), z.array(z.string())]).optional(),
  scope: z.string().optional(),
  exp: z.number().optional(),
  iat: z.number().optional(),
  token_type: z.string().optional(),
});

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

/**
 * Revokes a token by its value at any RFC 7009/7662 server: introspect to learn its owner and client,
 * revoke with that client's credentials, introspect again to verify. The value travels only in the
 * bodies of these POSTs: errors are rebuilt without their cause (an HTTP error holds the request body).
 */
export class OAuthTokenValues implements TokenValueRevocation {
  readonly #http: AxiosInstance;
  readonly #issuer: string;
  readonly #clients: readonly OAuthClient[];
  readonly #idpName: string;
  #metadata: Promise<Metadata> | undefined;

  constructor(options: OAuthTokenValuesOptions) {
    if (options.clients.length === 0) throw new Error('OAuthTokenValues needs at least one client');
    this.#issuer = options.issuer;
    this.#clients = options.clients;
    this.#idpName = options.idpName ?? 'OAuth server';
    this.#http = createIdpHttpClient({
      baseURL: options.issuer,
      idpName: this.#idpName,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
  }

  get clientIds(): string[] {
    return this.#clients.map((c) => c.clientId);
  }

  async inspect(value: string): Promise<TokenValueInfo> {
    const tokenId = tokenRef(value);
    for (const client of this.#clients) {
      const answer = await this.#introspect(value, client);
      // A server may tell a client only about its own tokens (RFC 7662 §4): ask the next one.
      if (answer.active) return toInfo(tokenId, answer, client);
    }
    return { tokenId, active: false };
  }

  async revoke(value: string, info: TokenValueInfo): Promise<{ verified: boolean }> {
    const owner = this.#clients.find((c) => c.clientId === info.clientId);
    if (!owner) {
      throw new IdpUnsupportedError(
        `no credentials for client ${info.clientId ?? '(unknown)'}: only the client a token was issued to may revoke it (RFC 7009 §2.1); add it to OAUTH_CLIENTS`,
      );
    }
    const endpoint = await this.#endpoint('revocation_endpoint');
    const form: Record<string, string> = { token: value };
    if (info.type) form.token_type_hint = info.type;
    await this.#post(endpoint, owner, form);
    const after = await this.inspect(value);
    return { verified: !after.active };
  }

  /** Readiness that really authenticates: every client's credentials must be accepted. */
  async ping(): Promise<void> {
    this.#metadata = undefined; // see the server as it is now
    const metadata = await this.#discover();
    const endpoint = metadata.introspection_endpoint ?? metadata.revocation_endpoint;
    if (!endpoint)
      throw new IdpUnsupportedError(`${this.#idpName} publishes neither introspection nor revocation`);
    // A random value no server issued: an authenticated client gets 200 (inactive / nothing to revoke,
    // RFC 7662 §2.2, RFC 7009 §2.2); refused credentials get 401 invalid_client (RFC 6749 §5.2).
    const probe = randomBytes(24).toString('base64url');
    for (const client of this.#clients) {
      try {
        await this.#post(endpoint, client, { token: probe });
      } catch (err) {
        if (
          err instanceof IdpUnauthorizedError ||
          (err instanceof IdpBadResponseError && err.status === 400)
        ) {
          throw new IdpUnauthorizedError(
            `${this.#idpName} refused the credentials of client ${client.clientId}`,
            {
              ...(err.status === undefined ? {} : { status: err.status }),
            },
          );
        }
        throw err;
      }
    }
  }

  async #introspect(value: string, client: OAuthClient) {
    const endpoint = await this.#endpoint('introspection_endpoint');
    const data = await this.#post(endpoint, client, { token: value });
    return parseResponse(IntrospectionSchema, data, `${this.#idpName} introspection`);
  }

  async #post(endpoint: string, client: OAuthClient, form: Record<string, string>): Promise<unknown> {
    try {
      const res = await this.#http.post(endpoint, new URLSearchParams(form), {
        headers: { ...FORM, Authorization: basic(client) },
      });
      return res.data;
    } catch (err) {
      throw withoutCause(err instanceof Error && 'retryable' in err ? (err as IdpError) : toIdpError(err));
    }
  }

  async #endpoint(name: 'introspection_endpoint' | 'revocation_endpoint'): Promise<string> {
    const endpoint = (await this.#discover())[name];
    if (!endpoint) throw new IdpUnsupportedError(`${this.#idpName} publishes no ${name}`);
    return endpoint;
  }

  /**
   * OpenID discovery, else RFC 8414 metadata (well-known segment inserted before the issuer's path). The
   * document must name exactly the configured issuer (RFC 8414 §3.3, OIDC Discovery §4.3): otherwise it
   * is another server's, and Revoker would send token values to whoever answered.
   */
  #discover(): Promise<Metadata> {
    this.#metadata ??= (async () => {
      const url = new URL(this.#issuer);
      const path = url.pathname.replace(/\/+$/, '');
      const candidates = [
        `${url.origin}${path}/.well-known/openid-configuration`,
        `${url.origin}/.well-known/oauth-authorization-server${path}`,
      ];
      for (const [i, candidate] of candidates.entries()) {
        try {
          const res = await this.#http.get(candidate);
          const metadata = parseResponse(MetadataSchema, res.data, `${this.#idpName} metadata`);
          if (metadata.issuer !== this.#issuer) {
            throw new IdpBadResponseError(
              `${this.#idpName} metadata names issuer ${JSON.stringify(metadata.issuer)}, not the configured ${JSON.stringify(this.#issuer)} (RFC 8414 §3.3)`,
            );
          }
          return metadata;
        } catch (err) {
          if (!(err instanceof IdpNotFoundError) || i === candidates.length - 1) throw err;
        }
      }
      throw new IdpNotFoundError('no authorization server metadata found');
    })().catch((err: unknown) => {
      this.#metadata = undefined; // retry discovery next time
      throw err;
    });
    return this.#metadata;
  }
}

/** RFC 6749 §2.3.1: id and secret form-encoded before base64. */
function basic(client: OAuthClient): string {
  const form = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${form(client.clientId)}:${form(client.clientSecret)}`).toString('base64')}`;
}

/** The HTTP error inside `cause` carries the request body, i.e. the token value: drop it. */
function withoutCause<E extends Error>(err: E): E {
  delete (err as { cause?: unknown }).cause;
  return err;
}

function toInfo(tokenId: string, a: z.infer<typeof IntrospectionSchema>, asked: OAuthClient): TokenValueInfo {
  const iso = (s: number | undefined) => (s === undefined ? undefined : new Date(s * 1000).toISOString());
  const expiresAt = iso(a.exp);
  const issuedAt = iso(a.iat);
  // RFC 7662 §2.2: `token_type` is the access token's type; refresh tokens usually carry none.
  const type =
    a.token_type === undefined ? undefined : /refresh/i.test(a.token_type) ? 'refresh_token' : 'access_token';
  return {
    tokenId,
    active: true,
    ...(type ? { type } : {}),
    ...(a.sub ? { subject: a.sub } : {}),
    ...(a.username ? { username: a.username } : {}),
    // Without client_id the answer came from the owner itself (a server telling a client only its own).
    clientId: a.client_id ?? asked.clientId,
    ...(a.aud ? { audience: [a.aud].flat() } : {}),
    ...(a.scope ? { scopes: a.scope.split(' ').filter(Boolean) } : {}),
    ...(expiresAt ? { expiresAt } : {}),
    ...(issuedAt ? { issuedAt } : {}),
  };
}
