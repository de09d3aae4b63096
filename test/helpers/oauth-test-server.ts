import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, type JWK, jwtVerify } from 'jose';

/**
 * A small OAuth 2.0 authorization server for tests of revocation by value, built to behave as real
 * third-party servers do rather than as Revoker would like (each rule with its source):
 *
 * - Metadata at `/.well-known/oauth-authorization-server` (RFC 8414 §3), `issuer` exactly as configured
 *   (§3.3), with `*_endpoint_auth_methods_supported` (§2) as given.
 * - Client authentication (RFC 6749 §2.3.1, OpenID Connect Core §9): each client is registered for ONE
 *   `token_endpoint_auth_method` (RFC 7591 §2) and refused with any other. `client_secret_basic` compares
 *   the RAW secret from the Basic header, without the form-decoding RFC 6749 §2.3.1 asks for: the
 *   third-party server of issue 19 does exactly that, so a secret with `@ : + / =` or spaces sent
 *   form-encoded is refused. `client_secret_post` takes `client_id`/`client_secret` form parameters
 *   (RFC 6749 §2.3.1). `private_key_jwt` verifies an RFC 7523 §3 assertion (iss = sub = client_id, aud
 *   the issuer or the endpoint, exp) against the client's public key. Refusal: 401 `invalid_client`
 *   (RFC 6749 §5.2).
 * - Introspection (RFC 7662): a client learns only about its own tokens; any other token is
 *   `{"active": false}` (§2.2: "the authorization server MAY respond with active false" for a client not
 *   entitled to know, §4). `token_type` per the server's own words (`typeWords`), `username` given (§2.2).
 * - Revocation (RFC 7009): unknown or invalid tokens → 200 (§2.2); a token of another client → 400
 *   `unauthorized_client` (§2.1 "the request is refused", errors per §2.2.1 / RFC 6749 §5.2). A
 *   `token_type_hint` that does not match the token is NOT widened into a search of the other types
 *   (§2.1 says the server SHOULD extend its search; the server of issue 19 does not): the call answers
 *   200 and revokes nothing.
 */
export type TestTokenKind = 'access_token' | 'refresh_token' | 'id_token';
export type TestAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

export interface TestClient {
  clientId: string;
  method: TestAuthMethod;
  secret?: string;
  /** For private_key_jwt: the client's public JWK. */
  publicJwk?: JWK;
}

export interface TestServerOptions {
  clients: TestClient[];
  /** RFC 8414 §2 lists; omitted ⇒ not published (the default is then client_secret_basic). */
  introspectionMethods?: string[];
  revocationMethods?: string[];
  /** What introspection's `token_type` says for each kind. Default: Bearer / refresh_token / id_token. */
  typeWords?: Partial<Record<TestTokenKind, string>>;
  /**
   * Kinds this server does not revoke: it answers 200 and keeps them (RFC 7009 §2.2.1 lets a server not
   * support revocation of a type; some say so with `unsupported_token_type`, some with a silent 200).
   */
  keeps?: TestTokenKind[];
  /** The issuer the metadata names; default the server's own URL (set another to test RFC 8414 §3.3). */
  claimIssuer?: string;
}

export interface TestCall {
  endpoint: 'introspect' | 'revoke';
  /** The authenticated client, or undefined when authentication failed. */
  client: string | undefined;
  method: string | undefined;
  hint: string | null;
}

interface Held {
  client: string;
  kind: TestTokenKind;
  sub: string;
  username: string;
}

export class OAuthTestServer {
  readonly calls: TestCall[] = [];
  readonly #tokens = new Map<string, Held>();
  #url = '';

  private constructor(
    private readonly server: Server,
    private readonly options: TestServerOptions,
  ) {}

