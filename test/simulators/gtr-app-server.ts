import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, importSPKI, jwtVerify, type KeyObject } from 'jose';

/**
 * A stand-in for a SaaS app's authorization server that speaks Global Token Revocation exactly as
 * draft-parecki-oauth-global-token-revocation-06 defines it (sections cited beside each rule), over real
 * HTTP on a loopback port. Its state (people and their live tokens) is the test oracle: `stillWorks`.
 */
export interface GtrTestPerson {
  email: string;
  /** The id the app knows the person by (RFC 9493 §3.2.4 opaque). */
  id: string;
  /** Subject at the upstream IdP (RFC 9493 §3.2.3 iss_sub). */
  iss?: string;
  sub?: string;
  tokens: string[];
}

export interface GtrCall {
  method: string;
  path: string;
  contentType: string | undefined;
  /** `Bearer` (or another scheme) — never the credential. */
  authScheme: string | undefined;
  /** Claims of the JWT credential when it verified (iss, sub, aud, jti, iat, exp). */
  jwtClaims?: Record<string, unknown>;
  body: unknown;
  status: number;
}

export interface GtrTestServerOptions {
  people: GtrTestPerson[];
  /** Formats the app supports; others are 400 (§3.4.2). Default all three. */
  formats?: ('email' | 'opaque' | 'iss_sub')[];
  /** Registered private-key-JWT clients: client id → kid → SPKI PEM public key; `allowed` false ⇒ 403. */
  jwtClients?: { clientId: string; kid: string; publicKeyPem: string; alg: string; allowed?: boolean }[];
  /** Bearer tokens this app accepts; `allowed` false ⇒ 403 (§3.4.2 "Insufficient authorization"). */
  bearerTokens?: { token: string; allowed?: boolean }[];
  /** Client-credentials clients (RFC 6749 §4.4) whose access tokens may call the endpoint. */
  clients?: { clientId: string; clientSecret: string; expiresIn?: number }[];
  /** `global_token_revocation_endpoint_auth_methods_supported` in the metadata (§5). Default: omitted. */
  authMethods?: string[];
  /** Serve the endpoint in the metadata (§3.1 SHOULD). Default true. */
  advertise?: boolean;
}

export class GtrTestServer {
  readonly calls: GtrCall[] = [];
  /** Token-endpoint grants issued. */
  tokenGrants = 0;
  private server: http.Server | undefined;
  private base = '';
  private readonly faults: number[] = [];
  private readonly seenJti = new Set<string>();
  private readonly accessTokens = new Map<string, number>();
  private keys = new Map<string, { key: CryptoKey | KeyObject; clientId: string; allowed: boolean }>();

  constructor(private readonly o: GtrTestServerOptions) {}

  get issuer(): string {
    return this.base;
  }
  get endpoint(): string {
    return `${this.base}/global-token-revocation`;
  }
  get tokenEndpoint(): string {
    return `${this.base}/token`;
  }

  /** The next endpoint call answers `status` (e.g. 422, 503) and changes nothing. */
  failNext(status: number): void {
    this.faults.push(status);
  }

  /** The oracle: the person's tokens that still work at the app. */
  stillWorks(email: string): string[] {
    return [...(this.o.people.find((p) => p.email === email)?.tokens ?? [])];
  }

