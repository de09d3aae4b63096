import { setTimeout as delay } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import type { AxiosInstance, AxiosResponse } from 'axios';
import { z } from 'zod';
import { ConflictError } from '../../domain/errors.ts';
import type { Scope, Target } from '../../domain/target.ts';
import { ClientCredentialsTokenCache } from '../client-credentials.ts';
import {
  IdpBadResponseError,
  IdpTransientError,
  IdpUnauthorizedError,
  IdpUnsupportedError,
} from '../errors.ts';
import { createIdpHttpClient, parseResponse } from '../http-client.ts';
import type {
  Capabilities,
  IdentityProvider,
  IdpApplication,
  IdpResourceServer,
  IdpUser,
  RevocationPlan,
  RevokeResult,
  TokenInfo,
  TokenRef,
  VerifyResult,
} from '../port.ts';
import { enc, MAX_PAGES, perTokenPlan, singleStepPlan, unlessNotFound } from './support.ts';

export interface Auth0IdentityProviderOptions {
  /** Tenant domain, e.g. `acme.eu.auth0.com`; the Management API audience is `https://{domain}/api/v2/`. */
  domain: string;
  clientId: string;
  clientSecret: string;
  /** Where to send calls. Default: `https://{domain}` (set it to reach a local stand-in). */
  baseUrl?: string;
  /** Per-call timeout. Default: 10 000 ms. */
  timeoutMs?: number;
  /** How often a user export job is polled. Default: 2 000 ms. */
  exportPollMs?: number;
  /** How long a user export job may take before we give up (and retry later). Default: 10 min. */
  exportTimeoutMs?: number;
}

// Management API v2 shapes: users, users-by-email, clients, resource-servers, refresh tokens.
const Auth0UserSchema = z.object({
  user_id: z.string(),
  email: z.string().nullish(),
  name: z.string().nullish(),
  nickname: z.string().nullish(),
  username: z.string().nullish(),
  blocked: z.boolean().nullish(),
});
const ClientSchema = z.object({ client_id: z.string(), name: z.string() });
const ResourceServerSchema = z.object({
  id: z.string(),
  name: z.string(),
  identifier: z.string(),
  scopes: z.array(z.object({ value: z.string() })).nullish(),
});
const RefreshTokenSchema = z.object({
  id: z.string(),
  user_id: z.string(),
  client_id: z.string(),
  created_at: z.string().nullish(),
  expires_at: z.string().nullish(),
  resource_servers: z.array(z.object({ audience: z.string(), scopes: z.string().nullish() })).nullish(),
});
type RefreshToken = z.infer<typeof RefreshTokenSchema>;
const RefreshTokenPageSchema = z.object({ tokens: z.array(RefreshTokenSchema), next: z.string().nullish() });

const PER_PAGE = 100;
/** "Auth0 limits the number of users you can return to 1000" for page/per_page listing and search. */
const LISTING_CAP = 1000;
const UserPageSchema = z.object({ users: z.array(z.object({ user_id: z.string() })), total: z.number() });
const ExportJobSchema = z.object({
  id: z.string(),
  status: z.string(),
  location: z.string().nullish(),
});

/** The refresh-token and session endpoints every scope relies on are Enterprise-plan only. */
export const AUTH0_PLAN_REASON =
  'Unsupported on this Auth0 plan: the Management API refresh-token and session endpoints are available on Enterprise plans only.';
const SCOPES: Scope[] = ['token', 'user', 'application', 'resourceServer'];

/**
 * Auth0 through the Management API v2. A user's refresh tokens are listed and revoked natively (plus their
 * sessions); an application or an API has no bulk call, so its tokens are found user by user and revoked one by
 * one. Access tokens are JWTs Auth0 cannot recall: they live until they expire.
 */
export class Auth0IdentityProvider implements IdentityProvider {
  readonly name = 'auth0';
  readonly capabilities: Capabilities = {
    scopes: { token: true, user: true, application: true, resourceServer: true },
    unsupportedReasons: {},
    notes: {
      token: 'Auth0 revokes the refresh token; access tokens already issued stay valid until they expire.',
      user: "Revokes the user's refresh tokens and ends their sessions; issued access tokens live until they expire.",
      application: 'Auth0 has no bulk call: every user is checked for refresh tokens of this application.',
      resourceServer: 'Auth0 has no bulk call: every user is checked for refresh tokens for this API.',
    },
    listTokens: true,
    search: true,
  };
  private readonly http: AxiosInstance;
  private readonly exportPollMs: number;
  private readonly exportTimeoutMs: number;