  static async start(options: TestServerOptions): Promise<OAuthTestServer> {
    let self: OAuthTestServer | undefined;
    const server = createServer((req, res) => {
      void self!.#handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    self = new OAuthTestServer(server, options);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self.#url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return self;
  }

  get issuer(): string {
    return this.#url;
  }

  /**
   * Issues a token to a client. `dash`: a value that begins with `-` (base64url does, one time in 64), to
   * prove no command line parser takes it for an option.
   */
  issue(client: string, kind: TestTokenKind, who = { sub: 'user-7', username: 'bob' }, dash = false): string {
    const value = `${dash ? '-' : ''}${randomBytes(32).toString('base64url')}`;
    this.#tokens.set(value, { client, kind, ...who });
    return value;
  }

  /** The oracle: the server's own state, never Revoker's verification. */
  isActive(value: string): boolean {
    return this.#tokens.has(value);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && path === '/.well-known/oauth-authorization-server') {
      return json(200, {
        issuer: this.options.claimIssuer ?? this.#url,
        introspection_endpoint: `${this.#url}/introspect`,
        revocation_endpoint: `${this.#url}/revoke`,
        ...(this.options.introspectionMethods
          ? { introspection_endpoint_auth_methods_supported: this.options.introspectionMethods }
          : {}),
        ...(this.options.revocationMethods
          ? { revocation_endpoint_auth_methods_supported: this.options.revocationMethods }
          : {}),
      });
    }
    if (req.method !== 'POST' || (path !== '/introspect' && path !== '/revoke')) return json(404, {});
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const endpoint = path === '/introspect' ? 'introspect' : 'revoke';
    const auth = await this.#authenticate(req, form, `${this.#url}${path}`);
    this.calls.push({
      endpoint,
      client: auth?.clientId,
      method: auth?.method,
      hint: form.get('token_type_hint'),
    });
    if (!auth) return json(401, { error: 'invalid_client' });
    const value = form.get('token') ?? '';
    const held = this.#tokens.get(value);
    if (endpoint === 'introspect') {
      if (!held || held.client !== auth.clientId) return json(200, { active: false });
      const words = { access_token: 'Bearer', refresh_token: 'refresh_token', id_token: 'id_token' };
      return json(200, {
        active: true,
        client_id: held.client,
        sub: held.sub,
        username: held.username,
        token_type: this.options.typeWords?.[held.kind] ?? words[held.kind],
        exp: Math.floor(Date.now() / 1000) + 3600,
      });
    }
    if (!held) return json(200, {});
    if (held.client !== auth.clientId) return json(400, { error: 'unauthorized_client' });
    const hint = form.get('token_type_hint');
    if (hint && hint !== held.kind) return json(200, {}); // a wrong hint: nothing found, nothing revoked
    if (this.options.keeps?.includes(held.kind)) return json(200, {});
    this.#tokens.delete(value);
    return json(200, {});
  }

  async #authenticate(
    req: IncomingMessage,
    form: URLSearchParams,
    endpointUrl: string,
  ): Promise<{ clientId: string; method: TestAuthMethod } | undefined> {
    const header = req.headers.authorization;
    let presented: { clientId: string; method: TestAuthMethod; secret?: string; assertion?: string };
    if (header?.startsWith('Basic ')) {
      const raw = Buffer.from(header.slice(6), 'base64').toString('utf8');
      const colon = raw.indexOf(':');
      if (colon < 0) return undefined;
      // The raw id and secret: no form-decoding (see the class comment).
      presented = {
        clientId: raw.slice(0, colon),
        secret: raw.slice(colon + 1),
        method: 'client_secret_basic',
      };
    } else if (form.has('client_assertion')) {
      if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
        return undefined;
      presented = {
        clientId: form.get('client_id') ?? '',
        assertion: form.get('client_assertion') ?? '',
        method: 'private_key_jwt',
      };
    } else if (form.has('client_secret')) {
      presented = {
        clientId: form.get('client_id') ?? '',
        secret: form.get('client_secret') ?? '',
        method: 'client_secret_post',
      };
    } else {
      return undefined;
    }
    const client = this.options.clients.find((c) => c.clientId === presented.clientId);
    // The registered method only (RFC 7591 §2, OpenID Connect Core §9).
    if (!client || client.method !== presented.method) return undefined;
    if (client.method === 'private_key_jwt') {
      if (!client.publicJwk || !presented.assertion) return undefined;
      try {
        const { payload } = await jwtVerify(
          presented.assertion,
          createLocalJWKSet({ keys: [client.publicJwk] }),
          { issuer: client.clientId, subject: client.clientId, audience: [this.#url, endpointUrl] },
        );
        if (payload.exp === undefined) return undefined;
      } catch {
        return undefined;
      }
      return { clientId: client.clientId, method: client.method };
    }
    const a = Buffer.from(presented.secret ?? '');
    const b = Buffer.from(client.secret ?? '');
    if (a.length !== b.length || !timingSafeEqual(a, b)) return undefined;
    return { clientId: client.clientId, method: client.method };
  }
}
