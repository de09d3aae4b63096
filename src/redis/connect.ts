import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config.ts';
import { ConfigError } from '../domain/errors.ts';
import { setDurability } from './durability.ts';

/** The settings every Redis connection is made from (a subset of `Config`). */
export type RedisSettings = Pick<
  Config,
  | 'REDIS_URL'
  | 'REDIS_SENTINELS'
  | 'REDIS_SENTINEL_NAME'
  | 'REDIS_SENTINEL_PASSWORD'
  | 'REDIS_SENTINEL_TLS'
  | 'REDIS_TLS_CA'
  | 'REDIS_MIN_REPLICAS_ACK'
  | 'REDIS_WAIT_TIMEOUT_MS'
  | 'REVOKER_PREFIX'
>;

export interface ConnectOptions {
  /**
   * `service` (default): retries forever, commands wait for the connection to come back (BullMQ needs
   * `maxRetriesPerRequest: null`), so a failover or restart is ridden out without a restart of Revoker.
   * `command`: a shell command or a check, which should fail fast when Redis is away.
   */
  purpose?: 'service' | 'command';
  /** e.g. `lazyConnect` for a probe. */
  extra?: RedisOptions;
}

/**
 * The one place a Redis connection is made (BullMQ, requests, audit, dedupe, the embedded IDaaS store,
 * the CLI, the doctor): a single server or TLS from `REDIS_URL` (`rediss://`, CA from `REDIS_TLS_CA`), or
 * the master Sentinel names (`REDIS_SENTINELS`, `REDIS_SENTINEL_NAME`). Writes on it honour
 * `REDIS_MIN_REPLICAS_ACK` through `confirmReplicated`.
 */
export function connectRedis(settings: RedisSettings, options: ConnectOptions = {}): Redis {
  const redis = new Redis(redisOptions(settings, options));
  setDurability(redis, {
    replicas: settings.REDIS_MIN_REPLICAS_ACK,
    timeoutMs: settings.REDIS_WAIT_TIMEOUT_MS,
    fenceKey: `${settings.REVOKER_PREFIX}:replication-fence`,
  });
  return redis;
}

export function redisOptions(settings: RedisSettings, options: ConnectOptions = {}): RedisOptions {
  const url = new URL(settings.REDIS_URL);
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError('REDIS_URL', 'must start with redis:// or rediss://');
  }
  const ca = settings.REDIS_TLS_CA ? readCa(settings.REDIS_TLS_CA) : undefined;
  const tls: ConnectionOptions | undefined =
    url.protocol === 'rediss:' ? { ...(ca ? { ca } : {}) } : undefined;
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new ConfigError('REDIS_URL', 'the path must be a db number');
  const command = options.purpose === 'command';
  const base: RedisOptions = {
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    db,
    maxRetriesPerRequest: command ? 1 : null,
    // Quick, capped reconnects: a Sentinel failover takes a second or two, not minutes.
    retryStrategy: command ? (times) => (times > 3 ? null : 200) : (times) => Math.min(times * 100, 1000),
    // A connection that lands on a demoted primary (now a read-only replica) reconnects and resends,
    // which asks Sentinel again for the current master.
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
    ...options.extra,
  };
  if (settings.REDIS_SENTINELS.length === 0) {
    return { ...base, host: url.hostname, port: url.port ? Number(url.port) : 6379, ...(tls ? { tls } : {}) };
  }
  return {
    ...base,
    sentinels: settings.REDIS_SENTINELS.map((hp) => {
      const i = hp.lastIndexOf(':');
      return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
    }),
    name: settings.REDIS_SENTINEL_NAME ?? 'mymaster',
    ...(settings.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: settings.REDIS_SENTINEL_PASSWORD } : {}),
    ...(tls ? { tls } : {}),
    ...(settings.REDIS_SENTINEL_TLS ? { enableTLSForSentinelMode: true, sentinelTLS: ca ? { ca } : {} } : {}),
    // No `failoverDetector`: its +switch-master handler disconnects a client that is still asking the
    // sentinels for a master, which ends that client for good ("Connection is closed"; seen in the failover
    // test). A dead or demoted primary closes its connections anyway (and READONLY reconnects, above).
    sentinelRetryStrategy: command
      ? (times) => (times > 3 ? null : 200)
      : (times) => Math.min(times * 100, 1000),
  };
}

function readCa(path: string): string {
  if (path.includes('-----BEGIN')) return path;
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('REDIS_TLS_CA', `cannot read ${path}: ${(err as Error).message}`);
  }
}
