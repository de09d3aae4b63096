import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import type Provider from 'oidc-provider';
import { type Logger, silentLogger } from '../log.ts';
import { AdminApi } from './admin/admin-api.ts';
import { type AdminStats, FaultSwitch } from './admin/fault-switch.ts';
import type { AdminFaults, AdminUser } from './admin-contract.ts';
import { Catalog } from './directory/catalog.ts';
import { stableUserId, UserDirectory } from './directory/user-directory.ts';
import { GlobalTokenRevocationRoute } from './gtr/global-token-revocation-route.ts';
import { interactionRoutes } from './interaction/interaction-routes.ts';
import { type IssuedTokens, type MintOptions, mintTokens } from './mint-tokens.ts';
import { createProvider } from './provider/create-provider.ts';
import { loadOrCreateKeys } from './provider/keys.ts';
import { whoamiRoute } from './resources/whoami-route.ts';
import { loadDemoTenant, loadSeedFile, parseSeed, type Seed, type SeedUser } from './seed/seed-schema.ts';
import { MemoryStore } from './store/memory-store.ts';
import { RedisStore } from './store/redis-store.ts';
import type { TokenStore } from './store/token-store.ts';
import { TokenRevoker } from './token-revoker.ts';

export type { AdminStats } from './admin/fault-switch.ts';
export type { IssuedTokens, MintOptions } from './mint-tokens.ts';
export type { Seed, SeedInput, SeedUser } from './seed/seed-schema.ts';
export { loadDemoTenant, loadSeedFile, parseSeed } from './seed/seed-schema.ts';
export { tokenRef } from './store/token-store.ts';

export interface IdaasOptions {
  /** TCP port; default 0 = a random free port. */
  port?: number;
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** Issuer URL; default `http://{host}:{port}` once listening (set it when behind a proxy). */
  issuer?: string;
  /** A seed object or the path of a seed JSON file; default the shipped demo tenant. */
  seed?: Seed | string;
  /** Default 'memory'. With Redis, keys live under `${prefix}:` and survive a restart. */
  store?: 'memory' | { redis: Redis | string; prefix: string };
  /**
   * Serve the admin API on its own listener (same host) instead of beside OIDC: a firewall can then keep
   * it internal. 0 = a free port. Default: on `port`, beside OIDC.
   */
  adminPort?: number;
  /** Bearer token of the admin API; default random (read it from `Idaas.adminToken`). */
  adminToken?: string;
  /** Default: silent. */
  logger?: Logger;
}

export interface Idaas {
  /** Base URL (also the issuer unless `issuer` was given). */
  url: string;
  issuer: string;
  /** Base URL of the admin API (`url` unless `adminPort` was given). */
  adminUrl: string;
  adminToken: string;
  seed: Seed;
  /** The underlying oidc-provider instance, for advanced tests. */
  provider: Provider;
  close(): Promise<void>;
  addUser(user: SeedUser): Promise<AdminUser>;
  mintTokens(options: MintOptions): Promise<IssuedTokens[]>;
  setFaults(faults: AdminFaults): void;
  stats(): AdminStats;
}

/**
 * The seed's confidential applications as OAuth client credentials, the designated Revoker client first
 * (its introspection answers about every token): how the in-process IDaaS offers the leaked-token path.
 */
export function seedClients(seed: Seed): { clientId: string; clientSecret: string }[] {
  return seed.applications
    .filter((a) => a.client_secret !== undefined)
    .sort((a, b) => Number(b.revoker) - Number(a.revoker))
    .map((a) => ({ clientId: a.client_id, clientSecret: a.client_secret! }));
}

function resolveSeed(seed: IdaasOptions['seed']): Seed {
  if (seed === undefined) return loadDemoTenant();
  if (typeof seed === 'string') return loadSeedFile(seed);
  return parseSeed(seed);
}

/** Starts the embedded identity service: OpenID Provider, login/consent pages, admin API. */
export async function startIdaas(options: IdaasOptions = {}): Promise<Idaas> {
  const seed = resolveSeed(options.seed);
  const logger = options.logger ?? silentLogger;
  const host = options.host ?? '127.0.0.1';
  const adminToken = options.adminToken ?? randomBytes(24).toString('base64url');
  const catalog = new Catalog(seed.applications, seed.resourceServers);
  const storeOptions = { resolveResourceServer: (aud: string) => catalog.resourceServerIdOfAudience(aud) };
  const store: TokenStore =
    options.store === undefined || options.store === 'memory'
      ? new MemoryStore(storeOptions)
      : new RedisStore({ ...storeOptions, ...options.store });
  // Users persist in the store: a restart keeps console changes (a disabled user stays disabled).
  const users = new UserDirectory(store);
  await users.restore();
  await Promise.all(
    seed.users.filter((u) => !users.has(u.id ?? stableUserId(u.userId))).map((u) => users.add(u)),
  );
  const keys = await loadOrCreateKeys(store);
  const faults = new FaultSwitch();
  const revoker = new TokenRevoker(store, catalog, users);
  const admin = new AdminApi({ adminToken, faults, context: { users, catalog, revoker }, logger });

  // Listen first: with port 0 the issuer is only known once the port is.
  let oidc: ReturnType<Provider['callback']> | undefined;
  let gtr: GlobalTokenRevocationRoute | undefined;
  const separateAdmin = options.adminPort !== undefined;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (admin.matches(path)) {
      if (separateAdmin) res.writeHead(404).end();
      else void admin.handle(req, res);
    } else if (gtr?.matches(path)) {
      void gtr.handle(req, res);
    } else if (oidc) {
      oidc(req, res);
    } else {
      res.writeHead(503).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${port}`;
  let adminServer: Server | undefined;
  let adminUrl = url;
  if (separateAdmin) {
    const s = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (admin.matches(path)) void admin.handle(req, res);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(options.adminPort, host, () => resolve());
    });
    adminServer = s;
    adminUrl = `http://${shownHost}:${(s.address() as AddressInfo).port}`;
  }
  const issuer = options.issuer ?? url;

  gtr = new GlobalTokenRevocationRoute({ issuer, adminToken, users, catalog, revoker, logger });
  const provider = createProvider({ issuer, store, users, catalog, keys, gtrEndpoint: gtr.endpoint });
  provider.use(interactionRoutes(provider, users));
  provider.use(whoamiRoute(provider, catalog, users));
  provider.on('server_error', (_ctx, err) => logger.error({ err }, 'oidc-provider server error'));
  oidc = provider.callback();
  logger.info({ url, issuer }, 'IDaaS listening');

  return {
    url,
    issuer,
    adminUrl,
    adminToken,
    seed,
    provider,
    async close() {
      for (const s of adminServer ? [server, adminServer] : [server]) {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
      await store.close();
    },
    addUser: (u) => users.add(u),
    mintTokens: (o) => mintTokens(provider, users, catalog, o),
    setFaults: (f) => {
      faults.set(f);
    },
    stats: () => faults.stats(),
  };
}
