import { HttpResponse } from 'msw';
import type { Target } from '../../src/domain/target.ts';
import { type SimRequest, type SimRoute, SimRouter } from './sim-router.ts';
import type { CallMatch, ScenarioTargets, SimFault, VendorSimulator } from './types.ts';

/**
 * A stateful Keycloak realm behind the Admin REST API, as Keycloak documents and implements it. Rules and sources
 * (keycloak.org/docs-api/latest/rest-api; the server's resources in github.com/keycloak/keycloak,
 * services/src/main/java/org/keycloak/services/resources/admin/):
 * - Tokens carry `iat` on the SERVER's clock, and a token whose `iat` is before the realm's, the client's or the
 *   user's not-before is rejected ("Stale token": TokenManager). Every answer carries `Date` (the server's clock,
 *   RFC 9110 §6.6.1); `serverSkewMs` sets how far that clock is from the test's.
 * - `POST /users/{id}/logout` sets the user's not-before to the server's now and removes the user's ONLINE sessions
 *   (UserResource.logout); offline sessions stay listed, their tokens stale.
 * - `DELETE /users/{id}/consents/{clientId}` "Revoke consent and offline tokens for particular client from user";
 *   404 when there is neither (UserResource.revokeConsent).
 * - `DELETE /sessions/{id}` ends an online session; offline sessions only with `isOffline=true`, which servers
 *   before 24.0.2 ignore (keycloak/keycloak#27275, "Invalidating offline token is not working", backport/24.0):
 *   there an offline id is looked up among online sessions. Online and offline sessions may share an id (the
 *   offline session is created from the online one). `manage-users` is checked before the look-up
 *   (RealmAdminResource.deleteSession).
 * - `PUT /clients/{id}` applies only the fields the representation carries (RepresentationToModel.updateClient:
 *   `if (rep.getX() != null)`), needs `manage-clients`; an unknown id answers 404 to whoever may list clients
 *   and 403 to others (ClientsResource.getClient).
 * - `GET /admin/serverinfo` returns `systemInfo.version`, except to non-master-realm admins from 26.4.0 on
 *   (upgrading guide, "The serverinfo endpoint only returns the system info for administrators in the
 *   administrator realm").
 * - Keycloak has no rate limit of its own; a proxy in front answers 429 with `Retry-After`.
 */
export interface KeycloakSimOptions {
  /** Server version, for `isOffline` and serverinfo. Default `26.0.5`. */
  version?: string;
  /** realm-management roles the service account lacks (e.g. `manage-clients`). Default none. */
  withheld?: string[];
}

interface User {
  id: string;
  username: string;
  email: string;
  enabled: boolean;
  /** Seconds, server clock; 0 = none. */
  notBefore: number;
}
interface Client {
  id: string;
  clientId: string;
  name: string;
  secret: string;
  redirectUris: string[];
  notBefore: number;
}
interface Session {
  id: string;
  userId: string;
  offline: boolean;
  /** Client UUIDs the session holds tokens for. */
  clients: string[];
  /** Server ms. */
  start: number;
  /** `iat` (server seconds) of the tokens the session holds now. */
  iat: number;
}

const ORIGIN = 'https://sso.keycloak.sim';
export const KEYCLOAK_SIM_REALM = 'acme';
const ADMIN = `/admin/realms/${KEYCLOAK_SIM_REALM}`;
export const KEYCLOAK_ROLES = ['view-users', 'manage-users', 'view-clients', 'manage-clients'];

export class KeycloakSimulator implements VendorSimulator {
  readonly vendor = 'keycloak' as const;
  readonly origin = ORIGIN;
  version: string;
  /** How far the server's clock is ahead of the test's (negative: behind). */
  serverSkewMs = 0;
  readonly withheld: Set<string>;
  users: User[] = [];
  clients: Client[] = [];
  sessions: Session[] = [];
  realmNotBefore = 0;
  /** Bodies of every `PUT /clients/{id}`, for "a minimal update". */
  readonly clientUpdates: unknown[] = [];
  /** Generated ids count from 0 again after `reset()`, so every run of a scenario makes the same calls (same URLs). */
  private seq = 0;
  /** Access tokens count apart from seeded ids (a retried token request shifts no seeded id), and never restart: a token cached from before a reset stays unknown. */
  private tokenSeq = 0;
  private readonly router: SimRouter;
  private readonly issued = new Map<string, Set<string>>();

