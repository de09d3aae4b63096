import type { Redis } from 'ioredis';
import { NotReplicatedError } from './not-replicated-error.ts';

export interface Durability {
  /** Replicas that must hold a write (`WAIT numreplicas`); 0 = the primary's word is enough. */
  replicas: number;
  timeoutMs: number;
}

/**
 * Durability settings per connection, keyed by the connection's `options` object: BullMQ hands our
 * ioredis instance around wrapped in a Proxy (so the instance itself is not a stable key), but reading
 * `options` through the Proxy yields the very same object.
 */
const settings = new WeakMap<object, Durability>();

/** Makes `confirmReplicated` on this connection wait for `durability.replicas` replicas. */
export function setDurability(redis: Pick<Redis, 'options'>, durability: Durability): void {
  settings.set(redis.options, durability);
}

/**
 * Before telling an outside party a write succeeded (a 2xx, a recorded approval, an audit entry):
 * `WAIT` until enough replicas hold every write this connection made so far, so that a failover to one
 * of them cannot take the acknowledged fact away. Redis replicates in order, so one WAIT covers all the
 * earlier writes of the connection. No-op on connections without a setting, or with 0 replicas.
 * Throws `NotReplicatedError` when too few replicas confirm in time.
 */
export async function confirmReplicated(redis: Pick<Redis, 'options' | 'wait'>): Promise<void> {
  const d = settings.get(redis.options);
  if (!d || d.replicas === 0) return;
  const acknowledged = await redis.wait(d.replicas, d.timeoutMs);
  if (acknowledged < d.replicas) throw new NotReplicatedError(d.replicas, acknowledged);
}
