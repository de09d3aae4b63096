import type { AxiosInstance } from 'axios';
import { z } from 'zod';
import { ConflictError } from '../../domain/errors.ts';
import type { Target } from '../../domain/target.ts';
import { ClientCredentialsTokenCache } from '../client-credentials.ts';
import { IdpNotFoundError, IdpTransientError, IdpUnauthorizedError, IdpUnsupportedError } from '../errors.ts';
import { createIdpHttpClient, parseResponse } from '../http-client.ts';
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
  /**
   * Revoker's clock. Keycloak compares not-before with ITS clock, so times sent to or compared with Keycloak are
   * this clock moved by the offset the answers' `Date` header shows (0 until one was seen). Default: `Date.now`.
   */
  now?: () => number;
  /**
   * The server's version, when known: it decides whether `isOffline=true` is honoured (24.0.2 and later). Default:
   * asked once of `GET /admin/serverinfo`; when that does not say, every offline delete is checked by listing.
   */
  serverVersion?: string;
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
      token:
        'Keycloak ends the whole session the token belongs to (online or offline), with all its tokens; an offline session only on servers 24.0.2 and later.',
      user: 'Logs the user out of every session and revokes their offline tokens (and consents) client by client; access tokens already issued live until they expire.',
      application:
        "Sets the client's not-before to Keycloak's own now and pushes it: tokens issued before are rejected. Users' SSO sessions stay, so the application can obtain new tokens through them.",
    },
    listTokens: true,
    search: true,
  };
  private readonly http: AxiosInstance;
  private readonly now: () => number;
  private readonly base: string;
  private readonly clientId: string;
  /** The server's version: as configured, or as `GET /admin/serverinfo` showed it. */
  private serverVersion: string | undefined;
  /** Keycloak's clock minus ours, from the last answer's `Date` (whole seconds, so up to 1 s low). */
  private serverOffsetMs = 0;
  private offlineDelete: Promise<OfflineDelete> | undefined;

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
    this.base = base;
    this.clientId = options.clientId;
    this.serverVersion = options.serverVersion;
    this.http = createIdpHttpClient({
      baseURL: `${base}/admin/realms/${realm}`,
      auth: tokens.getToken,
      invalidateAuth: tokens.invalidate,
      idpName: 'Keycloak',
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
    // Every answer says the server's time (`Date`, RFC 9110 §6.6.1): the offset not-before is set and read with.
    this.http.interceptors.response.use((res) => {
      const date = Date.parse(String(res.headers?.date ?? ''));
      if (Number.isFinite(date)) this.serverOffsetMs = date - this.now();
      return res;
    });
  }

  /** Keycloak's clock now, as far as its answers showed it. */
  private serverNow(): number {
    return this.now() + this.serverOffsetMs;
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

  /**
   * An exact email search. A realm may allow duplicate emails ("Duplicate emails" login setting), so several
   * matches are refused, naming them, and so is a lone disabled account: an offboarding must not revoke a dead
   * account while the live one keeps its sessions.
   */
  async findUserByEmail(email: string): Promise<IdpUser | undefined> {
    const res = await this.http.get('/users', { params: { email, exact: true } });
    const users = parseResponse(KcUserSchema.array(), res.data, 'Keycloak user search').filter(
      (u) => u.email?.toLowerCase() === email.toLowerCase(),
    );
    const ids = users.map((u) => `${u.id}${u.enabled === false ? ' (disabled)' : ''}`).join(', ');
    if (users.length > 1)
      throw new ConflictError(
        `${users.length} Keycloak users have the email ${email} (${ids}); name the user by id`,
      );
    if (users[0]?.enabled === false)
      throw new ConflictError(
        `The only Keycloak user with the email ${email} is disabled (${ids}); name the user by id`,
      );
    return users[0] ? toUser(users[0]) : undefined;
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
        const mode = offline ? await this.offlineDeleteMode() : 'honoured';
        if (mode === 'ignored')
          throw new IdpUnsupportedError(offlineIgnored(this.serverVersion ?? 'before 24.0.2'));
        const done = await unlessNotFound(async () => {
          await this.http.delete(
            `/sessions/${enc(sessionId)}`,
            offline ? { params: { isOffline: true } } : {},
          );
          return true;
        }, false);
        if (mode === 'unknown') {
          // A server that ignores the flag ends the ONLINE session of the same id (204) or answers 404 for an
          // offline one: neither is "gone" until the listing no longer shows the offline session.
          const still = (await this.userSessions(step.userId)).some((s) => s.id === step.tokenId);
          if (still) throw new IdpUnsupportedError(offlineIgnored('of unknown version'));
        }
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
        // Read just before the update: its `Date` is the server's clock the not-before must be on.
        const rep = await this.client(step.applicationId);
        // The console's "Revocation > Set to now", on Keycloak's clock: tokens whose `iat` is earlier are rejected.
        // Two seconds past the server's now (its `Date` has whole seconds, read up to 1 s late): every token
        // issued before this call is covered. Never lowered: an earlier, later-dated not-before is kept.
        const current = typeof rep.notBefore === 'number' ? rep.notBefore : 0;
        const notBefore = Math.max(current, Math.floor(this.serverNow() / 1000) + 2);
        // Only the field that changes: Keycloak applies the fields a representation carries
        // (RepresentationToModel.updateClient), so a concurrent edit is kept and the secret never travels.
        await this.http.put(`/clients/${id}`, { notBefore });
        const res = await this.http.post(`/clients/${id}/push-revocation`);
        parseResponse(GlobalRequestResultSchema, res.data ?? {}, 'Keycloak push-revocation');
        return { revoked: [] };
      }
      case 'resourceServer':
        throw unsupported(this.capabilities, 'resourceServer', 'Keycloak');
    }
  }

  /**
   * Lists again what the target reaches, counting only sessions started before `since` (on Keycloak's clock: a
   * sign-in since is not this revocation's) and saying so in each part. An application is verified by its
   * not-before: at or after THIS revocation's start on the server's clock; without `since` nothing shows that
   * this revocation took effect, so the client's sessions are reported still working.
   */
  async verify(target: Target, context?: VerifyContext): Promise<VerifyResult> {
    const since = context?.since;
    // A stable name (no timestamp): the same request retried or replayed names its parts alike; `since` is the
    // plan's start, stored with the plan.
    const cut = since ? ' started before the revocation' : '';
    switch (target.kind) {
      case 'token': {
        const all = await this.userSessions(target.userId);
        const inScope = this.startedBefore(all, since).map(toRef);
        return result(
          [
            listPart(
              `session${cut}`,
              inScope.filter((r) => r.id === target.tokenId),
            ),
          ],
          'list',
        );
      }
      case 'user': {
        const inScope = this.startedBefore(await this.userSessions(target.userId), since).map(toRef);
        return result(
          [
            listPart(
              `sessions${cut}`,
              inScope.filter((r) => !r.id.startsWith(OFFLINE)),
            ),
            listPart(
              `offline sessions${cut}`,
              inScope.filter((r) => r.id.startsWith(OFFLINE)),
            ),
          ],
          'list',
        );
      }
      case 'application': {
        const rep = await this.client(target.applicationId);
        const notBefore = typeof rep.notBefore === 'number' ? rep.notBefore : 0;
        const part = 'tokens issued to the client before this revocation (client not-before)';
        // This revocation's start on the server's clock, less 1 s for `Date`'s whole seconds.
        const cutoff = since ? Math.floor((since.getTime() + this.serverOffsetMs) / 1000) - 1 : undefined;
        if (cutoff !== undefined && notBefore >= cutoff) {
          return result([{ part, outcome: 'verified', method: 'not-before' }], 'not-before');
        }
        const sessions = this.startedBefore(await this.clientSessions(target.applicationId), since).map(
          toRef,
        );
        const remaining = sessions.length > 0 ? sessions : [{ id: `not-before:${notBefore}` }];
        const why =
          cutoff === undefined
            ? "no cut-off given: nothing shows this revocation set the client's not-before"
            : `the client's not-before (${notBefore}) is older than this revocation (${cutoff}, Keycloak's clock)`;
        return result([{ part, outcome: 'failed', why, remaining }], 'not-before');
      }
      case 'resourceServer':
        throw unsupported(this.capabilities, 'resourceServer', 'Keycloak');
    }
  }

  async ping(): Promise<void> {
    const res = await this.http.get('/clients', { params: { max: 1 } });
    parseResponse(KcClientSchema.array(), res.data, 'Keycloak ping');
  }

  /**
   * For `revoker doctor`: every realm-management role each scope needs, probed without changing anything.
   * `manage-users` is checked before the session look-up of `DELETE /sessions/{id}` (RealmAdminResource), so an
   * unknown id answers 404 when permitted and 403 when not; `manage-clients` is probed with push-revocation on
   * Revoker's own client (it re-sends that client's unchanged not-before; an unknown client would answer 404 to
   * anyone who may list clients).
   */
  async probePermissions(): Promise<PermissionProbe[]> {
    const viewUsers = await probeOne(() => this.http.get('/users', { params: { max: 1 } }));
    const viewClients = await probeOne(() => this.http.get('/clients', { params: { max: 1 } }));
    const manageUsers = await probeOne(() => this.http.delete(`/sessions/${PROBE_ID}`));
    // Revoker's own client is found with view-clients; without it manage-clients cannot be probed (said so).
    const manageClients = viewClients.ok
      ? await probeOne(async () => {
          const own = await this.clientUuid(this.clientId);
          if (!own) throw new IdpNotFoundError(`Keycloak client ${this.clientId} not found`);
          return this.http.post(`/clients/${enc(own)}/push-revocation`);
        }, false)
      : { ok: false, detail: 'not probed: finding Revoker’s own client needs view-clients first' };
    const p = (
      scope: PermissionProbe['scope'],
      permission: string,
      r: Omit<PermissionProbe, 'scope' | 'permission'>,
    ) => ({
      scope,
      permission,
      ...r,
    });
    return [
      p('lookup', 'realm-management view-users', viewUsers),
      p('lookup', 'realm-management view-clients', viewClients),
      p('token', 'realm-management manage-users', manageUsers),
      p('user', 'realm-management view-users', viewUsers),
      p('user', 'realm-management manage-users', manageUsers),
      p('application', 'realm-management view-clients', viewClients),
      p('application', 'realm-management manage-clients', manageClients),
    ];
  }

  /**
   * Sessions started before `since` on Keycloak's clock (all of them without `since`). The offset comes from
   * `Date`, which has whole seconds (up to 1 s low), while a session's `start` has milliseconds: the cut-off
   * is taken a second later, so a session started just before the revocation always counts. Counting one
   * too few would let a retried bulk step skip its call (nothing in scope seems left) and end `verified`
   * with the sessions alive; one signed in within that second too many only makes the request `failed`.
   */
  private startedBefore(sessions: KcSession[], since: Date | undefined): KcSession[] {
    if (!since) return sessions;
    const cut = since.getTime() + this.serverOffsetMs + DATE_RESOLUTION_MS;
    return sessions.filter((s) => s.start === null || s.start === undefined || s.start < cut);
  }

  /**
   * Whether `DELETE /sessions/{id}?isOffline=true` deletes an offline session: servers before 24.0.2 ignore the
   * flag (keycloak/keycloak#27275). The version is read once from `GET /admin/serverinfo`; a server that answers
   * without `systemInfo` is 26.2.10/26.4.0 or later (the system info is kept from non-master-realm admins since).
   */
  private offlineDeleteMode(): Promise<OfflineDelete> {
    if (this.serverVersion) return Promise.resolve(versionMode(this.serverVersion));
    this.offlineDelete ??= (async (): Promise<OfflineDelete> => {
      try {
        const res = await this.http.get(`${this.base}/admin/serverinfo`);
        const info = parseResponse(ServerInfoSchema, res.data ?? {}, 'Keycloak serverinfo');
        if (!info.systemInfo?.version) return 'honoured';
        this.serverVersion = info.systemInfo.version;
        return versionMode(info.systemInfo.version);
      } catch (err) {
        if (err instanceof IdpTransientError) {
          this.offlineDelete = undefined; // ask again next time
          throw err;
        }
        return 'unknown';
      }
    })();
    return this.offlineDelete;
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

type OfflineDelete = 'honoured' | 'ignored' | 'unknown';
const ServerInfoSchema = z.looseObject({ systemInfo: z.object({ version: z.string() }).nullish() });
/** The id `probePermissions` asks about: no session has it, so nothing is ended. */
const PROBE_ID = 'revoker-doctor-probe';
/** `Date` carries whole seconds (RFC 9110 §5.6.7 IMF-fixdate): the server's clock may be up to this much ahead of it. */
const DATE_RESOLUTION_MS = 1000;

function versionMode(version: string): OfflineDelete {
  const [a = 0, b = 0, c = 0] = version.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const atLeast = a !== 24 ? a > 24 : b !== 0 ? b > 0 : c >= 2;
  return atLeast ? 'honoured' : 'ignored';
}

function offlineIgnored(version: string): string {
  return `This Keycloak server (${version}) ignores isOffline=true on DELETE /sessions/{id} (honoured from 24.0.2): one offline session cannot be ended; revoke the user instead (their offline tokens go with their consents)`;
}

/** One permission probe: permitted unless Keycloak answers 403 (a 404 on a probe id is permitted). */
async function probeOne(
  call: () => Promise<unknown>,
  notFoundOk = true,
): Promise<Pick<PermissionProbe, 'ok' | 'detail'>> {
  try {
    await call();
    return { ok: true };
  } catch (err) {
    if (err instanceof IdpNotFoundError && notFoundOk)
      return { ok: true, detail: '404 for a probe id: permitted' };
    if (err instanceof IdpUnauthorizedError && err.status === 403)
      return { ok: false, detail: 'Keycloak answered 403 Forbidden' };
    return { ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
}

/** A listed part: verified when nothing in it is still listed. */
function listPart(name: string, remaining: TokenRef[]): PartOutcome {
  return remaining.length === 0
    ? { part: name, outcome: 'verified', method: 'list' }
    : { part: name, outcome: 'failed', why: `${remaining.length} still listed after revocation`, remaining };
}

function result(parts: PartOutcome[], method: 'list' | 'not-before'): VerifyResult {
  const remaining = parts.flatMap((p) => (p.outcome === 'failed' ? (p.remaining ?? []) : []));
  return { ok: !parts.some((p) => p.outcome === 'failed'), remaining, method, parts };
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