  constructor(private readonly options: KeycloakSimOptions = {}) {
    this.version = options.version ?? '26.0.5';
    this.withheld = new Set(options.withheld ?? []);
    this.router = new SimRouter({
      origin: ORIGIN,
      routes: this.routes(),
      rateLimited: () => new HttpResponse(null, { status: 429, headers: { 'retry-after': '1' } }),
      commonHeaders: () => ({ date: new Date(this.serverNow()).toUTCString() }),
    });
  }

  get handlers() {
    return this.router.handlers;
  }
  get calls() {
    return this.router.calls;
  }

  serverNow(): number {
    return Date.now() + this.serverSkewMs;
  }

  env(): Record<string, string> {
    return {
      IDP: 'keycloak',
      KEYCLOAK_URL: ORIGIN,
      KEYCLOAK_REALM: KEYCLOAK_SIM_REALM,
      KEYCLOAK_CLIENT_ID: 'revoker',
      KEYCLOAK_CLIENT_SECRET: 'sim-kc-secret',
    };
  }

  seedScenario(): ScenarioTargets {
    this.addClient('revoker', 'Revoker');
    const wiki = this.addClient('wiki', 'Wiki');
    const crm = this.addClient('crm', 'CRM');
    const alice = this.addUser('alice', 'alice@acme.test');
    const bob = this.addUser('bob', 'bob@acme.test');
    const online = this.addSession(alice.id, [wiki.id]);
    this.addSession(alice.id, [wiki.id], { offline: true, id: online.id });
    this.addSession(alice.id, [crm.id]);
    this.addSession(bob.id, [wiki.id]);
    this.addSession(bob.id, [crm.id], { offline: true });
    return {
      token: { kind: 'token', userId: alice.id, tokenId: online.id },
      user: { kind: 'user', userId: alice.id },
      application: { kind: 'application', applicationId: wiki.id },
    };
  }

  addUser(username: string, email: string, enabled = true): User {
    // Keycloak stores emails lower case (UserModel.setEmail lower-cases).
    const u = { id: this.id('u'), username, email: email.toLowerCase(), enabled, notBefore: 0 };
    this.users.push(u);
    return u;
  }

  addClient(clientId: string, name: string): Client {
    const c = {
      id: this.id('c'),
      clientId,
      name,
      secret: `secret-of-${clientId}`,
      redirectUris: [],
      notBefore: 0,
    };
    this.clients.push(c);
    return c;
  }

  /** A sign-in (or an offline_access grant) whose tokens are issued now on the server's clock. */
  addSession(
    userId: string,
    clients: string[],
    o: { offline?: boolean; id?: string; at?: number } = {},
  ): Session {
    const at = o.at ?? this.serverNow();
    const s = {
      id: o.id ?? this.id('s'),
      userId,
      offline: o.offline ?? false,
      clients,
      start: at,
      iat: Math.floor(at / 1000),
    };
    this.sessions.push(s);
    return s;
  }

  /** Whether a session's tokens for a client would still be accepted (TokenManager's not-before checks). */
  private valid(s: Session, clientUuid: string): boolean {
    const client = this.clients.find((c) => c.id === clientUuid);
    const user = this.users.find((u) => u.id === s.userId);
    if (!client || !user) return false;
    return s.iat >= Math.max(this.realmNotBefore, client.notBefore, user.notBefore);
  }

