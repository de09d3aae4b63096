import { randomUUID } from 'node:crypto';
import type { AxiosInstance } from 'axios';
// Types only: jose is loaded when a service app first signs, so API-token and other IdPs never pay for it.
import type { JWK } from 'jose';
import { z } from 'zod';
import { ConflictError } from '../../domain/errors.ts';
import type { Scope, Target } from '../../domain/target.ts';
import { ClientCredentialsTokenCache } from '../client-credentials.ts';
import { IdpNotFoundError } from '../errors.ts';
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
import { bulkPlan, enc, getAllLinked, unlessNotFound } from './support.ts';

export interface OktaIdentityProviderOptions {
  /** The Okta org, e.g. `https://acme.okta.com` (any base URL, so a local stand-in works). */
  orgUrl: string;
  /** An API token, sent as `Authorization: SSWS <token>`; or give `oauth` (Okta's recommendation). */
  apiToken?: string;
  /**
   * An Okta API service app (OAuth 2.0 client credentials with `private_key_jwt`): its client id, its private
   * key (PKCS#8 PEM or a JWK as JSON) and the key id registered with it.
   */
  oauth?: { clientId: string; privateKey: string; keyId?: string };
  /** Per-call timeout. Default: 10 000 ms. */
  timeoutMs?: number;
}

// Okta Management API shapes (Users, User OAuth, Apps, Application Tokens, Authorization Servers).
const OktaUserSchema = z.object({
  id: z.string(),
  status: z.string(),
  profile: z.object({
    login: z.string(),
    email: z.string().nullish(),
    firstName: z.string().nullish(),
    lastName: z.string().nullish(),
    displayName: z.string().nullish(),
  }),
});
const OktaAppSchema = z.object({ id: z.string(), name: z.string(), label: z.string() });
const OktaAuthServerSchema = z.object({
  id: z.string(),
  name: z.string(),
  audiences: z.array(z.string()).optional(),
});
const OktaClientSchema = z.object({ client_id: z.string(), client_name: z.string().optional() });
const OktaRefreshTokenSchema = z.object({
  id: z.string(),
  status: z.string().optional(),
  clientId: z.string(),
  userId: z.string(),
  scopes: z.array(z.string()).optional(),
  created: z.string().optional(),
  expiresAt: z.string().nullish(),
});
type OktaRefreshToken = z.infer<typeof OktaRefreshTokenSchema>;
type OktaUser = z.infer<typeof OktaUserSchema>;

/**
 * Okta OAuth scopes for the calls this adapter makes (Okta management OpenAPI spec, `security` of each
 * operation): users and their grants/tokens, apps and app tokens, authorization servers and their clients.
 */
export const OKTA_SCOPES = [
  'okta.users.read',
  'okta.users.manage',
  'okta.apps.read',
  'okta.apps.manage',
  'okta.authorizationServers.read',
  'okta.authorizationServers.manage',
];

/**
 * What Okta cannot show. Sessions: the Management API has no listing of a user's sessions (UserSessions has
 * only `DELETE /api/v1/users/{userId}/sessions`, developer.okta.com/docs/api/openapi/okta-management/
 * management/tag/UserSessions/), and "app-level sessions aren't affected" by it (developer.okta.com/docs/
 * guides/oie-embedded-sdk-use-case-basic-sign-out/). Access tokens: no listing either.
 */
const SESSIONS_WHY =
  "Okta offers no listing of a user's sessions (UserSessions has only DELETE), and sessions an app keeps itself are not ended by it";
const USER_ACCESS_WHY =
  'Okta offers no listing of access tokens; DELETE /api/v1/users/{id}/sessions?oauthTokens=true revokes them, which nobody can read back';
/**
 * Application and authorization-server scopes revoke refresh tokens only: "Revokes all OAuth 2.0 refresh
 * tokens for the specified app. Any access tokens issued with these refresh tokens are also revoked, but
 * access tokens issued without a refresh token aren't affected." (ApplicationTokens
 * revokeOAuth2TokensForApplication; AuthorizationServerClients revokeRefreshTokensForAuthorizationServerAndClient.)
 */
const APP_ACCESS_WHY =
  "Okta revokes refresh tokens only here: access tokens issued without a refresh token aren't affected and live until they expire, and Okta lists no access tokens";
/** revokeTokenForUserAndClient "Revokes the specified refresh token" (REF UserOAuth): nothing about access tokens. */
const TOKEN_ACCESS_WHY =
  'Okta revokes the refresh token only: access tokens already issued from it stay valid until they expire, and Okta lists no access tokens';
