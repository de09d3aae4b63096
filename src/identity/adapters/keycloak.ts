import type { AxiosInstance } from 'axios';
import { z } from 'zod';
import type { Target } from '../../domain/target.ts';
import { ClientCredentialsTokenCache } from '../client-credentials.ts';
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
  VerifyContext,
  VerifyResult,
} from '../port.ts';
import { bulkPlan, enc, MAX_PAGES, unlessNotFound, unsupported } from './support.ts';

export interface KeycloakIdentityProviderOptions {
  /** Keycloak base URL (without `/realms/…`), e.g. `https://sso.example.com`. */
  url: string;
  realm: string;
  /** A confidential client with service accounts enabled and the realm-management roles it needs. */
  clientId: string;
  clientSecret: string;
  /** Per-call timeout. Default: 10 000 ms. */
  timeoutMs?: number;
  /** Clock for the not-before timestamp. Default: `Date.now`. */
  now?: () => number;
  /** Clock skew tolerated between the worker that started the revocation and the one that set not-before. Default: 60 000 ms. */
  clockSkewMs?: number;
}

// Admin REST API shapes: UserRepresentation, UserSessionRepresentation, ClientRepresentation, GlobalRequestResult.
const KcUserSchema = z.object({
  id: z.string(),
  username: z.string(),
  email: z.string().nullish(),
  firstName: z.string().nullish(),
  lastName: z.string().nullish(),
  enabled: z.boolean().nullish(),
});
const KcSessionSchema = z.object({
  id: z.string(),
  userId: z.string(),
  username: z.string().nullish(),
  start: z.number().nullish(),
  lastAccess: z.number().nullish(),
  clients: z.record(z.string(), z.string()).nullish(),
});
type KcSession = z.infer<typeof KcSessionSchema>;
const KcClientSchema = z.looseObject({ id: z.string(), clientId: z.string(), name: z.string().nullish() });
/** UserConsentRepresentation: Keycloak lists clients holding an offline token here too ("Offline Token"). */
const KcConsentSchema = z.object({
  clientId: z.string(),
  additionalGrants: z.array(z.object({ key: z.string().nullish() })).nullish(),
});
const GlobalRequestResultSchema = z.object({
  successRequests: z.array(z.string()).nullish(),
  failedRequests: z.array(z.string()).nullish(),
});

/**
 * Keycloak through its admin REST API. A "token" is a user session (its refresh tokens die with it); a user is
 * logged out of every session; an application gets a not-before policy (tokens issued earlier are rejected)
 * pushed to the client.
 */
export class KeycloakIdentityProvider implements IdentityProvider {
  readonly name = 'keycloak';
  readonly capabilities: Capabilities = {
    scopes: { token: true, user: true, application: true, resourceServer: false },
    unsupportedReasons: {
      resourceServer:
        "Keycloak cannot revoke tokens by audience; revoke the application's tokens, or all of a user's.",
    },
    notes: {
      token: 'Keycloak ends the whole session the token belongs to (online or offline), with all its tokens.',
      user: 'Logs the user out of every session and revokes their offline tokens (and consents) client by client.',
      application:
        'Sets a not-before time on the client and pushes it: Keycloak and adapters that honour it reject older tokens.',
    },
    listTokens: true,
    search: true,
  };
  private readonly http: AxiosInstance;
  private readonly now: () => number;
  private readonly clockSkewMs: number;