  constructor(options: Auth0IdentityProviderOptions) {
    this.exportPollMs = options.exportPollMs ?? 2000;
    this.exportTimeoutMs = options.exportTimeoutMs ?? 600_000;
    const base = (options.baseUrl ?? `https://${options.domain}`).replace(/\/+$/, '');
    const tokens = new ClientCredentialsTokenCache({
      tokenUrl: `${base}/oauth/token`,
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      audience: `https://${options.domain}/api/v2/`,
      bodyFormat: 'json',
      idpName: 'Auth0',
    });
    this.http = createIdpHttpClient({
      baseURL: `${base}/api/v2`,
      auth: tokens.getToken,
      invalidateAuth: tokens.invalidate,
      idpName: 'Auth0',
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
  }

  async searchUsers(query: string, limit = 20): Promise<IdpUser[]> {
    // Lucene syntax (user search v3): prefix match on email or name, special characters escaped.
    const term = query.replace(/[+\-!(){}[\]^"~*?:\\/&|\s]/g, '\\$&');
    const res = await this.http.get('/users', {
      params: { q: `email:${term}* OR name:${term}*`, search_engine: 'v3', per_page: limit },
    });
    return parseResponse(Auth0UserSchema.array(), res.data, 'Auth0 user search').slice(0, limit).map(toUser);
  }

  async getUser(userId: string): Promise<IdpUser> {
    const res = await this.http.get(`/users/${enc(userId)}`);
    return toUser(parseResponse(Auth0UserSchema, res.data, 'Auth0 user'));
  }

  /**
   * `users-by-email` is an exact, case-sensitive match; Auth0 stores the emails of its own database users in
   * lower case but keeps an external IdP's as given. So both spellings are asked, and several distinct users
   * (one email in several connections) are refused rather than picking one.
   */
  async findUserByEmail(email: string): Promise<IdpUser | undefined> {
    const spellings = [...new Set([email, email.toLowerCase()])];
    const found = new Map<string, z.infer<typeof Auth0UserSchema>>();
    for (const spelling of spellings) {
      const res = await this.http.get('/users-by-email', { params: { email: spelling } });
      for (const u of parseResponse(Auth0UserSchema.array(), res.data, 'Auth0 users-by-email')) {
        found.set(u.user_id, u);
      }
    }
    if (found.size > 1) {
      throw new ConflictError(
        `${found.size} Auth0 users have the email ${email} (${[...found.keys()].join(', ')}); name the user by id`,
      );
    }
    const user = [...found.values()][0];
    return user ? toUser(user) : undefined;
  }

  async searchApplications(query: string, limit = 20): Promise<IdpApplication[]> {
    // The clients endpoint has no text filter: page through and match names here.
    const q = query.toLowerCase();
    const out: IdpApplication[] = [];
    for (let page = 0; page < 10 && out.length < limit; page++) {
      const res = await this.http.get('/clients', {
        params: { fields: 'client_id,name', include_fields: true, per_page: PER_PAGE, page },
      });
      const clients = parseResponse(ClientSchema.array(), res.data, 'Auth0 clients');
      for (const c of clients)
        if (c.name.toLowerCase().includes(q)) out.push({ id: c.client_id, name: c.name });
      if (clients.length < PER_PAGE) break;
    }
    return out.slice(0, limit);
  }

  async getApplication(applicationId: string): Promise<IdpApplication> {
    const res = await this.http.get(`/clients/${enc(applicationId)}`, {
      params: { fields: 'client_id,name', include_fields: true },
    });
    const c = parseResponse(ClientSchema, res.data, 'Auth0 client');
    return { id: c.client_id, name: c.name };
  }

  async searchResourceServers(query: string, limit = 20): Promise<IdpResourceServer[]> {
    const q = query.toLowerCase();
    const out: IdpResourceServer[] = [];
    for (let page = 0; page < 10 && out.length < limit; page++) {
      const res = await this.http.get('/resource-servers', { params: { per_page: PER_PAGE, page } });
      const servers = parseResponse(ResourceServerSchema.array(), res.data, 'Auth0 resource servers');
      for (const s of servers) {
        if (s.name.toLowerCase().includes(q) || s.identifier.toLowerCase().includes(q))
          out.push(toResourceServer(s));
      }
      if (servers.length < PER_PAGE) break;
    }
    return out.slice(0, limit);
  }

  async getResourceServer(resourceServerId: string): Promise<IdpResourceServer> {
    const res = await this.http.get(`/resource-servers/${enc(resourceServerId)}`);
    return toResourceServer(parseResponse(ResourceServerSchema, res.data, 'Auth0 resource server'));
  }

  async listUserTokens(userId: string): Promise<TokenInfo[]> {
    return (await this.userTokens(userId)).map((t) => ({
      id: t.id,
      userId: t.user_id,
      type: 'refresh_token',
      applicationId: t.client_id,
      ...(t.resource_servers?.[0] ? { resourceServerId: t.resource_servers[0].audience } : {}),
      scopes: (t.resource_servers ?? []).flatMap((r) => (r.scopes ? r.scopes.split(' ') : [])),
      ...(t.created_at ? { issuedAt: t.created_at } : {}),
      ...(t.expires_at ? { expiresAt: t.expires_at } : {}),
    }));
  }

  async plan(target: Target): Promise<RevocationPlan> {
    if (target.kind === 'token') {
      return {
        target,
        steps: [target],
        tokens: [{ id: target.tokenId, userId: target.userId }],
        userCount: 1,
        tokenCount: 1,
      };
    }
    const tokens = (await this.tokensIn(target)).map(toRef);
    // A user: one bulk step (`DELETE /users/{id}/refresh-tokens`, then their sessions), the widest call
    // Auth0 has; it answers nothing, so the listing is the record the audit is reconciled from.
    if (target.kind === 'user') return singleStepPlan(target, 1, tokens);
    // An application or an API has no bulk call: per-token steps, and the sweep repeats the search for
    // tokens issued since the plan (the verifying search would only find them, not revoke them).
    return perTokenPlan(target, tokens, true);
  }

  async revoke(step: Target): Promise<RevokeResult> {
    switch (step.kind) {
      case 'token': {
        // 404: already revoked by an earlier attempt of this step.
        const done = await unlessNotFound(async () => {
          await this.planGated(() => this.http.delete(`/refresh-tokens/${enc(step.tokenId)}`));
          return true;
        }, false);
        return { revoked: done ? [{ id: step.tokenId, userId: step.userId }] : [] };
      }
      case 'user':
        await this.planGated(() => this.http.delete(`/users/${enc(step.userId)}/refresh-tokens`));
        await this.planGated(() => this.http.delete(`/users/${enc(step.userId)}/sessions`));
        return { revoked: [] };
      case 'application':
      case 'resourceServer': {
        const revoked: TokenRef[] = [];
        for (const t of await this.tokensIn(step)) {
          revoked.push(...(await this.revoke({ kind: 'token', userId: t.user_id, tokenId: t.id })).revoked);
        }
        return { revoked };
      }
    }
  }

  async verify(target: Target): Promise<VerifyResult> {
    if (target.kind === 'token') {
      const alive = await unlessNotFound(async () => {
        await this.planGated(() => this.http.get(`/refresh-tokens/${enc(target.tokenId)}`));
        return true;
      }, false);
      const remaining = alive ? [{ id: target.tokenId, userId: target.userId }] : [];
      return { ok: !alive, remaining, method: 'list' };
    }
    const remaining = (await this.tokensIn(target)).map(toRef);
    return { ok: remaining.length === 0, remaining, method: 'list' };
  }

  /**
   * Reachability, and the start-up probe of the plan: one user's refresh tokens are asked for, so a tenant
   * whose plan lacks those endpoints declares every scope unsupported before anyone asks for one.
   */
  async ping(): Promise<void> {
    const res = await this.http.get('/clients', { params: { fields: 'client_id,name', per_page: 1 } });
    parseResponse(ClientSchema.array(), res.data, 'Auth0 ping');
    const users = await this.http.get('/users', {
      params: { fields: 'user_id', include_fields: true, per_page: 1 },
    });
    const first = parseResponse(z.array(z.object({ user_id: z.string() })), users.data, 'Auth0 user list')[0];
    if (!first) return;
    try {
      await this.userTokens(first.user_id, 1);
    } catch (err) {
      if (!(err instanceof IdpUnsupportedError)) throw err; // declared: ready, with fewer scopes
    }
  }

  /**
   * A call to an Enterprise-only endpoint. A 403 that is not a missing permission (`insufficient_scope`) is
   * Auth0 refusing the feature on this plan: every scope is then declared unsupported with that reason, so
   * Slack and the CLI refuse plainly instead of failing in a worker.
   */
  private async planGated<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (
        err instanceof IdpUnauthorizedError &&
        err.status === 403 &&
        auth0ErrorCode(err) !== 'insufficient_scope'
      ) {
        for (const scope of SCOPES) {
          this.capabilities.scopes[scope] = false;
          this.capabilities.unsupportedReasons[scope] = AUTH0_PLAN_REASON;
        }
        this.capabilities.listTokens = false;
        throw new IdpUnsupportedError(AUTH0_PLAN_REASON, { status: 403, cause: err });
      }
      throw err;
    }
  }

  private async tokensIn(target: Exclude<Target, { kind: 'token' }>): Promise<RefreshToken[]> {
    if (target.kind === 'user') return this.userTokens(target.userId);
    let keep: (t: RefreshToken) => boolean;
    if (target.kind === 'application') {
      keep = (t) => t.client_id === target.applicationId;
    } else {
      const audience = (await this.getResourceServer(target.resourceServerId)).audience;
      keep = (t) => (t.resource_servers ?? []).some((r) => r.audience === audience);
    }
    const out: RefreshToken[] = [];
    for (const userId of await this.allUserIds()) out.push(...(await this.userTokens(userId)).filter(keep));
    return out;
  }

  private async userTokens(userId: string, limit = Number.POSITIVE_INFINITY): Promise<RefreshToken[]> {
    const out: RefreshToken[] = [];
    let from: string | undefined;
    for (let page = 0; page < MAX_PAGES && out.length < limit; page++) {
      const res: AxiosResponse<unknown> = await this.planGated(() =>
        this.http.get(`/users/${enc(userId)}/refresh-tokens`, {
          params: { take: Math.min(PER_PAGE, limit), ...(from ? { from } : {}) },
        }),
      );
      const body = parseResponse(RefreshTokenPageSchema, res.data, 'Auth0 refresh tokens');
      out.push(...body.tokens);
      from = body.next ?? undefined;
      if (!from || body.tokens.length === 0) break;
    }
    return out;
  }

  /**
   * Every user id. Paged listing stops at 1,000 users (Auth0 "Retrieve Users with the Get Users Endpoint":
   * "limits the number of users you can retrieve to 1000 … use the export job"), so a larger tenant is read
   * through a user export job (`POST /jobs/users-exports`), the documented way past the cap.
   */
  private async allUserIds(): Promise<string[]> {
    const ids: string[] = [];
    for (let page = 0; page * PER_PAGE < LISTING_CAP; page++) {
      const res: AxiosResponse<unknown> = await this.http.get('/users', {
        params: { fields: 'user_id', include_fields: true, per_page: PER_PAGE, page, include_totals: true },
      });
      const body = parseResponse(UserPageSchema, res.data, 'Auth0 user list');
      if (body.total > LISTING_CAP) return this.exportUserIds();
      ids.push(...body.users.map((u) => u.user_id));
      if (body.users.length < PER_PAGE) break;
    }
    return ids;
  }

  /** A user export job (JSON lines, gzipped) of `user_id` only, polled until Auth0 has written it. */
  private async exportUserIds(): Promise<string[]> {
    const created = await this.http.post('/jobs/users-exports', {
      format: 'json',
      fields: [{ name: 'user_id' }],
    });
    let job = parseResponse(ExportJobSchema, created.data, 'Auth0 users-exports job');
    const deadline = Date.now() + this.exportTimeoutMs;
    while (job.status !== 'completed') {
      if (job.status === 'failed') throw new IdpBadResponseError(`Auth0 user export job ${job.id} failed`);
      if (Date.now() > deadline)
        throw new IdpTransientError(`Auth0 user export job ${job.id} is still running`);
      await delay(this.exportPollMs);
      const res = await this.http.get(`/jobs/${enc(job.id)}`);
      job = parseResponse(ExportJobSchema, res.data, 'Auth0 job');
    }
    if (!job.location) throw new IdpBadResponseError(`Auth0 user export job ${job.id} has no location`);
    // A pre-signed download URL on another host: fetched without our Management API token.
    const file = createIdpHttpClient({ baseURL: job.location, idpName: 'Auth0 export' });
    const res = await file.get('', { responseType: 'arraybuffer' });
    const text = gunzipSync(Buffer.from(res.data as ArrayBuffer)).toString('utf8');
    const line = z.object({ user_id: z.string() });
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => parseResponse(line, parseJsonLine(l), 'Auth0 user export').user_id);
  }
}

/** One line of the export file; a line that is no JSON is a bad answer (never echoed: it is user data). */
function parseJsonLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw new IdpBadResponseError('Auth0 user export: a line is not JSON');
  }
}

/** Auth0's `errorCode` of the answer behind an IdP error (`insufficient_scope`, …). */
function auth0ErrorCode(err: IdpUnauthorizedError): string | undefined {
  const data = (err.cause as { response?: { data?: unknown } } | undefined)?.response?.data;
  const code = data && typeof data === 'object' ? (data as { errorCode?: unknown }).errorCode : undefined;
  return typeof code === 'string' ? code : undefined;
}

function toUser(u: z.infer<typeof Auth0UserSchema>): IdpUser {
  return {
    id: u.user_id,
    userName: u.username ?? u.email ?? u.nickname ?? u.user_id,
    ...(u.email ? { email: u.email } : {}),
    ...(u.name ? { displayName: u.name } : {}),
    active: u.blocked !== true,
  };
}

function toResourceServer(s: z.infer<typeof ResourceServerSchema>): IdpResourceServer {
  return { id: s.id, name: s.name, audience: s.identifier, scopes: (s.scopes ?? []).map((x) => x.value) };
}

function toRef(t: RefreshToken): TokenRef {
  return { id: t.id, userId: t.user_id };
}