const USER_NOTE =
  "Ends the user's Okta sessions and revokes their refresh and access tokens; only refresh tokens can be verified (Okta lists no sessions or access tokens), so the outcome says sessions are unverifiable.";
const APP_NOTE =
  "Revokes the refresh tokens of this app (and access tokens issued with them); access tokens issued without a refresh token aren't affected and live until they expire.";
/** An id no Okta object has (Okta ids are 20 alphanumerics): the doctor's write probes aim at it. */
const PROBE_ID = 'revoker-doctor-probe';

/** Users who can no longer sign in. */
const INACTIVE = new Set(['DEPROVISIONED', 'SUSPENDED', 'STAGED']);
const PAGE = 200;

/**
 * Okta through its Management API. Token ids are `{clientId}:{tokenId}`, since Okta addresses a user's
 * refresh token by user, client and token (`DELETE /api/v1/users/{u}/clients/{c}/tokens/{t}`).
 */
export class OktaIdentityProvider implements IdentityProvider {
  readonly name = 'okta';
  readonly capabilities: Capabilities = {
    scopes: { token: true, user: true, application: true, resourceServer: true },
    unsupportedReasons: {},
    notes: {
      token:
        'Okta revokes the refresh token; access tokens already issued from it stay valid until they expire.',
      user: USER_NOTE,
      application: APP_NOTE,
      resourceServer: `${APP_NOTE.replace('this app', "this authorization server's clients")}`,
    },
    listTokens: true,
    search: true,
  };
  private readonly http: AxiosInstance;

