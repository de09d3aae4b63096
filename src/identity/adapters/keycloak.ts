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
  VerifyResult,
} from '../port.ts';
import { bulkPlan, enc, unlessNotFound, unsupported } from './support.ts';

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
      token: 'Keycloak ends the whole session the token belongs to, with all its tokens.',
      application:
        'Sets a not-before time on the client and pushes it: Keycloak and adapters that honour it reject older tokens.',
    },
    listTokens: true,
    search: true,
  };
  private readonly http: AxiosInstance;
  private readonly now: () => number;

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
      const app = Object.values(s.clients ?? {})[0];
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
        const res = await this.http.get(`/clients/${enc(target.applicationId)}/user-sessions`);
        const sessions = parseResponse(KcSessionSchema.array(), res.data, 'Keycloak client sessions');
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
        const done = await unlessNotFound(async () => {
          await this.http.delete(`/sessions/${enc(step.tokenId)}`);
          return true;
        }, false);
        return { revoked: done ? [{ id: step.tokenId, userId: step.userId }] : [] };
      }
      case 'user':
        await this.http.post(`/users/${enc(step.userId)}/logout`);
        return { revoked: [] };
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

  async verify(target: Target): Promise<VerifyResult> {
    switch (target.kind) {
      case 'token': {
        const remaining = (await this.userSessions(target.userId))
          .filter((s) => s.id === target.tokenId)
          .map(toRef);
        return { ok: remaining.length === 0, remaining, method: 'list' };
      }
      case 'user': {
        const remaining = (await this.userSessions(target.userId)).map(toRef);
        return { ok: remaining.length === 0, remaining, method: 'list' };
      }
      case 'application': {
        // Sessions outlive a not-before policy by design; what we can check is that the policy is set.
        const rep = await this.client(target.applicationId);
        const notBefore = typeof rep.notBefore === 'number' ? rep.notBefore : 0;
        return { ok: notBefore > 0, remaining: [], method: 'none' };
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

  private async userSessions(userId: string): Promise<KcSession[]> {
    const res = await this.http.get(`/users/${enc(userId)}/sessions`);
    return parseResponse(KcSessionSchema.array(), res.data, 'Keycloak user sessions');
  }
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
