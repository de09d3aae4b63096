import { randomBytes, randomUUID } from 'node:crypto';
import type { AxiosInstance } from 'axios';
import { importJWK, type JWK, SignJWT } from 'jose';
import { z } from 'zod';
import { tokenRef } from '../idaas/store/token-store.ts';
import {
  IdpBadResponseError,
  type IdpError,
  IdpNotFoundError,
  IdpPermanentError,
  IdpUnauthorizedError,
  IdpUnsupportedError,
} from './errors.ts';
import { createIdpHttpClient, parseResponse, toIdpError } from './http-client.ts';
import { type ClientAuthMethod, methodsOf, type OAuthClient } from './oauth-clients.ts';
import type { TokenValueInfo, TokenValueRevocation, ValueRevocationOutcome } from './port.ts';

export interface OAuthTokenValuesOptions {
  /** The issuer exactly as the server names itself; discovery must answer with this very string. */
  issuer: string;
  /** Introspection tries them in order; revocation uses the token's own client (RFC 7009 §2.1). Each
   * authenticates as its entry or the server's metadata says (`OAuthClient.authMethod`). */
  clients: readonly OAuthClient[];
  /** Name in error messages. Default `OAuth server`. */
  idpName?: string;
  /** Per-call timeout. Default: 10 000 ms. */
  timeoutMs?: number;
}

