import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
// Types only: the library itself is loaded on first use, so processes that run another IdP never pay for it.
import type { JWT } from 'google-auth-library';
import { z } from 'zod';
import type { Target } from '../../domain/target.ts';
import {
  IdpBadResponseError,
  type IdpError,
  IdpTransientError,
  IdpUnauthorizedError,
  IdpUnsupportedError,
} from '../errors.ts';
import { createIdpHttpClient, parseResponse } from '../http-client.ts';
import { probePermission } from '../permission-probe.ts';
import type {
  Capabilities,
  IdentityProvider,
  IdpApplication,
  IdpResourceServer,
  IdpUser,
  PartOutcome,
  PermissionProbe,
  RevocationPlan,
  RevokeResult,
  TokenInfo,
  TokenRef,
  VerifyContext,
  VerifyResult,
} from '../port.ts';
import { budgetPermit } from './budget-permit.ts';
import { bulkPlan, enc, MAX_PAGES, perTokenPlan, unlessNotFound, unsupported } from './support.ts';

export interface GoogleIdentityProviderOptions {
  /** The service account key (the JSON file's content, or its parsed object) with domain-wide delegation. */
  serviceAccount: string | { client_email: string; private_key: string };
  /** The Workspace admin the service account acts as (`sub` of the JWT). */
  subject: string;
  /** Admin SDK base. Default: `https://admin.googleapis.com`. */
  adminUrl?: string;
  /** OAuth token endpoint (also the JWT `aud`). Default: `https://oauth2.googleapis.com/token`. */
  tokenUrl?: string;
  /** Which customer's users to list. Default: `my_customer` (the admin's own). */
  customer?: string;
  /** Per-call timeout. Default: 10 000 ms. */
  timeoutMs?: number;
  /**
   * Called before each request to Google's token endpoint (google-auth-library's own HTTP calls), so token
   * fetches draw from the shared IdP budget like every Directory call. Default: takes a permit from the
   * budget of the call being made (`BudgetedIdentityProvider`), none outside one.
   */
  tokenFetchPermit?: () => Promise<void>;
  /**
   * Exponential backoff for rate-limit answers that name no wait (403 `userRateLimitExceeded` /
   * `rateLimitExceeded` / `quotaExceeded`, 429 without `Retry-After`), as Google documents it: the n-th in a
   * row waits 2^(n-1) × `baseMs` plus up to 1 s at random, at most `maxMs`. Defaults: 1 000 ms, 64 000 ms,
   * `Math.random`. Any success resets the count.
   */
  backoff?: { baseMs?: number; maxMs?: number; random?: () => number };
}

const ServiceAccountSchema = z.object({ client_email: z.string().min(1), private_key: z.string().min(1) });

// Directory API v1 shapes: users.list/get, tokens.list.
const GoogleUserSchema = z.object({
  id: z.string(),
  primaryEmail: z.string(),
  name: z.object({ fullName: z.string().nullish() }).nullish(),
  suspended: z.boolean().nullish(),
  archived: z.boolean().nullish(),
});
const UserListSchema = z.object({
  users: z.array(GoogleUserSchema).optional(),
  nextPageToken: z.string().optional(),
});
const GoogleTokenSchema = z.object({
  clientId: z.string(),
  displayText: z.string().nullish(),
  anonymous: z.boolean().nullish(),
  nativeApp: z.boolean().nullish(),
  userKey: z.string().nullish(),
  scopes: z.array(z.string()).nullish(),
});
type GoogleToken = z.infer<typeof GoogleTokenSchema>;
const TokenListSchema = z.object({ items: z.array(GoogleTokenSchema).optional() });
// asps.list: application-specific passwords (developers.google.com/workspace/admin/directory/reference/rest/v1/asps).
const AspSchema = z.object({
  codeId: z.number().int(),
  name: z.string().nullish(),
  // int64 as a string of epoch milliseconds (JSON mapping of int64).
  creationTime: z.union([z.string(), z.number()]).nullish(),
});
type Asp = z.infer<typeof AspSchema>;
const AspListSchema = z.object({ items: z.array(AspSchema).optional() });