  async start(): Promise<this> {
    for (const c of this.o.jwtClients ?? []) {
      this.keys.set(c.kid, {
        key: await importSPKI(c.publicKeyPem, c.alg),
        clientId: c.clientId,
        allowed: c.allowed !== false,
      });
    }
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void this.handle(req, Buffer.concat(chunks).toString('utf8')).then(({ status, json, headers }) => {
          res.writeHead(status, {
            ...(json !== undefined ? { 'Content-Type': 'application/json' } : {}),
            ...headers,
          });
          res.end(json !== undefined ? JSON.stringify(json) : undefined);
        });
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => this.server?.close(() => r()));
  }

  private async handle(
    req: http.IncomingMessage,
    raw: string,
  ): Promise<{ status: number; json?: unknown; headers?: Record<string, string> }> {
    const path = (req.url ?? '').split('?')[0]!;
    // RFC 8414 §3: metadata at /.well-known/oauth-authorization-server; §5 of the draft adds the endpoint.
    if (req.method === 'GET' && path === '/.well-known/oauth-authorization-server') {
      return {
        status: 200,
        json: {
          issuer: this.base,
          token_endpoint: this.tokenEndpoint,
          ...(this.o.advertise === false ? {} : { global_token_revocation_endpoint: this.endpoint }),
          ...(this.o.authMethods
            ? { global_token_revocation_endpoint_auth_methods_supported: this.o.authMethods }
            : {}),
        },
      };
    }
    if (req.method === 'POST' && path === '/token') return this.token(raw);
    if (path !== '/global-token-revocation') return { status: 404, json: { error: 'not_found' } };
    const call: GtrCall = {
      method: req.method ?? '',
      path,
      contentType: req.headers['content-type'],
      authScheme: req.headers.authorization?.split(' ')[0],
      body: safeJson(raw),
      status: 0,
    };
    this.calls.push(call);
    const answer = await this.revoke(req, raw, call);
    call.status = answer.status;
    return answer;
  }

  private async revoke(
    req: http.IncomingMessage,
    raw: string,
    call: GtrCall,
  ): Promise<{ status: number; json?: unknown; headers?: Record<string, string> }> {
    // §3.1: the endpoint "accepts HTTP POST requests".
    if (req.method !== 'POST') return { status: 405, headers: { Allow: 'POST' } };
    // §3.2: "The request MUST also be authenticated"; §3.4.2: 401 "Authentication provided was invalid".
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } };
    const auth = await this.authenticate(m[1]!, call);
    if (auth === 'invalid')
      return { status: 401, headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } };
    // §3.4.2: 403 "Insufficient authorization, e.g. missing scopes".
    if (auth === 'forbidden') return { status: 403 };
    const fault = this.faults.shift();
    if (fault !== undefined) return { status: fault };
    // §3.1: parameters "in the HTTP request message body using the application/json format".
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return { status: 400 };
    const body = safeJson(raw) as { sub_id?: Record<string, unknown> } | undefined;
    const sub = body?.sub_id;
    // §3.2: "a JSON object with a property `format`, and at least one additional property".
    if (!sub || typeof sub !== 'object' || typeof sub.format !== 'string') return { status: 400 };
    const formats = this.o.formats ?? ['email', 'opaque', 'iss_sub'];
    // §3.4.2: 400 "an unrecognized or unsupported type of subject identifier".
    if (!(formats as string[]).includes(sub.format)) return { status: 400 };
    const person = this.o.people.find((p) =>
      sub.format === 'email'
        ? typeof sub.email === 'string' && p.email === sub.email.toLowerCase()
        : sub.format === 'opaque'
          ? p.id === sub.id
          : p.iss === sub.iss && p.sub === sub.sub,
    );
    // §3.4.2: 404 "The user indicated by the subject identifier was not found".
    if (!person) return { status: 404 };
    // §3.3: "MUST revoke all active refresh tokens"; "SHOULD invalidate all access tokens".
    person.tokens = [];
    // §3.4.1: success is 204.
    return { status: 204 };
  }

  private async authenticate(credential: string, call: GtrCall): Promise<'ok' | 'invalid' | 'forbidden'> {
    const bearer = this.o.bearerTokens?.find((b) => b.token === credential);
    if (bearer) return bearer.allowed === false ? 'forbidden' : 'ok';
    const expiry = this.accessTokens.get(credential);
    if (expiry !== undefined) return expiry > Date.now() ? 'ok' : 'invalid';
    if (credential.split('.').length !== 3) return 'invalid';
    // RFC 7523 §3: signed by the client's registered key, iss = sub = client id, aud = this endpoint,
    // unexpired; a jti seen before is a replay and refused.
    try {
      const header = JSON.parse(Buffer.from(credential.split('.')[0]!, 'base64url').toString('utf8')) as {
        kid?: string;
      };
      const entry = header.kid ? this.keys.get(header.kid) : undefined;
      if (!entry) return 'invalid';
      const { payload } = await jwtVerify(credential, entry.key, {
        issuer: entry.clientId,
        subject: entry.clientId,
        audience: this.endpoint,
        requiredClaims: ['jti', 'iat', 'exp'],
      });
      call.jwtClaims = { ...payload };
      if (this.seenJti.has(payload.jti!)) return 'invalid';
      this.seenJti.add(payload.jti!);
      return entry.allowed ? 'ok' : 'forbidden';
    } catch {
      return 'invalid';
    }
  }

  /** RFC 6749 §4.4 client-credentials grant; §5.2 `invalid_client` (401) for a wrong secret. */
  private token(raw: string): { status: number; json?: unknown } {
    const p = new URLSearchParams(raw);
    const client = this.o.clients?.find(
      (c) => c.clientId === p.get('client_id') && c.clientSecret === p.get('client_secret'),
    );
    if (p.get('grant_type') !== 'client_credentials')
      return { status: 400, json: { error: 'unsupported_grant_type' } };
    if (!client) return { status: 401, json: { error: 'invalid_client' } };
    const token = randomBytes(16).toString('hex');
    const expiresIn = client.expiresIn ?? 3600;
    this.accessTokens.set(token, Date.now() + expiresIn * 1000);
    this.tokenGrants++;
    return { status: 200, json: { access_token: token, token_type: 'Bearer', expires_in: expiresIn } };
  }
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
