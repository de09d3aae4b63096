import type { Redis } from 'ioredis';
import { NotReplicatedError } from './not-replicated-error.ts';

export interface Durability {
  /** Replicas that must hold a write (`WAIT numreplicas`); 0 = the primary's word is enough. */
  replicas: number;
  timeoutMs: number;
  /** A key this connection may write to (under REVOKER_PREFIX): see `confirmReplicated`. */
  fenceKey: string;
}

interface State extends Durability {
  /** Bumped whenever the connection closes: writes before and after went to possibly different servers. */
  generation: number;
}

/**
 * Durability settings per connection, keyed by the connection's `options` object: BullMQ hands our
 * ioredis instance around wrapped in a Proxy (so the instance itself is not a stable key), but reading
 * `options` through the Proxy yields the very same object.
 */
const states = new WeakMap<object, State>();

type Connection = Pick<Redis, 'options' | 'pipeline'>;

/** Makes `confirmReplicated` on this connection wait for `durability.replicas` replicas. */
export function setDurability(redis: Pick<Redis, 'options' | 'on'>, durability: Durability): void {
  const state: State = { ...durability, generation: 0 };
  states.set(redis.options, state);
  redis.on('close', () => {
    state.generation++;
  });
}

/** Taken before an operation's writes, handed to `confirmReplicated` after them. */
export function durabilityMark(redis: Pick<Redis, 'options'>): number {
  return states.get(redis.options)?.generation ?? 0;
}

/**
 * Before telling an outside party a write succeeded (a 2xx, a recorded approval, an audit entry): wait
 * (`WAIT`) until enough replicas hold it, so that a failover to one of them cannot take the acknowledged
 * fact away. No-op on connections without a setting, or with 0 replicas.
 *
 * WAIT covers the master's replication stream up to this connection's last write, so a small write (the
 * fence) goes first, in the same round trip: then everything on that master so far is covered, including
 * what other connections wrote (a retry that finds its first attempt's record). And WAIT only speaks for
 * the server it runs on: when the connection closed since `mark` (a failover; ioredis then resends the
 * unanswered WAIT to the new master, where it would vouch for nothing), the writes may be lost, so this
 * throws too. Throws `NotReplicatedError`: the caller answers 503 and the sender retries.
 */
export async function confirmReplicated(redis: Connection, mark?: number): Promise<void> {
  const s = states.get(redis.options);
  if (!s || s.replicas === 0) return;
  const replies = await redis.pipeline().incr(s.fenceKey).wait(s.replicas, s.timeoutMs).exec();
  const [fence, wait] = replies ?? [];
  if (fence?.[0]) throw fence[0];
  if (wait?.[0]) throw wait[0];
  const acknowledged = Number(wait?.[1] ?? 0);
  if (mark !== undefined && s.generation !== mark) throw new NotReplicatedError(s.replicas, 0);
  if (acknowledged < s.replicas) throw new NotReplicatedError(s.replicas, acknowledged);
}