/** Google 403 reasons that are rate limits ("Limits and quotas" of the Directory API). */
const RATE_LIMIT_REASONS = new Set(['userRateLimitExceeded', 'rateLimitExceeded', 'quotaExceeded']);
/** A userKey no account has (Google ids are 21 digits): the doctor's write probes address it. */
const PROBE_USER = '000000000000000000000';
const SECURITY_SCOPE = 'https://www.googleapis.com/auth/admin.directory.user.security';
const READONLY_SCOPE = 'https://www.googleapis.com/auth/admin.directory.user.readonly';
/** users.signOut cannot be read back (developers.google.com/workspace/admin/directory/reference/rest/v1/users/signOut). */
const SESSIONS_UNVERIFIABLE =
  'users.signOut "signs a user out of all web and device sessions and reset their sign-in cookies", but the Directory API offers no listing of sessions to read it back';
/** tokens.list entries carry no issue time (Directory API `tokens` resource). */
const TOKENS_PART = 'OAuth tokens (Google lists no issue time: every token still listed counts)';

/** Read users, manage their third-party tokens (Directory API scopes). */
export const GOOGLE_SCOPES = [READONLY_SCOPE, SECURITY_SCOPE];

/**
 * Google Workspace through the Admin SDK Directory API. Google lists, per user, the third-party apps
 * holding tokens (`tokens`, one entry per OAuth client); deleting one revokes all of that client's tokens for
 * that user. A "token" here is therefore a user × client, and `tokenId` is the OAuth client id.
 */
export class GoogleIdentityProvider implements IdentityProvider {
  readonly name = 'google';
  readonly capabilities: Capabilities = {
    scopes: { token: true, user: true, application: true, resourceServer: false },
    unsupportedReasons: {
      resourceServer:
        "Google Workspace cannot revoke tokens by API; revoke the application's access instead, or all of a user's tokens.",
    },
    notes: {
      token:
        "Google revokes everything this app holds for the user (Google's tokens are per app, not one by one).",
      user: "Deletes every app's OAuth token and every app password (ASP) of the user, and signs the user out of all web and device sessions (users.signOut, which cannot be read back: reported unverifiable). App passwords created after the revocation started are not counted.",
      application:
        "Asks every user of the domain for this app's token (one call per user) and revokes it where held.",
    },
    listTokens: true,
    search: true,
  };
  private readonly http: AxiosInstance;
  private readonly customer: string;
  /** A client whose token carries only `scopes` (the doctor's probes: one scope each). */
  private readonly clientFor: (scopes: string[]) => AxiosInstance;