  stillWorks(target: Target, options: { before?: Date } = {}): string[] {
    const before = (s: Session) => !options.before || s.start < options.before.getTime() + this.serverSkewMs;
    const describe = (s: Session, c: string) =>
      `${s.offline ? 'offline' : 'online'} session ${s.id} (user ${s.userId}, client ${c})`;
    const working = (keep: (s: Session) => boolean, client?: string) =>
      this.sessions
        .filter((s) => before(s) && keep(s))
        .flatMap((s) =>
          s.clients.filter((c) => (!client || c === client) && this.valid(s, c)).map((c) => describe(s, c)),
        );
    switch (target.kind) {
      case 'token': {
        const offline = target.tokenId.startsWith('offline:');
        const id = target.tokenId.replace(/^offline:/, '');
        return working((s) => s.id === id && s.offline === offline);
      }
      case 'user':
        return working((s) => s.userId === target.userId);
      case 'application':
        return working(() => true, target.applicationId);
      case 'resourceServer':
        return [];
    }
  }

  failOnce(match: CallMatch, fault: SimFault): void {
    this.router.failOnce(match, fault);
  }

  snapshot(): unknown {
    return {
      users: this.users.map((u) => `${u.username} ${u.notBefore > 0 ? 'not-before' : ''}`).sort(),
      clients: this.clients.map((c) => `${c.clientId} ${c.notBefore > 0 ? 'not-before' : ''}`).sort(),
      sessions: this.sessions.map((s) => `${s.userId} ${s.offline} ${s.clients.join(',')}`).sort(),
    };
  }

  reset(): void {
    this.users = [];
    this.clients = [];
    this.sessions = [];
    this.realmNotBefore = 0;
    this.serverSkewMs = 0;
    this.clientUpdates.length = 0;
    this.issued.clear();
    this.seq = 0;
    this.router.reset();
    this.version = this.options.version ?? '26.0.5';
    this.withheld.clear();
    for (const r of this.options.withheld ?? []) this.withheld.add(r);
  }

  /** Whether this server honours `isOffline=true` (24.0.2 and later). */
  honoursIsOffline(): boolean {
    return compareVersions(this.version, '24.0.2') >= 0;
  }

  private id(prefix: string): string {
    this.seq += 1;
    return `${prefix}-${this.seq.toString(16).padStart(8, '0')}`;
  }

