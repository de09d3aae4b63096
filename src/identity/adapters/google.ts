import type { AxiosInstance, AxiosResponse } from 'axios';
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
import { enc, MAX_PAGES, perTokenPlan, unlessNotFound, unsupported } from './support.ts';

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

/** Read users, manage their third-party tokens (Directory API scopes). */
export const GOOGLE_SCOPES = [
  'https://www.googleapis.com/auth/admin.directory.user.readonly',
  'https://www.googleapis.com/auth/admin.directory.user.security',
];

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
      application:
        "Asks every user of the domain for this app's token (one call per user) and revokes it where held.",
    },
    listTokens: true,
    search: true,
  };
  private readonly http: AxiosInstance;
  private readonly customer: string;

  constructor(options: GoogleIdentityProviderOptions) {
    const account = parseServiceAccount(options.serviceAccount);
    // One JWT client (and so one cached token) however many calls race for the first one.
    let loading: Promise<JWT> | undefined;
    let jwt: JWT | undefined;
    this.customer = options.customer ?? 'my_customer';
    this.http = createIdpHttpClient({
      baseURL: `${(options.adminUrl ?? 'https://admin.googleapis.com').replace(/\/+$/, '')}/admin/directory/v1`,
      auth: async () => {
        loading ??= delegatedJwt(account, options.subject, options.tokenUrl);
        jwt = await loading;
        const { token } = await jwt.getAccessToken().catch((err: unknown) => {
          throw tokenError(err);
        });
        if (!token) throw new IdpUnauthorizedError('Google returned no access token');
        return token;
      },
      // A 401 means the cached token was revoked: drop it so the retry signs a new assertion.
      invalidateAuth: () => {
        if (jwt) jwt.credentials = {};
      },
      idpName: 'Google Directory',
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
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
        const refs = (await this.userTokens(target.userId)).map((t) => ({
          id: t.clientId,
          userId: target.userId,
        }));
        // The sweep (list and delete again) catches apps authorised after planning.
        return perTokenPlan(target, refs, true);
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

  async verify(target: Target): Promise<VerifyResult> {
    switch (target.kind) {
      case 'token': {
        const remaining = (await this.userTokens(target.userId))
          .filter((t) => t.clientId === target.tokenId)
          .map((t) => ({ id: t.clientId, userId: target.userId }));
        return { ok: remaining.length === 0, remaining, method: 'list' };
      }
      case 'user': {
        const remaining = (await this.userTokens(target.userId)).map((t) => ({
          id: t.clientId,
          userId: target.userId,
        }));
        return { ok: remaining.length === 0, remaining, method: 'list' };
      }
      case 'application': {
        // The same per-user look-up as planning: a user still holding the client's token is a remainder.
        const remaining = await this.appHolders(target.applicationId);
        return { ok: remaining.length === 0, remaining, method: 'list' };
      }
      case 'resourceServer':
        throw unsupported(this.capabilities, 'resourceServer', 'Google Workspace');
    }
  }

  async ping(): Promise<void> {
    const res = await this.http.get('/users', { params: { customer: this.customer, maxResults: 1 } });
    parseResponse(UserListSchema, res.data, 'Google ping');
  }

  private async userTokens(userId: string): Promise<GoogleToken[]> {
    const res = await this.http.get(`/users/${enc(userId)}/tokens`);
    return parseResponse(TokenListSchema, res.data, 'Google token list').items ?? [];
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
): Promise<JWT> {
  const { JWT } = await import('google-auth-library');
  const jwt = new JWT({
    email: account.client_email,
    key: account.private_key,
    scopes: GOOGLE_SCOPES,
    subject,
    eagerRefreshThresholdMillis: 60_000,
  });
  if (tokenUrl && tokenUrl !== GOOGLE_TOKEN_URL) {
    jwt.transporter.interceptors.request.add({
      resolved: async (config) => {
        if (String(config.url) === GOOGLE_TOKEN_URL) config.url = new URL(tokenUrl);
        return config;
      },
    });
  }
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

function toUser(u: z.infer<typeof GoogleUserSchema>): IdpUser {
  return {
    id: u.id,
    userName: u.primaryEmail,
    email: u.primaryEmail,
    ...(u.name?.fullName ? { displayName: u.name.fullName } : {}),
    active: !u.suspended && !u.archived,
  };
}