  constructor(options: GoogleIdentityProviderOptions) {
    const account = parseServiceAccount(options.serviceAccount);
    const permit = options.tokenFetchPermit ?? budgetPermit;
    const baseMs = options.backoff?.baseMs ?? 1000;
    const maxMs = options.backoff?.maxMs ?? 64_000;
    const random = options.backoff?.random ?? Math.random;
    const timeoutMs = options.timeoutMs ?? 10_000;
    this.customer = options.customer ?? 'my_customer';
    // Rate-limit answers in a row without a named wait (Google's backoff counter); a success resets it.
    let streak = 0;
    this.clientFor = (scopes) => {
      // One JWT client (and so one cached token) however many calls race for the first one.
      let loading: Promise<JWT> | undefined;
      const client = createIdpHttpClient({
        baseURL: `${(options.adminUrl ?? 'https://admin.googleapis.com').replace(/\/+$/, '')}/admin/directory/v1`,
        auth: async () => {
          loading ??= delegatedJwt(account, options.subject, options.tokenUrl, scopes, permit, timeoutMs);
          const jwt = await loading;
          const { token } = await jwt.getAccessToken().catch((err: unknown) => {
            throw tokenError(err);
          });
          if (!token) throw new IdpUnauthorizedError('Google returned no access token');
          return token;
        },
        // A 401 means the cached token was revoked or expired early: the whole JWT client is dropped (not its
        // credentials: emptying them deletes the library's placeholder refresh token and every later
        // getAccessToken() throws), so the retry signs a new assertion with a new client.
        invalidateAuth: () => {
          loading = undefined;
        },
        idpName: 'Google Directory',
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      });
      // Google names no wait for its rate-limit answers and asks for exponential backoff
      // (developers.google.com/workspace/admin/directory/v1/limits#backoff): the wait is named here, as the
      // answer's Retry-After, before the shared client reads it (so the shared budget pauses that long).
      const transport = axios.getAdapter(client.defaults.adapter);
      client.defaults.adapter = async (config) => {
        try {
          const response = await transport(config);
          streak = 0;
          return response;
        } catch (err) {
          const response = axios.isAxiosError(err) ? err.response : undefined;
          if (response && isRateLimit(response) && !response.headers['retry-after']) {
            streak += 1;
            const wait = Math.min(
              maxMs,
              baseMs * 2 ** Math.min(streak - 1, 30) + Math.floor(random() * 1000),
            );
            response.headers['retry-after'] = (wait / 1000).toFixed(3);
          }
          throw err;
        }
      };
      return client;
    };
    this.http = this.clientFor(GOOGLE_SCOPES);
  }