  private routes(): SimRoute[] {
    const admin = (
      method: string,
      pattern: string,
      handle: (r: SimRequest, roles: Set<string>) => Response,
    ): SimRoute => ({
      method,
      pattern: `${ADMIN}${pattern}`,
      handle: (req) => {
        const roles = this.issued.get((req.headers.get('authorization') ?? '').replace(/^Bearer /, ''));
        if (!roles) return HttpResponse.json({ error: 'HTTP 401 Unauthorized' }, { status: 401 });
        return handle(req, roles);
      },
    });
    const forbidden = () => HttpResponse.json({ error: 'HTTP 403 Forbidden' }, { status: 403 });
    const notFound = (what: string) => HttpResponse.json({ error: `${what} not found` }, { status: 404 });
    const noContent = () => new HttpResponse(null, { status: 204 });
    const sessionRep = (s: Session) => ({
      id: s.id,
      username: this.users.find((u) => u.id === s.userId)?.username ?? '',
      userId: s.userId,
      ipAddress: '192.0.2.1',
      start: s.start,
      lastAccess: s.start,
      rememberMe: false,
      clients: Object.fromEntries(
        s.clients.map((c) => [c, this.clients.find((x) => x.id === c)?.clientId ?? c]),
      ),
    });
    const userRep = (u: User) => ({ id: u.id, username: u.username, email: u.email, enabled: u.enabled });
    const clientRep = (c: Client) => ({
      id: c.id,
      clientId: c.clientId,
      name: c.name,
      enabled: true,
      secret: c.secret,
      redirectUris: c.redirectUris,
      notBefore: c.notBefore,
    });
    // UsersResource.user / ClientsResource.getClient: unknown ids are 404 to who may query, 403 to others.
    const findUser = (req: SimRequest, roles: Set<string>) => {
      const u = this.users.find((x) => x.id === req.params.user);
      return u ?? (roles.has('view-users') || roles.has('manage-users') ? notFound('User') : forbidden());
    };
    const findClient = (req: SimRequest, roles: Set<string>) => {
      const c = this.clients.find((x) => x.id === req.params.client);
      return (
        c ??
        (roles.has('view-clients') || roles.has('manage-clients')
          ? notFound('Could not find client')
          : forbidden())
      );
    };
    const page = <T>(req: SimRequest, items: T[]) => {
      const first = Number(req.query.get('first') ?? 0);
      const max = Number(req.query.get('max') ?? 100);
      return items.slice(first, first + max);
    };
    return [
      {
        method: 'POST',
        pattern: `/realms/${KEYCLOAK_SIM_REALM}/protocol/openid-connect/token`,
        handle: (req) => {
          const b = (req.body ?? {}) as Record<string, string>;
          const env = this.env();
          if (
            b.grant_type !== 'client_credentials' ||
            b.client_id !== env.KEYCLOAK_CLIENT_ID ||
            b.client_secret !== env.KEYCLOAK_CLIENT_SECRET
          )
            return HttpResponse.json(
              {
                error: 'unauthorized_client',
                error_description: 'Invalid client or Invalid client credentials',
              },
              { status: 401 },
            );
          const token = `sim-kc-at${++this.tokenSeq}`;
          this.issued.set(token, new Set(KEYCLOAK_ROLES.filter((r) => !this.withheld.has(r))));
          return HttpResponse.json({ access_token: token, expires_in: 300, token_type: 'Bearer' });
        },
      },
      {
        method: 'GET',
        pattern: '/admin/serverinfo',
        handle: (req) => {
          if (!this.issued.has((req.headers.get('authorization') ?? '').replace(/^Bearer /, '')))
            return HttpResponse.json({ error: 'HTTP 401 Unauthorized' }, { status: 401 });
          return HttpResponse.json(
            compareVersions(this.version, '26.4.0') < 0
              ? { systemInfo: { version: this.version } }
              : { themes: {} },
          );
        },
      },
      admin('GET', '/users', (req, roles) => {
        if (!roles.has('view-users')) return forbidden();
        const email = req.query.get('email')?.toLowerCase();
        const exact = req.query.get('exact') === 'true';
        const search = req.query.get('search')?.toLowerCase();
        const hits = this.users.filter(
          (u) =>
            (email === undefined || (exact ? u.email === email : u.email.includes(email))) &&
            (search === undefined || u.username.includes(search) || u.email.includes(search)),
        );
        return HttpResponse.json(page(req, hits).map(userRep));
      }),
      admin('GET', '/users/{user}', (req, roles) => {
        const u = findUser(req, roles);
        if (u instanceof Response) return u;
        return roles.has('view-users') ? HttpResponse.json(userRep(u)) : forbidden();
      }),
      admin('GET', '/users/{user}/sessions', (req, roles) => {
        const u = findUser(req, roles);
        if (u instanceof Response) return u;
        if (!roles.has('view-users')) return forbidden();
        return HttpResponse.json(
          this.sessions.filter((s) => s.userId === u.id && !s.offline).map(sessionRep),
        );
      }),
      admin('GET', '/users/{user}/consents', (req, roles) => {
        const u = findUser(req, roles);
        if (u instanceof Response) return u;
        if (!roles.has('view-users')) return forbidden();
        const clients = new Set(
          this.sessions.filter((s) => s.userId === u.id && s.offline).flatMap((s) => s.clients),
        );
        return HttpResponse.json(
          [...clients].map((uuid) => {
            const clientId = this.clients.find((c) => c.id === uuid)?.clientId ?? uuid;
            return {
              clientId,
              grantedClientScopes: ['offline_access'],
              additionalGrants: [{ client: clientId, key: 'Offline Token' }],
            };
          }),
        );
      }),
      admin('GET', '/users/{user}/offline-sessions/{client}', (req, roles) => {
        const u = findUser(req, roles);
        if (u instanceof Response) return u;
        if (!roles.has('view-users')) return forbidden();
        return HttpResponse.json(
          this.sessions
            .filter((s) => s.userId === u.id && s.offline && s.clients.includes(req.params.client!))
            .map(sessionRep),
        );
      }),
      admin('DELETE', '/users/{user}/consents/{clientId}', (req, roles) => {
        const u = findUser(req, roles);
        if (u instanceof Response) return u;
        if (!roles.has('manage-users')) return forbidden();
        const client = this.clients.find((c) => c.clientId === req.params.clientId);
        if (!client) return notFound('Client');
        let revoked = false;
        for (const s of this.sessions.filter(
          (x) => x.userId === u.id && x.offline && x.clients.includes(client.id),
        )) {
          s.clients = s.clients.filter((c) => c !== client.id);
          revoked = true;
        }
        this.sessions = this.sessions.filter((s) => s.clients.length > 0);
        return revoked ? noContent() : notFound('Consent nor offline token');
      }),
      admin('POST', '/users/{user}/logout', (req, roles) => {
        const u = findUser(req, roles);
        if (u instanceof Response) return u;
        if (!roles.has('manage-users')) return forbidden();
        u.notBefore = Math.floor(this.serverNow() / 1000);
        this.sessions = this.sessions.filter((s) => !(s.userId === u.id && !s.offline));
        return noContent();
      }),
      admin('DELETE', '/sessions/{session}', (req, roles) => {
        if (!roles.has('manage-users')) return forbidden();
        const offline = this.honoursIsOffline() && req.query.get('isOffline') === 'true';
        const s = this.sessions.find((x) => x.id === req.params.session && x.offline === offline);
        if (!s) return notFound('Sesssion');
        this.sessions = this.sessions.filter((x) => x !== s);
        return noContent();
      }),
      admin('GET', '/clients', (req, roles) => {
        if (!roles.has('view-clients')) return forbidden();
        const q = req.query.get('clientId');
        const search = req.query.get('search') === 'true';
        const hits = this.clients.filter((c) => !q || (search ? c.clientId.includes(q) : c.clientId === q));
        return HttpResponse.json(page(req, hits).map(clientRep));
      }),
      admin('GET', '/clients/{client}', (req, roles) => {
        const c = findClient(req, roles);
        if (c instanceof Response) return c;
        return roles.has('view-clients') ? HttpResponse.json(clientRep(c)) : forbidden();
      }),
      admin('PUT', '/clients/{client}', (req, roles) => {
        const c = findClient(req, roles);
        if (c instanceof Response) return c;
        if (!roles.has('manage-clients')) return forbidden();
        const rep = req.body;
        if (typeof rep !== 'object' || rep === null || Array.isArray(rep))
          return HttpResponse.json({ error: 'unknown_error' }, { status: 400 });
        this.clientUpdates.push(rep);
        const r = rep as Record<string, unknown>;
        // Only the fields present are applied (RepresentationToModel.updateClient).
        if (typeof r.notBefore === 'number') c.notBefore = r.notBefore;
        if (typeof r.secret === 'string') c.secret = r.secret;
        if (typeof r.name === 'string') c.name = r.name;
        if (Array.isArray(r.redirectUris)) c.redirectUris = r.redirectUris.map(String);
        return noContent();
      }),
      admin('POST', '/clients/{client}/push-revocation', (req, roles) => {
        const c = findClient(req, roles);
        if (c instanceof Response) return c;
        if (!roles.has('manage-clients')) return forbidden();
        // No client here has an admin URL: nothing to push to (GlobalRequestResult with empty lists).
        return HttpResponse.json({ successRequests: [], failedRequests: [] });
      }),
      admin('GET', '/clients/{client}/user-sessions', (req, roles) => {
        const c = findClient(req, roles);
        if (c instanceof Response) return c;
        if (!roles.has('view-clients')) return forbidden();
        return HttpResponse.json(
          page(
            req,
            this.sessions.filter((s) => !s.offline && s.clients.includes(c.id)),
          ).map(sessionRep),
        );
      }),
      admin('GET', '/clients/{client}/offline-sessions', (req, roles) => {
        const c = findClient(req, roles);
        if (c instanceof Response) return c;
        if (!roles.has('view-clients')) return forbidden();
        return HttpResponse.json(
          page(
            req,
            this.sessions.filter((s) => s.offline && s.clients.includes(c.id)),
          ).map(sessionRep),
        );
      }),
    ];
  }
}

/** Compares dotted versions numerically (`24.0.10` > `24.0.2`). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