  constructor(options: OktaIdentityProviderOptions) {
    const orgUrl = options.orgUrl.replace(/\/+$/, '');
    const oauth = options.oauth;
    const tokens = oauth
      ? new ClientCredentialsTokenCache({
          tokenUrl: `${orgUrl}/oauth2/v1/token`,
          clientId: oauth.clientId,
          clientSecret: '',
          idpName: 'Okta',
          // private_key_jwt (RFC 7523 §2.2): a fresh signed assertion per token request.
          body: async () => ({
            grant_type: 'client_credentials',
            scope: OKTA_SCOPES.join(' '),
            client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
            client_assertion: await clientAssertion(oauth, `${orgUrl}/oauth2/v1/token`),
          }),
        })
      : undefined;
    if (!tokens && !options.apiToken) throw new Error('Okta needs an API token or an OAuth service app');
    this.http = createIdpHttpClient({
      baseURL: orgUrl,
      ...(tokens
        ? { auth: tokens.getToken, invalidateAuth: tokens.invalidate }
        : { headers: { Authorization: `SSWS ${options.apiToken}` } }),
      idpName: 'Okta',
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
  }

  async searchUsers(query: string, limit = 20): Promise<IdpUser[]> {
    const res = await this.http.get('/api/v1/users', { params: { q: query, limit } });
    return parseResponse(OktaUserSchema.array(), res.data, 'Okta user search').slice(0, limit).map(toUser);
  }

  async getUser(userId: string): Promise<IdpUser> {
    const res = await this.http.get(`/api/v1/users/${enc(userId)}`);
    return toUser(parseResponse(OktaUserSchema, res.data, 'Okta user'));
  }

  /**
   * The one active user with this email. Okta does not keep emails unique and lists DEPROVISIONED users too
   * (listUsers `search`), so a look-up never picks: several active matches, or only inactive ones, is a
   * refusal naming the candidates' ids (`ConflictError`, `revoker_conflict`). Okta compares `eq` on strings
   * case-insensitively (developer.okta.com/docs/api/#filter: "eq … case insensitive for strings"); `limit`
   * ≤ 200 (listUsers), one page is enough to see the ambiguity.
   */
  async findUserByEmail(email: string): Promise<IdpUser | undefined> {
    const search = `profile.email eq "${email.replace(/["\\]/g, '')}"`;
    const res = await this.http.get('/api/v1/users', { params: { search, limit: PAGE } });
    const users = parseResponse(OktaUserSchema.array(), res.data, 'Okta user search');
    const active = users.filter((u) => !INACTIVE.has(u.status));
    if (active.length === 1) return toUser(active[0]!);
    if (users.length === 0) return undefined;
    const list = users.map((u) => `${u.id} (${u.status})`).join(', ');
    throw new ConflictError(
      active.length === 0
        ? `the Okta users with the email ${email} are all inactive: ${list}; name the user by id`
        : `${active.length} active Okta users have the email ${email}: ${list}; name the user by id`,
    );
  }

  async searchApplications(query: string, limit = 20): Promise<IdpApplication[]> {
    const res = await this.http.get('/api/v1/apps', { params: { q: query, limit } });
    return parseResponse(OktaAppSchema.array(), res.data, 'Okta app search')
      .slice(0, limit)
      .map((a) => ({ id: a.id, name: a.label }));
  }

  async getApplication(applicationId: string): Promise<IdpApplication> {
    const res = await this.http.get(`/api/v1/apps/${enc(applicationId)}`);
    const app = parseResponse(OktaAppSchema, res.data, 'Okta app');
    return { id: app.id, name: app.label };
  }

  async searchResourceServers(query: string, limit = 20): Promise<IdpResourceServer[]> {
    const res = await this.http.get('/api/v1/authorizationServers', { params: { q: query, limit } });
    return parseResponse(OktaAuthServerSchema.array(), res.data, 'Okta authorization server search')
      .slice(0, limit)
      .map(toResourceServer);
  }

  async getResourceServer(resourceServerId: string): Promise<IdpResourceServer> {
    const res = await this.http.get(`/api/v1/authorizationServers/${enc(resourceServerId)}`);
    return toResourceServer(parseResponse(OktaAuthServerSchema, res.data, 'Okta authorization server'));
  }

  async listUserTokens(userId: string): Promise<TokenInfo[]> {
    return (await this.userTokens(userId)).filter(isLive).map(toTokenInfo);
  }

  async plan(target: Target): Promise<RevocationPlan> {
    if (target.kind === 'token') {
      return { target, steps: [target], tokens: [toRefFromTarget(target)], userCount: 1, tokenCount: 1 };
    }
    // Okta's widest call is the plan: a user's sessions with `oauthTokens=true`, an app's tokens, an
    // authorization server's tokens per client. The listing is the record the audit is reconciled with.
    return bulkPlan(target, (await this.tokensIn(target)).map(toRef));
  }

  async revoke(step: Target): Promise<RevokeResult> {
    switch (step.kind) {
      case 'token': {
        const split = splitTokenId(step.tokenId);
        const clientId =
          split?.clientId ??
          (await this.userTokens(step.userId)).find((t) => t.id === step.tokenId)?.clientId;
        if (!clientId) return { revoked: [] }; // no longer listed: already revoked
        const tokenId = split?.tokenId ?? step.tokenId;
        const path = `/api/v1/users/${enc(step.userId)}/clients/${enc(clientId)}/tokens/${enc(tokenId)}`;
        const gone = await unlessNotFound(async () => {
          await this.http.delete(path);
          return false;
        }, true);
        // A retried step finds the token gone: fine, unless the user itself is unknown.
        if (gone) await this.getUser(step.userId);
        return { revoked: gone ? [] : [{ id: step.tokenId, userId: step.userId }] };
      }
      case 'user':
        // Ends the user's sessions and revokes their OIDC/OAuth refresh and access tokens. On Identity
        // Engine `forgetDevices` defaults to true (it also forgets remembered MFA factors/devices): a token
        // revocation must not do that silently, so it is sent false explicitly.
        await this.http.delete(`/api/v1/users/${enc(step.userId)}/sessions`, {
          params: { oauthTokens: true, forgetDevices: false },
        });
        return { revoked: [] };
      case 'application':
        await this.http.delete(`/api/v1/apps/${enc(step.applicationId)}/tokens`);
        return { revoked: [] };
      case 'resourceServer': {
        const as = enc(step.resourceServerId);
        for (const client of await this.authServerClients(step.resourceServerId)) {
          await this.http.delete(
            `/api/v1/authorizationServers/${as}/clients/${enc(client.client_id)}/tokens`,
          );
        }
        return { revoked: [] };
      }
    }
  }

  /**
   * Re-lists what Okta can list: refresh tokens. With `since`, only tokens Okta created before it count (a
   * user who signs in again mid-request is out of this request's scope). The parts say what was verified
   * and what Okta cannot show: sessions and access tokens for a user; access tokens issued without a
   * refresh token for an app or an authorization server.
   */
  async verify(target: Target, context: VerifyContext = {}): Promise<VerifyResult> {
    if (target.kind === 'token') {
      const { clientId } = await this.resolveToken(target.userId, target.tokenId);
      const remaining = clientId ? [toRefFromTarget(target)] : [];
      return {
        ok: remaining.length === 0,
        remaining,
        method: 'list',
        parts: [
          listed('refresh token', remaining),
          { part: 'access tokens', outcome: 'unverifiable', why: TOKEN_ACCESS_WHY },
        ],
      };
    }
    const cutoff = context.since?.getTime();
    const remaining = (await this.tokensIn(target))
      .filter((t) => cutoff === undefined || t.created === undefined || Date.parse(t.created) < cutoff)
      .map(toRef);
    const refresh = listed(
      cutoff === undefined ? 'refresh tokens' : 'refresh tokens issued before the start',
      remaining,
    );
    const parts: PartOutcome[] =
      target.kind === 'user'
        ? [
            refresh,
            { part: 'access tokens', outcome: 'unverifiable', why: USER_ACCESS_WHY },
            { part: 'sessions', outcome: 'unverifiable', why: SESSIONS_WHY },
          ]
        : [refresh, { part: 'access tokens', outcome: 'unverifiable', why: APP_ACCESS_WHY }];
    return { ok: remaining.length === 0, remaining, method: 'list', parts };
  }

  /**
   * For `revoker doctor`: each permission a declared scope needs, the write ones included, probed without
   * revoking anything: reads list one item; writes DELETE on an id no Okta object has, which Okta answers
   * 404 E0000007 when the caller may, 403 E0000006 when not (developer.okta.com/docs/reference/error-codes/).
   */
  async probePermissions(): Promise<PermissionProbe[]> {
    const p = PROBE_ID;
    const probes: Array<{ scope: Scope | 'lookup'; permission: string; run: () => Promise<unknown> }> = [
      {
        scope: 'lookup',
        permission: 'okta.users.read',
        run: () => this.http.get('/api/v1/users', { params: { limit: 1 } }),
      },
      {
        scope: 'user',
        permission: 'okta.users.manage',
        run: () =>
          this.http.delete(`/api/v1/users/${p}/sessions`, {
            params: { oauthTokens: true, forgetDevices: false },
          }),
      },
      {
        scope: 'token',
        permission: 'okta.users.manage',
        run: () => this.http.delete(`/api/v1/users/${p}/clients/${p}/tokens/${p}`),
      },
      {
        scope: 'application',
        permission: 'okta.apps.read',
        run: () => this.http.get('/api/v1/apps', { params: { limit: 1 } }),
      },
      {
        scope: 'application',
        permission: 'okta.apps.manage',
        run: () => this.http.delete(`/api/v1/apps/${p}/tokens`),
      },
      {
        scope: 'resourceServer',
        permission: 'okta.authorizationServers.read',
        run: () => this.http.get('/api/v1/authorizationServers', { params: { limit: 1 } }),
      },
      {
        scope: 'resourceServer',
        permission: 'okta.authorizationServers.manage',
        run: () => this.http.delete(`/api/v1/authorizationServers/${p}/clients/${p}/tokens`),
      },
    ];
    const out: PermissionProbe[] = [];
    for (const probe of probes) out.push(await probePermission(probe.scope, probe.permission, probe.run));
    return out;
  }

  async ping(): Promise<void> {
    const res = await this.http.get('/api/v1/users', { params: { limit: 1 } });
    parseResponse(OktaUserSchema.array(), res.data, 'Okta ping');
  }

  /** Live tokens in scope: Okta keeps listing revoked ones (`status: REVOKED`) for a while. */
  private async tokensIn(target: Exclude<Target, { kind: 'token' }>): Promise<OktaRefreshToken[]> {
    return (await this.allTokensIn(target)).filter(isLive);
  }

  private async allTokensIn(target: Exclude<Target, { kind: 'token' }>): Promise<OktaRefreshToken[]> {
    switch (target.kind) {
      case 'user':
        return this.userTokens(target.userId);
      case 'application':
        return getAllLinked(
          this.http,
          `/api/v1/apps/${enc(target.applicationId)}/tokens`,
          { limit: PAGE },
          OktaRefreshTokenSchema,
          'Okta app tokens',
        );
      case 'resourceServer': {
        const out: OktaRefreshToken[] = [];
        const as = enc(target.resourceServerId);
        for (const client of await this.authServerClients(target.resourceServerId)) {
          out.push(
            ...(await getAllLinked(
              this.http,
              `/api/v1/authorizationServers/${as}/clients/${enc(client.client_id)}/tokens`,
              { limit: PAGE },
              OktaRefreshTokenSchema,
              'Okta authorization server tokens',
            )),
          );
        }
        return out;
      }
    }
  }

  private async userTokens(userId: string): Promise<OktaRefreshToken[]> {
    const res = await this.http.get(`/api/v1/users/${enc(userId)}/clients`);
    const clients = parseResponse(OktaClientSchema.array(), res.data, 'Okta user clients');
    const out: OktaRefreshToken[] = [];
    for (const c of clients) {
      out.push(
        ...(await getAllLinked(
          this.http,
          `/api/v1/users/${enc(userId)}/clients/${enc(c.client_id)}/tokens`,
          { limit: PAGE },
          OktaRefreshTokenSchema,
          'Okta user tokens',
        )),
      );
    }
    return out;
  }

  private async authServerClients(authServerId: string) {
    const res = await this.http.get(`/api/v1/authorizationServers/${enc(authServerId)}/clients`);
    return parseResponse(OktaClientSchema.array(), res.data, 'Okta authorization server clients');
  }

  /**
   * `{clientId}:{tokenId}` splits directly; a bare Okta token id is looked up among the user's tokens.
   * `clientId` undefined ⇒ the user has no such token (any more).
   */
  private async resolveToken(
    userId: string,
    id: string,
  ): Promise<{ clientId: string | undefined; tokenId: string }> {
    const split = splitTokenId(id);
    if (split) {
      const { clientId, tokenId } = split;
      const path = `/api/v1/users/${enc(userId)}/clients/${enc(clientId)}/tokens/${enc(tokenId)}`;
      try {
        const res = await this.http.get(path);
        const t = parseResponse(OktaRefreshTokenSchema, res.data, 'Okta token');
        return { clientId: t.status === 'REVOKED' ? undefined : clientId, tokenId };
      } catch (err) {
        if (err instanceof IdpNotFoundError) {
          await this.getUser(userId);
          return { clientId: undefined, tokenId };
        }
        throw err;
      }
    }
    const found = (await this.userTokens(userId)).filter(isLive).find((t) => t.id === id);
    return { clientId: found?.clientId, tokenId: id };
  }
}

/** A listed part: verified when nothing is left, else failed naming what still works. */
function listed(part: string, remaining: TokenRef[]): PartOutcome {
  return remaining.length === 0
    ? { part, outcome: 'verified', method: 'list' }
    : { part, outcome: 'failed', why: `${remaining.length} still work after revocation`, remaining };
}

function isLive(t: OktaRefreshToken): boolean {
  return t.status !== 'REVOKED';
}

/** The `private_key_jwt` client assertion Okta's token endpoint expects (iss = sub = client id, aud = endpoint). */
async function clientAssertion(
  oauth: NonNullable<OktaIdentityProviderOptions['oauth']>,
  audience: string,
): Promise<string> {
  const { importJWK, importPKCS8, SignJWT } = await import('jose');
  const raw = oauth.privateKey.trim();
  const key = raw.startsWith('{')
    ? await importJWK(JSON.parse(raw) as JWK, 'RS256')
    : await importPKCS8(raw, 'RS256');
  const kid = oauth.keyId ?? (raw.startsWith('{') ? (JSON.parse(raw) as JWK).kid : undefined);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', ...(kid ? { kid } : {}) })
    .setIssuer(oauth.clientId)
    .setSubject(oauth.clientId)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime('5m')
    .setJti(randomUUID())
    .sign(key);
}

function splitTokenId(id: string): { clientId: string; tokenId: string } | undefined {
  const i = id.indexOf(':');
  return i > 0 ? { clientId: id.slice(0, i), tokenId: id.slice(i + 1) } : undefined;
}

function toUser(u: OktaUser): IdpUser {
  const p = u.profile;
  const name = p.displayName ?? ([p.firstName, p.lastName].filter(Boolean).join(' ') || undefined);
  return {
    id: u.id,
    userName: p.login,
    ...(p.email ? { email: p.email } : {}),
    ...(name ? { displayName: name } : {}),
    active: !INACTIVE.has(u.status),
  };
}

function toResourceServer(a: z.infer<typeof OktaAuthServerSchema>): IdpResourceServer {
  return { id: a.id, name: a.name, ...(a.audiences?.[0] ? { audience: a.audiences[0] } : {}) };
}

function toRef(t: OktaRefreshToken): TokenRef {
  return { id: `${t.clientId}:${t.id}`, userId: t.userId };
}

function toRefFromTarget(t: Extract<Target, { kind: 'token' }>): TokenRef {
  return { id: t.tokenId, userId: t.userId };
}

function toTokenInfo(t: OktaRefreshToken): TokenInfo {
  return {
    id: `${t.clientId}:${t.id}`,
    userId: t.userId,
    type: 'refresh_token',
    applicationId: t.clientId,
    scopes: t.scopes ?? [],
    ...(t.created ? { issuedAt: t.created } : {}),
    ...(t.expiresAt ? { expiresAt: t.expiresAt } : {}),
  };
}