const Methods = z.array(z.string()).optional();
const MetadataSchema = z.object({
  issuer: z.string(),
  revocation_endpoint: z.url().optional(),
  introspection_endpoint: z.url().optional(),
  // RFC 8414 §2: the client authentication methods each endpoint takes.
  token_endpoint_auth_methods_supported: Methods,
  introspection_endpoint_auth_methods_supported: Methods,
  revocation_endpoint_auth_methods_supported: Methods,
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

/** RFC 7009 §2.1 defines these two `token_type_hint` values; any other hint is not sent. */
const RFC7009_HINTS = new Set(['access_token', 'refresh_token']);

type Endpoint = 'introspection_endpoint' | 'revocation_endpoint';

/** What a revocation by value ended with. */
export interface ValueRevocationResult {
  outcome: ValueRevocationOutcome;
  verified: boolean;
}

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

  /**
   * A token some client sees active: revoked with its owner's credentials (RFC 7009 §2.1), the hint only
   * when RFC 7009 defines the type, once more without it when the first call left the token active
   * (RFC 7009 §2.1 asks servers to widen their search; real ones do not always). A token no configured
   * client sees active: revoked with each client anyway (a server answers a client that does not own it
   * with an error or a silent 200, RFC 7009 §2.2; nothing else is revoked), and `unverifiable`, since no
   * client could see it before: "inactive to us" is not "inactive" (RFC 7662 §2.2 lets a server tell a
   * client `active: false` about tokens it may not know about). A token seen active whose own client is
   * not configured (seen by a client that may introspect every token) is tried with each client too:
   * `revoked` only if introspection then says inactive, else `still_active`.
   */
  async revoke(value: string, info: TokenValueInfo): Promise<ValueRevocationResult> {
    const owner = info.active ? this.#clients.find((c) => c.clientId === info.clientId) : undefined;
    if (!owner) {
      // Not visible, or its owner is not configured (seen by a client that may introspect every token):
      // each configured client tries, and introspection says what came of it.
      for (const client of this.#clients) {
        try {
          await this.#post('revocation_endpoint', client, { token: value }, 'revocation');
        } catch (err) {
          if (!(err instanceof IdpPermanentError)) throw err; // a refusal is expected: not its token
        }
      }
      const after = await this.inspect(value);
      if (after.active) return { outcome: 'still_active', verified: false };
      return info.active
        ? { outcome: 'revoked', verified: true }
        : { outcome: 'unverifiable', verified: false };
    }
    const hint = info.type !== undefined && RFC7009_HINTS.has(info.type) ? info.type : undefined;
    if (hint) {
      try {
        await this.#post('revocation_endpoint', owner, { token: value, token_type_hint: hint }, 'revocation');
      } catch (err) {
        // RFC 7009 §2.2.1 `unsupported_token_type` (400): the hint is not the server's word for it.
        if (!(err instanceof IdpBadResponseError && err.status === 400)) throw err;
      }
      if (!(await this.inspect(value)).active) return { outcome: 'revoked', verified: true };
    }
    await this.#post('revocation_endpoint', owner, { token: value }, 'revocation');
    return (await this.inspect(value)).active
      ? { outcome: 'still_active', verified: false }
      : { outcome: 'revoked', verified: true };
  }

  /**
   * Readiness that really authenticates: every client's credentials must be accepted. Errors tell apart
   * an unreachable server (transient), no metadata (not found), metadata of another issuer (bad
   * response) and refused credentials (unauthorized, naming the client).
   */
  async ping(): Promise<void> {
    this.#metadata = undefined; // see the server as it is now
    const metadata = await this.#discover();
    const endpoint: Endpoint | undefined = metadata.introspection_endpoint
      ? 'introspection_endpoint'
      : metadata.revocation_endpoint
        ? 'revocation_endpoint'
        : undefined;
    if (!endpoint)
      throw new IdpUnsupportedError(`${this.#idpName} publishes neither introspection nor revocation`);
    // A random value no server issued: an authenticated client gets 200 (inactive / nothing to revoke,
    // RFC 7662 §2.2, RFC 7009 §2.2); refused credentials get 401 invalid_client (RFC 6749 §5.2).
    const probe = randomBytes(24).toString('base64url');
    for (const client of this.#clients) {
      try {
        await this.#post(endpoint, client, { token: probe }, 'authentication');
      } catch (err) {
        if (
          err instanceof IdpUnauthorizedError ||
          (err instanceof IdpBadResponseError && err.status === 400)
        ) {
          const method = await this.#method(endpoint, client);
          throw new IdpUnauthorizedError(
            `${this.#idpName} refused the credentials of client ${client.clientId} (${method}, OAUTH_CLIENTS)${rawSecretHint(client, method)}`,
            { ...(err.status === undefined ? {} : { status: err.status }) },
          );
        }
        throw err;
      }
    }
  }

  async #introspect(value: string, client: OAuthClient) {
    const data = await this.#post('introspection_endpoint', client, { token: value }, 'introspection');
    return parseResponse(
      IntrospectionSchema,
      data,
      `${this.#idpName} introspection for client ${client.clientId}`,
    );
  }

  /** One POST to an endpoint, authenticated as `client` the way the entry or the metadata says. */
  async #post(
    name: Endpoint,
    client: OAuthClient,
    form: Record<string, string>,
    call: string,
  ): Promise<unknown> {
    const endpoint = await this.#endpoint(name);
    const method = await this.#method(name, client);
    const headers: Record<string, string> = { ...FORM };
    const body = new URLSearchParams(form);
    if (method === 'client_secret_basic') {
      headers.Authorization = basic(client.clientId, client.clientSecret ?? '');
    } else if (method === 'client_secret_post') {
      // RFC 6749 §2.3.1: the raw id and secret as form parameters.
      body.set('client_id', client.clientId);
      body.set('client_secret', client.clientSecret ?? '');
    } else {
      // RFC 7523 §2.2 with OpenID Connect Core §9 private_key_jwt.
      body.set('client_id', client.clientId);
      body.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      body.set('client_assertion', await this.#assertion(client));
    }
    try {
      const res = await this.#http.post(endpoint, body, { headers });
      return res.data;
    } catch (err) {
      const e = withoutCause(
        err instanceof Error && 'retryable' in err ? (err as IdpError) : toIdpError(err),
      );
      // Which client the server refused, or answered oddly for: client ids are not secrets.
      e.message = `${e.message} [${call} as client ${client.clientId}]`;
      throw e;
    }
  }

  /**
   * The entry's `token_endpoint_auth_method`, else the first method the metadata lists for this endpoint
   * (RFC 8414 §2 `*_endpoint_auth_methods_supported`; introspection and revocation fall back to the token
   * endpoint's list, and that to `client_secret_basic`) that the entry has the material for.
   */
  async #method(name: Endpoint, client: OAuthClient): Promise<ClientAuthMethod> {
    const can = methodsOf(client);
    if (client.authMethod) return client.authMethod;
    const metadata = await this.#discover();
    const listed = (name === 'introspection_endpoint'
      ? metadata.introspection_endpoint_auth_methods_supported
      : metadata.revocation_endpoint_auth_methods_supported) ??
      metadata.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
    return (listed.find((m) => (can as string[]).includes(m)) as ClientAuthMethod | undefined) ?? can[0]!;
  }

  /** A fresh client assertion: iss = sub = client_id, aud = the issuer (RFC 7523 §3), one minute. */
  async #assertion(client: OAuthClient): Promise<string> {
    const jwk = client.privateKeyJwk as JWK;
    const alg =
      typeof jwk.alg === 'string'
        ? jwk.alg
        : jwk.kty === 'EC'
          ? 'ES256'
          : jwk.kty === 'OKP'
            ? 'EdDSA'
            : 'RS256';
    const key = await importJWK(jwk, alg);
    return new SignJWT({})
      .setProtectedHeader({ alg, ...(typeof jwk.kid === 'string' ? { kid: jwk.kid } : {}) })
      .setIssuer(client.clientId)
      .setSubject(client.clientId)
      .setAudience(this.#issuer)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(key);
  }

  async #endpoint(name: Endpoint): Promise<string> {
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
          if (!(err instanceof IdpNotFoundError)) throw err;
          if (i === candidates.length - 1) {
            throw new IdpNotFoundError(
              `${this.#idpName} has no metadata at ${candidates.join(' or ')} (404): check OAUTH_ISSUER`,
              { status: 404 },
            );
          }
        }
      }
      throw new IdpNotFoundError(`${this.#idpName} publishes no authorization server metadata`);
    })().catch((err: unknown) => {
      this.#metadata = undefined; // retry discovery next time
      throw err;
    });
    return this.#metadata;
  }
}

