import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import type Provider from 'oidc-provider';
import type { RefusalRecorder } from '../audit/refusal-log.ts';
import { LoginThrottle } from '../http/login-throttle.ts';
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
  /**
   * `IDAAS_KEYS_SECRET`: the signing and cookie keys are kept in the store encrypted under a key derived
   * from it (at least 32 characters). Default: kept as they are (a Redis store then warns at start-up).
   */
  keysSecret?: string;
  /**
   * Throttles password sign-ins per client address and per account, counted in this Redis (5 failures
   * in 15 minutes lock out for 15 minutes, as the dashboard; src/http/login-throttle.ts); refusals go to
   * `refusals` (`idaas.login_rejected`). Default: the store's Redis when the store is Redis, else none.
   */
  signInThrottle?: {
    redis: Redis;
    prefix: string;
    refusals?: RefusalRecorder;
    maxFailures?: number;
    windowMs?: number;
    lockoutMs?: number;
  };
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
export function seedClients(
  seed: Seed,
): { clientId: string; clientSecret: string; authMethod?: 'client_secret_basic' | 'client_secret_post' }[] {
  return seed.applications
    .filter((a) => a.client_secret !== undefined)
    .sort((a, b) => Number(b.revoker) - Number(a.revoker))
    .map((a) => ({
      clientId: a.client_id,
      clientSecret: a.client_secret!,
      ...(a.token_endpoint_auth_method ? { authMethod: a.token_endpoint_auth_method } : {}),
    }));
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
  if (store instanceof RedisStore && options.keysSecret === undefined) {
    logger.warn(
      'IDaaS signing and cookie keys are kept in Redis unencrypted: set IDAAS_KEYS_SECRET to encrypt them',
    );
  }
  const keys = await loadOrCreateKeys(store, options.keysSecret);
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
  const throttleRedis =
    options.signInThrottle ??
    (options.store !== undefined && options.store !== 'memory' && options.store.redis instanceof Redis
      ? { redis: options.store.redis, prefix: options.store.prefix }
      : undefined);
  const limits = (prefix: string) =>
    throttleRedis &&
    new LoginThrottle({
      redis: throttleRedis.redis,
      prefix,
      ...(options.signInThrottle?.maxFailures ? { maxFailures: options.signInThrottle.maxFailures } : {}),
      ...(options.signInThrottle?.windowMs ? { windowMs: options.signInThrottle.windowMs } : {}),
      ...(options.signInThrottle?.lockoutMs ? { lockoutMs: options.signInThrottle.lockoutMs } : {}),
    });
  const byAddress = limits(`${throttleRedis?.prefix}:signin-address`);
  const byAccount = limits(`${throttleRedis?.prefix}:signin-account`);
  provider.use(
    interactionRoutes(
      provider,
      users,
      byAddress && byAccount
        ? {
            byAddress,
            byAccount,
            ...(options.signInThrottle?.refusals ? { refusals: options.signInThrottle.refusals } : {}),
          }
        : undefined,
    ),
  );
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
