import { Redis } from 'ioredis';
import { RedisServer } from './redis-server.ts';
import { until } from './wait.ts';

export const SENTINEL_MASTER = 'revoker';

/**
 * Real processes: a `redis-server` primary, one replica and three `redis-server --sentinel` on free loopback
 * ports, with a short `down-after-milliseconds` so a killed primary is replaced within a second or two.
 * Diskless replication without delay, so a node that comes back as a replica is in sync at once.
 */
export class SentinelCluster {
  private constructor(
    readonly nodes: RedisServer[],
    readonly sentinels: RedisServer[],
  ) {}

  static async start(options: { downAfterMs?: number } = {}): Promise<SentinelCluster> {
    const sync = ['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0'];
    const primary = await RedisServer.start({ persistence: false, args: sync });
    const replica = await RedisServer.start({
      persistence: false,
      args: [...sync, '--replicaof', '127.0.0.1', String(primary.port)],
    });
    const config = [
      'sentinel resolve-hostnames no',
      `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${primary.port} 2`,
      `sentinel down-after-milliseconds ${SENTINEL_MASTER} ${options.downAfterMs ?? 300}`,
      // Also the wait before another attempt after a split vote (twice this): keep it short.
      `sentinel failover-timeout ${SENTINEL_MASTER} 2000`,
      `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
      '',
    ].join('\n');
    const sentinels = await Promise.all([0, 1, 2].map(() => RedisServer.start({ config, sentinel: true })));
    const cluster = new SentinelCluster([primary, replica], sentinels);
    // Ready when every sentinel sees the replica and the two other sentinels (hello messages every 2 s):
    // only then can they agree that the primary is down and elect a leader.
    await until(
      'sentinels know each other and the replica',
      async () => {
        const views = await Promise.all(sentinels.map((s) => cluster.masterInfo(s)));
        return views.every((v) => v['num-slaves'] === '1' && v['num-other-sentinels'] === '2')
          ? true
          : undefined;
      },
      30_000,
      100,
    );
    await cluster.replicasOnline(primary, 1);
    return cluster;
  }

  /** `host:port,…` for REDIS_SENTINELS. */
  get sentinelList(): string {
    return this.sentinels.map((s) => `127.0.0.1:${s.port}`).join(',');
  }

  /** The node Sentinel currently names as the master. */
  async master(): Promise<RedisServer> {
    const port = await this.masterPort();
    const node = this.nodes.find((n) => n.port === port);
    if (!node) throw new Error(`Sentinel names an unknown master on port ${port}`);
    return node;
  }

  async masterPort(): Promise<number> {
    return this.withNode(this.sentinels[0]!, async (s) => {
      const addr = (await s.call('SENTINEL', 'get-master-addr-by-name', SENTINEL_MASTER)) as string[] | null;
      return Number(addr?.[1]);
    });
  }

  /** Waits until Sentinel names another node than `old` as the master, and that node answers as one. */
  async awaitPromotion(old: RedisServer, timeoutMs = 30_000): Promise<RedisServer> {
    return until(
      'Sentinel promotes the replica',
      async () => {
        const port = await this.masterPort().catch(() => old.port);
        if (port === old.port) return undefined;
        const node = this.nodes.find((n) => n.port === port);
        if (!node) return undefined;
        const role = await this.withNode(node, (r) => r.call('ROLE') as Promise<unknown[]>).catch(() => []);
        return role[0] === 'master' ? node : undefined;
      },
      timeoutMs,
      20,
    );
  }

  /** Waits until `node` (a master) has `count` replicas in sync (`state=online`), as WAIT needs. */
  async replicasOnline(node: RedisServer, count: number, timeoutMs = 30_000): Promise<void> {
    await until(
      `${count} replica(s) online`,
      async () => {
        const info = await this.withNode(node, (r) => r.info('replication')).catch(() => '');
        const online = info.split('\n').filter((l) => /^slave\d+:.*state=online/.test(l)).length;
        return online >= count ? true : undefined;
      },
      timeoutMs,
      50,
    );
  }

  /** Bytes of the replication stream `node` (a master) has that its first replica has not acknowledged. */
  async replicationLag(node: RedisServer): Promise<number | undefined> {
    const info = await this.withNode(node, (r) => r.info('replication')).catch(() => '');
    const master = /master_repl_offset:(\d+)/.exec(info)?.[1];
    const replica = /slave0:.*offset=(\d+)/.exec(info)?.[1];
    return master && replica ? Number(master) - Number(replica) : undefined;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.sentinels, ...this.nodes].map((s) => s.stop()));
  }

  private async masterInfo(sentinel: RedisServer): Promise<Record<string, string>> {
    return this.withNode(sentinel, async (s) => {
      const flat = (await s.call('SENTINEL', 'master', SENTINEL_MASTER)) as string[];
      const out: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
      return out;
    });
  }

  private async withNode<T>(node: RedisServer, fn: (r: Redis) => Promise<T>): Promise<T> {
    const r = new Redis(node.port, '127.0.0.1', { retryStrategy: () => null, maxRetriesPerRequest: 0 });
    r.on('error', () => undefined);
    try {
      return await fn(r);
    } finally {
      r.disconnect();
    }
  }
}