  constructor(options: KeycloakIdentityProviderOptions) {
    const base = options.url.replace(/\/+$/, '');
    const realm = enc(options.realm);
    const tokens = new ClientCredentialsTokenCache({
      tokenUrl: `${base}/realms/${realm}/protocol/openid-connect/token`,
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      idpName: 'Keycloak',
    });
    this.now = options.now ?? Date.now;
    this.clockSkewMs = options.clockSkewMs ?? 60_000;
    this.http = createIdpHttpClient({
      baseURL: `${base}/admin/realms/${realm}`,
      auth: tokens.getToken,
      invalidateAuth: tokens.invalidate,
      idpName: 'Keycloak',
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
  }

  async searchUsers(query: string, limit = 20): Promise<IdpUser[]> {
    const res = await this.http.get('/users', {
      params: { search: query, max: limit, briefRepresentation: true },
    });
    return parseResponse(KcUserSchema.array(), res.data, 'Keycloak user search').slice(0, limit).map(toUser);
  }

  async getUser(userId: string): Promise<IdpUser> {
    const res = await this.http.get(`/users/${enc(userId)}`);
    return toUser(parseResponse(KcUserSchema, res.data, 'Keycloak user'));
  }

  async findUserByEmail(email: string): Promise<IdpUser | undefined> {
    const res = await this.http.get('/users', { params: { email, exact: true } });
    const user = parseResponse(KcUserSchema.array(), res.data, 'Keycloak user search')[0];
    return user ? toUser(user) : undefined;
  }

  async searchApplications(query: string, limit = 20): Promise<IdpApplication[]> {
    const res = await this.http.get('/clients', { params: { clientId: query, search: true, max: limit } });
    return parseResponse(KcClientSchema.array(), res.data, 'Keycloak client search')
      .slice(0, limit)
      .map(toApplication);
  }

  async getApplication(applicationId: string): Promise<IdpApplication> {
    return toApplication(await this.client(applicationId));
  }

  async searchResourceServers(_query: string, _limit = 20): Promise<IdpResourceServer[]> {
    return [];
  }

  async getResourceServer(_resourceServerId: string): Promise<IdpResourceServer> {
    throw unsupported(this.capabilities, 'resourceServer', 'Keycloak');
  }

  async listUserTokens(userId: string): Promise<TokenInfo[]> {
    return (await this.userSessions(userId)).map((s) => {
      // `clients` maps the client's UUID to its clientId; the UUID is what every other call takes.
      const app = Object.keys(s.clients ?? {})[0];
      return {
        id: s.id,
        userId: s.userId,
        type: 'refresh_token',
        ...(app ? { applicationId: app } : {}),
        scopes: [],
        ...(s.start ? { issuedAt: new Date(s.start).toISOString() } : {}),
      };
    });
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
      case 'user':
        // The widest call: one logout ends every session of the user; the listing is the record.
        return bulkPlan(target, (await this.userSessions(target.userId)).map(toRef));
      case 'application': {
        // Deleting these sessions would log users out of every app: the not-before policy is the one call.
        const sessions = await this.clientSessions(target.applicationId);
        return {
          target,
          steps: [target],
          tokens: sessions.map(toRef),
          userCount: new Set(sessions.map((s) => s.userId)).size,
          tokenCount: sessions.length,
        };
      }
      case 'resourceServer':
        throw unsupported(this.capabilities, 'resourceServer', 'Keycloak');
    }
  }

  async revoke(step: Target): Promise<RevokeResult> {
    switch (step.kind) {
      case 'token': {
        const { sessionId, offline } = parseTokenId(step.tokenId);
        const done = await unlessNotFound(async () => {
          await this.http.delete(
            `/sessions/${enc(sessionId)}`,
            offline ? { params: { isOffline: true } } : {},
          );
          return true;
        }, false);
        return { revoked: done ? [{ id: step.tokenId, userId: step.userId }] : [] };
      }
      case 'user': {
        // `logout` ends online sessions only; offline tokens go with the client's consent/offline grant.
        await this.http.post(`/users/${enc(step.userId)}/logout`);
        for (const clientId of await this.offlineClientIds(step.userId)) {
          await unlessNotFound(
            () => this.http.delete(`/users/${enc(step.userId)}/consents/${enc(clientId)}`),
            undefined,
          );
        }
        return { revoked: [] };
      }
      case 'application': {
        const id = enc(step.applicationId);
        const rep = await this.client(step.applicationId);
        // The console's "Revocation > Set to now": tokens issued before this second are no longer valid.
        await this.http.put(`/clients/${id}`, { ...rep, notBefore: Math.floor(this.now() / 1000) });
        const res = await this.http.post(`/clients/${id}/push-revocation`);
        parseResponse(GlobalRequestResultSchema, res.data ?? {}, 'Keycloak push-revocation');
        return { revoked: [] };
      }
      case 'resourceServer':
        throw unsupported(this.capabilities, 'resourceServer', 'Keycloak');
    }
  }

  async verify(target: Target, context?: VerifyContext): Promise<VerifyResult> {
    switch (target.kind) {
      case 'token': {
        const remaining = (await this.userSessions(target.userId))
          .map(toRef)
          .filter((r) => r.id === target.tokenId);
        return { ok: remaining.length === 0, remaining, method: 'list' };
      }
      case 'user': {
        const remaining = (await this.userSessions(target.userId)).map(toRef);
        return { ok: remaining.length === 0, remaining, method: 'list' };
      }
      case 'application': {
        // Sessions outlive a not-before policy by design; Keycloak refuses every token issued before it, so
        // the check is that the client's not-before is this revocation's (not merely any earlier one).
        const rep = await this.client(target.applicationId);
        const notBefore = typeof rep.notBefore === 'number' ? rep.notBefore : 0;
        const since = context?.since ? Math.floor((context.since.getTime() - this.clockSkewMs) / 1000) : 1;
        const ok = notBefore >= since;
        return {
          ok,
          remaining: ok ? [] : [{ id: `not-before:${notBefore}` }],
          method: 'not-before',
        };
      }
      case 'resourceServer':
        throw unsupported(this.capabilities, 'resourceServer', 'Keycloak');
    }
  }

  async ping(): Promise<void> {
    const res = await this.http.get('/clients', { params: { max: 1 } });
    parseResponse(KcClientSchema.array(), res.data, 'Keycloak ping');
  }

  private async client(applicationId: string) {
    const res = await this.http.get(`/clients/${enc(applicationId)}`);
    return parseResponse(KcClientSchema, res.data, 'Keycloak client');
  }

  /** A user's online sessions, then their offline ones (ids prefixed `offline:`), client by client. */
  private async userSessions(userId: string): Promise<KcSession[]> {
    const res = await this.http.get(`/users/${enc(userId)}/sessions`);
    const out = parseResponse(KcSessionSchema.array(), res.data, 'Keycloak user sessions');
    for (const clientId of await this.offlineClientIds(userId)) {
      const uuid = await this.clientUuid(clientId);
      if (!uuid) continue;
      const off = await this.http.get(`/users/${enc(userId)}/offline-sessions/${enc(uuid)}`);
      for (const s of parseResponse(KcSessionSchema.array(), off.data, 'Keycloak offline sessions')) {
        // One offline session can serve several clients: listed once.
        if (!out.some((o) => o.id === `${OFFLINE}${s.id}`)) out.push({ ...s, id: `${OFFLINE}${s.id}` });
      }
    }
    return out;
  }

  /** clientIds (not UUIDs) of the clients holding an offline token of this user (`GET …/consents`). */
  private async offlineClientIds(userId: string): Promise<string[]> {
    const res = await this.http.get(`/users/${enc(userId)}/consents`);
    return parseResponse(KcConsentSchema.array(), res.data, 'Keycloak user consents')
      .filter((c) => (c.additionalGrants ?? []).some((g) => g.key === 'Offline Token'))
      .map((c) => c.clientId);
  }

  private async clientUuid(clientId: string): Promise<string | undefined> {
    const res = await this.http.get('/clients', { params: { clientId } });
    return parseResponse(KcClientSchema.array(), res.data, 'Keycloak client').find(
      (c) => c.clientId === clientId,
    )?.id;
  }

  /** Online and offline sessions of a client, page by page (`first`/`max`; `max` defaults to 100). */
  private async clientSessions(clientUuid: string): Promise<KcSession[]> {
    const out: KcSession[] = [];
    for (const [path, prefix] of [
      ['user-sessions', ''],
      ['offline-sessions', OFFLINE],
    ] as const) {
      for (let page = 0; page < MAX_PAGES; page++) {
        const res = await this.http.get(`/clients/${enc(clientUuid)}/${path}`, {
          params: { first: page * PAGE, max: PAGE },
        });
        const sessions = parseResponse(KcSessionSchema.array(), res.data, 'Keycloak client sessions');
        out.push(...sessions.map((s) => ({ ...s, id: `${prefix}${s.id}` })));
        if (sessions.length < PAGE) break;
      }
    }
    return out;
  }
}

/** Offline sessions share the session id space but are deleted with `isOffline=true`: their ids say so. */
const OFFLINE = 'offline:';
const PAGE = 100;

function parseTokenId(id: string): { sessionId: string; offline: boolean } {
  return id.startsWith(OFFLINE)
    ? { sessionId: id.slice(OFFLINE.length), offline: true }
    : { sessionId: id, offline: false };
}

function toUser(u: z.infer<typeof KcUserSchema>): IdpUser {
  const name = [u.firstName, u.lastName].filter(Boolean).join(' ');
  return {
    id: u.id,
    userName: u.username,
    ...(u.email ? { email: u.email } : {}),
    ...(name ? { displayName: name } : {}),
    active: u.enabled !== false,
  };
}

function toApplication(c: z.infer<typeof KcClientSchema>): IdpApplication {
  return { id: c.id, name: c.name || c.clientId };
}

function toRef(s: KcSession): TokenRef {
  return { id: s.id, userId: s.userId };
}
