import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createLocalJWKSet, decodeJwt, type JSONWebKeySet, jwtVerify } from 'jose';
import { parseSubjectIdentifier, type SubjectIdentifier } from '../../identity/gtr/subject-identifier.ts';
import type { Logger } from '../../log.ts';
import type { AdminUser } from '../admin-contract.ts';
import type { Catalog } from '../directory/catalog.ts';
import type { UserDirectory } from '../directory/user-directory.ts';
import { BodyTooLargeError, readBody } from '../http/read-body.ts';
import type { TokenRevoker } from '../token-revoker.ts';

/** Where the IDaaS serves Global Token Revocation (advertised in both discovery documents). */
export const GTR_PATH = '/global-token-revocation';
/**
 * `global_token_revocation_endpoint_auth_methods_supported` (draft-parecki-oauth-global-token-revocation-06
 * §5): a client's private-key JWT (RFC 7523) and a Bearer token (the admin token, the operator's).
 */
export const GTR_AUTH_METHODS = ['private_key_jwt', 'Bearer'];

const BODY_LIMIT = 16 * 1024;
/** A client JWT living longer than this is refused: it is meant for one call (RFC 7523 §3 "exp"). */
const MAX_JWT_LIFETIME_S = 300;
const FORMATS: readonly SubjectIdentifier['format'][] = ['email', 'opaque', 'iss_sub'];

export interface GlobalTokenRevocationRouteOptions {
  issuer: string;
  adminToken: string;
  users: UserDirectory;
  catalog: Catalog;
  revoker: TokenRevoker;
  logger: Logger;
}

type Caller = { kind: 'operator' } | { kind: 'client'; clientId: string };

/**
 * `POST /global-token-revocation` (draft-parecki-oauth-global-token-revocation-06 §3): all of a user's
 * refresh and access tokens revoked and every sign-in session ended, so the next authorization asks for
 * the password (§3.3) — the same `TokenRevoker.revokeUser` the admin API's "revoke all tokens of a user"
 * runs, logged like it. Callers: a seeded application with `global_token_revocation: true` and `jwks`,
 * by a private-key JWT sent as Bearer (iss = sub = client_id, aud = this endpoint, jti, iat, exp), or the
 * operator with the admin token. Answers (§3.4): 204; 400 malformed / unsupported `format`; 401
 * without or with bad credentials; 403 a client not allowed; 404 unknown user.
 */
export class GlobalTokenRevocationRoute {
  readonly endpoint: string;
  readonly #adminDigest: Buffer;
  /** jti values seen, with their expiry (s): a replayed JWT is refused until it has expired anyway. */
  readonly #seen = new Map<string, number>();

  constructor(private readonly o: GlobalTokenRevocationRouteOptions) {
    this.endpoint = `${o.issuer.replace(/\/+$/, '')}${GTR_PATH}`;
    this.#adminDigest = digest(o.adminToken);
  }

