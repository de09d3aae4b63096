import type { Config } from '../config.ts';
import { connectRedis } from '../redis/connect.ts';
import { type Check, fail, pass } from './check.ts';
import { checkHrLookups } from './hr-lookup-checks.ts';

/** Redis 7 is what Revoker is tested on (README prerequisites); BullMQ 6 needs at least 6.2. */
const MIN_VERSION = [7, 0];

/** `INFO <section>` as key → value. */
function infoFields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

/**
 * Reachable, version, `maxmemory-policy noeviction` (an evicting Redis silently drops queued jobs, request
 * records and audit entries), persistence on (AOF or RDB), and — when REDIS_MIN_REPLICAS_ACK > 0 — as many
 * replicas in sync as acknowledged writes wait for.
 */
export async function checkRedis(config: Config): Promise<Check[]> {
  const where =
    config.REDIS_SENTINELS.length > 0
      ? `master "${config.REDIS_SENTINEL_NAME}" via Sentinel ${config.REDIS_SENTINELS.join(',')}`
      : new URL(config.REDIS_URL).host;
  const redis = connectRedis(config, {
    purpose: 'command',
    extra: { lazyConnect: true, connectTimeout: 3000 },
  });
  redis.on('error', () => undefined);
  const checks: Check[] = [];
  try {
    try {
      await redis.connect();
      await redis.ping();
      checks.push(pass('redis', `reachable: ${where}`));
    } catch (err) {
      checks.push(
        fail(
          'redis',
          `not reachable: ${where} (${(err as Error).message})`,
          'start Redis or correct REDIS_URL / REDIS_SENTINELS (and the password, TLS CA)',
        ),
      );
      return checks;
    }
    const [server, memory, persistence, replication] = await Promise.all(
      ['server', 'memory', 'persistence', 'replication'].map(async (s) => infoFields(await redis.info(s))),
    );
    const version = server!.redis_version ?? server!.valkey_version ?? '?';
    const [major = 0, minor = 0] = version.split('.').map(Number);
    checks.push(
      major > MIN_VERSION[0]! || (major === MIN_VERSION[0] && minor >= MIN_VERSION[1]!)
        ? pass('redis', `version ${version}`)
        : fail(
            'redis',
            `version ${version} is older than ${MIN_VERSION.join('.')}`,
            'upgrade Redis to 7 or later',
          ),
    );
    const policy = memory!.maxmemory_policy ?? '?';
    checks.push(
      policy === 'noeviction'
        ? pass('redis', 'maxmemory-policy noeviction')
        : fail(
            'redis',
            `maxmemory-policy is ${policy}: under memory pressure Redis deletes queued jobs, requests and audit entries`,
            'set `maxmemory-policy noeviction` in redis.conf (or CONFIG SET maxmemory-policy noeviction; on a managed service, its parameter group)',
          ),
    );
    checks.push(await persistenceCheck(redis, persistence!));
    checks.push(...(await checkHrLookups(redis, config)));
    const wanted = config.REDIS_MIN_REPLICAS_ACK;
    if (wanted > 0) {
      const online = Object.entries(replication!).filter(
        ([k, v]) => /^slave\d+$/.test(k) && v.includes('state=online'),
      ).length;
      checks.push(
        online >= wanted
          ? pass('redis', `${online} replica(s) in sync; writes wait for ${wanted} (REDIS_MIN_REPLICAS_ACK)`)
          : fail(
              'redis',
              `${online} replica(s) in sync, but REDIS_MIN_REPLICAS_ACK=${wanted}: every acknowledged write would fail (503)`,
              `add a replica (replicaof) or lower REDIS_MIN_REPLICAS_ACK to ${online}`,
            ),
      );
    }
    return checks;
  } finally {
    redis.disconnect();
  }
}

async function persistenceCheck(
  redis: ReturnType<typeof connectRedis>,
  persistence: Record<string, string>,
): Promise<Check> {
  if (persistence.aof_enabled === '1') return pass('redis', 'persistence: AOF on');
  // RDB snapshots are configured with `save`; managed services may refuse CONFIG.
  const save = await redis
    .config('GET', 'save')
    .then((r) => String((r as string[])[1] ?? ''))
    .catch(() => undefined);
  if (save) return pass('redis', `persistence: RDB snapshots (save ${save})`);
  return fail(
    'redis',
    save === undefined
      ? 'persistence: AOF off and the RDB settings cannot be read (CONFIG refused)'
      : 'persistence off: a restart loses every queued job, request and the audit log',
    'set `appendonly yes` (and `appendfsync everysec` or `always`) in redis.conf, or enable persistence on the managed service',
  );
}