  async searchUsers(query: string, limit = 20): Promise<IdpUser[]> {
    // A bare term matches name and email fields (Directory API user search).
    const res = await this.http.get('/users', {
      params: { customer: this.customer, query: query.replace(/['"\\]/g, ''), maxResults: limit },
    });
    return (parseResponse(UserListSchema, res.data, 'Google user search').users ?? [])
      .slice(0, limit)
      .map(toUser);
  }

  async getUser(userId: string): Promise<IdpUser> {
    const res = await this.http.get(`/users/${enc(userId)}`);
    return toUser(parseResponse(GoogleUserSchema, res.data, 'Google user'));
  }

  async findUserByEmail(email: string): Promise<IdpUser | undefined> {
    return unlessNotFound(() => this.getUser(email), undefined);
  }

  async searchApplications(_query: string, _limit = 20): Promise<IdpApplication[]> {
    // The Directory API has no catalogue of third-party apps; they are entered by OAuth client id.
    return [];
  }

  async getApplication(applicationId: string): Promise<IdpApplication> {
    return { id: applicationId, name: applicationId };
  }

  async searchResourceServers(_query: string, _limit = 20): Promise<IdpResourceServer[]> {
    return [];
  }

  async getResourceServer(_resourceServerId: string): Promise<IdpResourceServer> {
    throw unsupported(this.capabilities, 'resourceServer', 'Google Workspace');
  }

  async listUserTokens(userId: string): Promise<TokenInfo[]> {
    return (await this.userTokens(userId)).map((t) => ({
      id: t.clientId,
      userId,
      type: 'refresh_token',
      applicationId: t.clientId,
      scopes: t.scopes ?? [],
    }));
  }

  async plan(target: Target): Promise<RevocationPlan> {
    switch (target.kind) {
      case 'token':
        return {
          target,
          steps: [target],
          tokens: [{ id: target.tokenId, userId: target.userId }],
          userCount: 1,
          tokenCount: 1,
        };
      case 'user': {
        // One bulk step: every app's token, every app password, then users.signOut. The listing is the
        // request's record of what is in scope (tokens by client id, app passwords as `asp:<codeId>`).
        const tokens = (await this.userTokens(target.userId)).map((t) => ({
          id: t.clientId,
          userId: target.userId,
        }));
        const asps = (await this.userAsps(target.userId)).map((a) => ({
          id: aspRef(a),
          userId: target.userId,
        }));
        return bulkPlan(target, [...tokens, ...asps]);
      }
      case 'application': {
        // No per-app listing exists: ask each user of the domain for that client's token (`tokens.get`),
        // and plan one delete per user who holds one. Nobody else gets a step (or an audit entry).
        const tokens = await this.appHolders(target.applicationId);
        return perTokenPlan(target, tokens, false);
      }
      case 'resourceServer':
        throw unsupported(this.capabilities, 'resourceServer', 'Google Workspace');
    }
  }

  async revoke(step: Target): Promise<RevokeResult> {
    switch (step.kind) {
      case 'token': {
        // 404: this user has no token for that client (never had, or an earlier attempt removed it).
        const done = await unlessNotFound(async () => {
          await this.http.delete(`/users/${enc(step.userId)}/tokens/${enc(step.tokenId)}`);
          return true;
        }, false);
        return { revoked: done ? [{ id: step.tokenId, userId: step.userId }] : [] };
      }
      case 'user': {
        const revoked: TokenRef[] = [];
        for (const t of await this.userTokens(step.userId)) {
          revoked.push(
            ...(await this.revoke({ kind: 'token', userId: step.userId, tokenId: t.clientId })).revoked,
          );
        }
        // asps.delete (developers.google.com/workspace/admin/directory/reference/rest/v1/asps/delete): an app
        // password keeps IMAP/SMTP/CalDAV working whatever happens to OAuth tokens. 404: already gone.
        for (const a of await this.userAsps(step.userId)) {
          const done = await unlessNotFound(async () => {
            await this.http.delete(`/users/${enc(step.userId)}/asps/${a.codeId}`);
            return true;
          }, false);
          if (done) revoked.push({ id: aspRef(a), userId: step.userId });
        }
        // Last, so a session cannot mint what was just deleted: signs out of all web and device sessions.
        await this.http.post(`/users/${enc(step.userId)}/signOut`);
        return { revoked };
      }
      case 'application':
        throw new IdpUnsupportedError(
          'Google Workspace revokes an application user by user: run the steps of its plan, not one call.',
        );
      case 'resourceServer':
        throw unsupported(this.capabilities, 'resourceServer', 'Google Workspace');
    }
  }

  async verify(target: Target, context?: VerifyContext): Promise<VerifyResult> {
    switch (target.kind) {
      case 'token': {
        const remaining = (await this.userTokens(target.userId))
          .filter((t) => t.clientId === target.tokenId)
          .map((t) => ({ id: t.clientId, userId: target.userId }));
        return fromParts([listed(TOKENS_PART, remaining)]);
      }
      case 'user': {
        const tokens = (await this.userTokens(target.userId)).map((t) => ({
          id: t.clientId,
          userId: target.userId,
        }));
        // Only app passwords created before this revocation started are in its scope (creationTime).
        const since = context?.since?.getTime();
        const asps = (await this.userAsps(target.userId))
          .filter((a) => since === undefined || aspCreated(a) === undefined || aspCreated(a)! < since)
          .map((a) => ({ id: aspRef(a), userId: target.userId }));
        return fromParts([
          listed(TOKENS_PART, tokens),
          listed(
            since === undefined
              ? 'app passwords (ASPs)'
              : 'app passwords (ASPs) created before the revocation',
            asps,
          ),
          { part: 'web and device sessions', outcome: 'unverifiable', why: SESSIONS_UNVERIFIABLE },
        ]);
      }
      case 'application': {
        // The same per-user look-up as planning: a user still holding the client's token is a remainder.
        return fromParts([listed(TOKENS_PART, await this.appHolders(target.applicationId))]);
      }
      case 'resourceServer':
        throw unsupported(this.capabilities, 'resourceServer', 'Google Workspace');
    }
  }

  /**
   * For `revoker doctor`: each delegated scope on its own (a token asked for one scope is refused with
   * `unauthorized_client` when domain-wide delegation lacks it), then a write call of each scope on a user
   * that does not exist (404 when permitted, 403 when the admin lacks the privilege), so nothing is revoked.
   */
  async probePermissions(): Promise<PermissionProbe[]> {
    const probe = (scope: PermissionProbe['scope'], permission: string, call: () => Promise<unknown>) =>
      probePermission(
        scope,
        permission,
        call,
        (err) =>
          `not granted: add ${permission} to the service account's domain-wide delegation (${err.message})`,
      );
    const readonly = this.clientFor([READONLY_SCOPE]);
    const security = this.clientFor([SECURITY_SCOPE]);
    const out: PermissionProbe[] = [
      await probe('lookup', READONLY_SCOPE, () =>
        readonly.get('/users', { params: { customer: this.customer, maxResults: 1 } }),
      ),
      await probe('user', SECURITY_SCOPE, () => security.post(`/users/${PROBE_USER}/signOut`)),
    ];
    const tokens = await probe('token', SECURITY_SCOPE, () =>
      security.delete(`/users/${PROBE_USER}/tokens/revoker-doctor-probe.apps.googleusercontent.com`),
    );
    out.push(tokens, { ...tokens, scope: 'application' });
    return out;
  }

  async ping(): Promise<void> {
    const res = await this.http.get('/users', { params: { customer: this.customer, maxResults: 1 } });
    parseResponse(UserListSchema, res.data, 'Google ping');
  }

  private async userTokens(userId: string): Promise<GoogleToken[]> {
    const res = await this.http.get(`/users/${enc(userId)}/tokens`);
    return parseResponse(TokenListSchema, res.data, 'Google token list').items ?? [];
  }

  /** asps.list: the user's application-specific passwords. */
  private async userAsps(userId: string): Promise<Asp[]> {
    const res = await this.http.get(`/users/${enc(userId)}/asps`);
    return parseResponse(AspListSchema, res.data, 'Google ASP list').items ?? [];
  }

  /** Users holding a token of `clientId`, one `tokens.get` per user (404 ⇒ none). */
  private async appHolders(clientId: string): Promise<TokenRef[]> {
    const out: TokenRef[] = [];
    for (const userId of await this.allUserIds()) {
      const held = await unlessNotFound(async () => {
        const res = await this.http.get(`/users/${enc(userId)}/tokens/${enc(clientId)}`);
        parseResponse(GoogleTokenSchema, res.data, 'Google token');
        return true;
      }, false);
      if (held) out.push({ id: clientId, userId });
    }
    return out;
  }

  private async allUserIds(): Promise<string[]> {
    const ids: string[] = [];
    let pageToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const res: AxiosResponse<unknown> = await this.http.get('/users', {
        params: { customer: this.customer, maxResults: 500, ...(pageToken ? { pageToken } : {}) },
      });
      const body = parseResponse(UserListSchema, res.data, 'Google user list');
      ids.push(...(body.users ?? []).map((u) => u.id));
      pageToken = body.nextPageToken;
      if (!pageToken) break;
    }
    return ids;
  }
}

function parseServiceAccount(input: GoogleIdentityProviderOptions['serviceAccount']) {
  let raw: unknown = input;
  if (typeof input === 'string') {
    try {
      raw = JSON.parse(input);
    } catch {
      // Never echo the content: it is a private key.
      throw new IdpBadResponseError('GOOGLE_SERVICE_ACCOUNT_JSON is not valid JSON');
    }
  }
  const parsed = ServiceAccountSchema.safeParse(raw);
  if (!parsed.success) {
    throw new IdpBadResponseError('the Google service account key lacks client_email or private_key');
  }
  return parsed.data;
}

/**
 * Domain-wide delegation through Google's own auth library: a JWT client signing as the service account and
 * acting as `subject`, with the token cached until shortly before it expires. `tokenUrl` other than Google's
 * (a local stand-in) is reached by rewriting the library's token request; the assertion's `aud` stays
 * Google's token URL, as Google requires.
 */
async function delegatedJwt(
  account: { client_email: string; private_key: string },
  subject: string,
  tokenUrl: string | undefined,
  scopes: string[],
  permit: () => Promise<void>,
  timeoutMs: number,
): Promise<JWT> {
  const { JWT } = await import('google-auth-library');
  const jwt = new JWT({
    email: account.client_email,
    key: account.private_key,
    scopes,
    subject,
    eagerRefreshThresholdMillis: 60_000,
    // The token request is bounded by the same call timeout as every Directory call (gaxios has none by
    // default, and reads it before its interceptors run).
    transporterOptions: { timeout: timeoutMs },
  });
  jwt.transporter.interceptors.request.add({
    resolved: async (config) => {
      if (String(config.url) === GOOGLE_TOKEN_URL) {
        // A token fetch is an IdP call: it takes a permit from the shared budget like the rest.
        await permit();
        if (tokenUrl && tokenUrl !== GOOGLE_TOKEN_URL) config.url = new URL(tokenUrl);
      }
      return config;
    },
  });
  return jwt;
}

const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

/** Google refusing the assertion (400 invalid_grant / unauthorized_client) is permanent; the rest is retried. */
function tokenError(err: unknown): IdpError {
  const status = (err as { response?: { status?: unknown } } | undefined)?.response?.status;
  if (typeof status === 'number' && status >= 400 && status < 500 && status !== 429) {
    return new IdpUnauthorizedError(
      'Google refused the service account assertion (check domain-wide delegation and GOOGLE_ADMIN_SUBJECT)',
      { status, cause: err },
    );
  }
  return new IdpTransientError('Google token request failed', {
    ...(typeof status === 'number' ? { status } : {}),
    cause: err,
  });
}

/** A rate-limit answer: 429, or 403 with a usage-limit reason (Directory API "Limits and quotas"). */
function isRateLimit(response: AxiosResponse): boolean {
  if (response.status === 429) return true;
  if (response.status !== 403) return false;
  // At the transport the body is not parsed yet (axios transforms it after the adapter).
  let data: unknown = response.data;
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data);
    } catch {
      return false;
    }
  }
  const errors = (data as { error?: { errors?: { reason?: unknown }[] } } | undefined)?.error?.errors;
  return (
    Array.isArray(errors) &&
    errors.some((e) => typeof e?.reason === 'string' && RATE_LIMIT_REASONS.has(e.reason))
  );
}

const aspRef = (a: Asp) => `asp:${a.codeId}`;

function aspCreated(a: Asp): number | undefined {
  const n = Number(a.creationTime);
  return a.creationTime === null || a.creationTime === undefined || Number.isNaN(n) ? undefined : n;
}

/** A listing part: verified when empty, else failed naming what remains. */
function listed(part: string, remaining: TokenRef[]): PartOutcome {
  if (remaining.length === 0) return { part, outcome: 'verified', method: 'list' };
  return { part, outcome: 'failed', why: `${remaining.length} still work after revocation`, remaining };
}

/** ok unless a part failed (unverifiable parts are told by `parts`). */
function fromParts(parts: PartOutcome[]): VerifyResult {
  const remaining = parts.flatMap((p) => (p.outcome === 'failed' ? (p.remaining ?? []) : []));
  return { ok: !parts.some((p) => p.outcome === 'failed'), remaining, method: 'list', parts };
}

function toUser(u: z.infer<typeof GoogleUserSchema>): IdpUser {
  return {
    id: u.id,
    userName: u.primaryEmail,
    email: u.primaryEmail,
    ...(u.name?.fullName ? { displayName: u.name.fullName } : {}),
    active: !u.suspended && !u.archived,
  };
}