  matches(path: string): boolean {
    return path === GTR_PATH;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      // §3.1: "accepts HTTP POST requests".
      if (req.method !== 'POST') return send(res, 405, { error: 'method_not_allowed' }, { allow: 'POST' });
      // §3.2: "The request MUST also be authenticated"; §3.4.2 401 / 403.
      const caller = await this.#authenticate(req.headers.authorization);
      if (caller === 'invalid') {
        this.o.logger.warn({ status: 401 }, 'global token revocation refused: bad or missing credentials');
        return send(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer realm="idaas-gtr"' });
      }
      if (caller === 'forbidden') {
        this.o.logger.warn({ status: 403 }, 'global token revocation refused: client not allowed');
        return send(res, 403, { error: 'insufficient_scope' });
      }
      // §3.1: the body is `application/json`.
      if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
        return send(res, 400, {
          error: 'invalid_request',
          error_description: 'Content-Type must be application/json',
        });
      }
      let body: unknown;
      try {
        body = JSON.parse((await readBody(req, BODY_LIMIT)).toString('utf8'));
      } catch (err) {
        if (err instanceof BodyTooLargeError) return send(res, 413, { error: 'payload_too_large' });
        return send(res, 400, { error: 'invalid_request', error_description: 'body is not JSON' });
      }
      const parsed = parseSubjectIdentifier(body, FORMATS);
      // §3.4.2: 400 "malformed, e.g. an unrecognized or unsupported type of subject identifier".
      if (!parsed.ok) return send(res, 400, { error: 'invalid_request', error_description: parsed.reason });
      const user = this.#find(parsed.subject);
      // §3.4.2: 404 "User Not Found".
      if (!user) return send(res, 404, { error: 'user_not_found' });
      // §3.3: MUST revoke refresh tokens, SHOULD access tokens, MUST re-authenticate before new tokens.
      const revoked = await this.o.revoker.revokeUser(user.id);
      this.o.logger.info(
        {
          userId: user.id,
          revoked: revoked.length,
          by: caller.kind === 'operator' ? 'operator' : caller.clientId,
        },
        'global token revocation: all tokens of a user revoked, sessions ended',
      );
      // §3.4.1: 204.
      res.writeHead(204, { 'cache-control': 'no-store' }).end();
    } catch (err) {
      this.o.logger.error({ err }, 'global token revocation failed');
      send(res, 500, { error: 'server_error' });
    }
  }

  async #authenticate(header: string | undefined): Promise<Caller | 'invalid' | 'forbidden'> {
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
    if (!presented) return 'invalid';
    if (timingSafeEqual(digest(presented), this.#adminDigest)) return { kind: 'operator' };
    let clientId: string | undefined;
    try {
      clientId = decodeJwt(presented).iss;
    } catch {
      return 'invalid';
    }
    const app = clientId ? this.o.catalog.applications.find((a) => a.client_id === clientId) : undefined;
    if (!app?.jwks) return 'invalid';
    try {
      // RFC 7523 §3: iss = sub = client id, aud = this endpoint, exp (and iat, jti: one call, no replay).
      const { payload } = await jwtVerify(presented, createLocalJWKSet(app.jwks as JSONWebKeySet), {
        issuer: app.client_id,
        subject: app.client_id,
        audience: this.endpoint,
        requiredClaims: ['jti', 'iat', 'exp'],
        maxTokenAge: `${MAX_JWT_LIFETIME_S}s`,
      });
      if (payload.exp! - payload.iat! > MAX_JWT_LIFETIME_S) return 'invalid';
      if (!this.#fresh(payload.jti!, payload.exp!)) return 'invalid';
    } catch {
      return 'invalid';
    }
    // Authenticated, but only clients seeded for it may revoke (§6.1: narrowly scoped credentials).
    return app.global_token_revocation ? { kind: 'client', clientId: app.client_id } : 'forbidden';
  }

  #fresh(jti: string, exp: number): boolean {
    const now = Math.floor(Date.now() / 1000);
    for (const [k, e] of this.#seen) if (e < now) this.#seen.delete(k);
    if (this.#seen.has(jti)) return false;
    this.#seen.set(jti, exp);
    return true;
  }

  #find(s: SubjectIdentifier): AdminUser | undefined {
    if (s.format === 'email') {
      const u = this.o.users.find(s.email.toLowerCase());
      return u && u.email.toLowerCase() === s.email.toLowerCase() ? u : undefined;
    }
    const id = s.format === 'opaque' ? s.id : s.sub;
    // iss_sub: the subject is ours only when the issuer is this IDaaS (RFC 9493 §3.2.3).
    if (s.format === 'iss_sub' && s.iss.replace(/\/+$/, '') !== this.o.issuer.replace(/\/+$/, ''))
      return undefined;
    const u = this.o.users.find(id);
    return u && u.id === id ? u : undefined;
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
    'cache-control': 'no-store',
  });
  res.end(json);
}