/** RFC 6749 §2.3.1: id and secret form-encoded (application/x-www-form-urlencoded) before base64. */
function basic(clientId: string, secret: string): string {
  const form = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${form(clientId)}:${form(secret)}`).toString('base64')}`;
}

/**
 * Some servers compare the Basic secret without form-decoding it (against RFC 6749 §2.3.1): a secret that
 * form-encoding changes is then refused. Says so, and what works instead; never shows the secret.
 */
function rawSecretHint(client: OAuthClient, method: ClientAuthMethod): string {
  const secret = client.clientSecret;
  if (method !== 'client_secret_basic' || !secret) return '';
  if (encodeURIComponent(secret) === secret) return '';
  return '; its secret has characters RFC 6749 §2.3.1 form-encodes in Basic credentials, which some servers do not decode: try "token_endpoint_auth_method": "client_secret_post" in its OAUTH_CLIENTS entry';
}

/**
 * RFC 7662 §2.2 `token_type`, as Revoker names it. The RFC means the access token type (RFC 6749 §7.1:
 * `Bearer`, `DPoP`); servers also answer `refresh_token`, `id_token`, RFC 8693 URIs or words of their
 * own, which are kept as they are (printable, 64 characters at most).
 */
export function tokenTypeOf(tokenType: string | undefined): string | undefined {
  if (tokenType === undefined) return undefined;
  const t = tokenType.trim();
  if (/^(bearer|dpop|mac|access[_ ]?token|urn:ietf:params:oauth:token-type:access_token)$/i.test(t))
    return 'access_token';
  if (/refresh/i.test(t)) return 'refresh_token';
  if (/^(id|id[_ ]?token|urn:ietf:params:oauth:token-type:id_token)$/i.test(t)) return 'id_token';
  const printable = t.replace(/[^\x21-\x7e]/g, '').slice(0, 64);
  return printable === '' ? undefined : printable;
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
  const type = tokenTypeOf(a.token_type);
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
