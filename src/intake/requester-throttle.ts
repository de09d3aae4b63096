import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RefusalRecorder } from '../audit/refusal-log.ts';
import { RateLimitedError } from '../domain/errors.ts';
import type { Metrics } from '../metrics.ts';
import type { SubmitInput } from './types.ts';

/**
 * Admits one more event into a sliding window when fewer than the limit are in it; returns the count
 * including this one when admitted, limit + 1 when not. KEYS: the window's ZSET. ARGV: now ms, window
 * start ms, limit, a unique member.
 */
const SLIDING_WINDOW = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[3]) then return n + 1 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], 61000)
return n + 1
`;

export interface RequesterThrottle {
  redis: Redis;
  metrics: Metrics;
  /** REQUESTS_PER_MINUTE per requester, counted under `prefix`; absent or 0: no limit. */
  requestLimit?: { perMinute: number; prefix: string } | undefined;
  refusals?: RefusalRecorder | undefined;
}

/** Counts a new Slack request against its requester's per-minute allowance; a RateLimitedError once spent. */
export async function throttle(t: RequesterThrottle, input: SubmitInput, clock: () => Date): Promise<void> {
  const limit = t.requestLimit;
  if (!limit || limit.perMinute <= 0 || input.source !== 'slack') return;
  // A sliding minute (not a fixed one, which would allow twice the limit across its boundary).
  const now = clock().getTime();
  const key = `${limit.prefix}:throttle:requests:${input.source}:${input.requestedBy.id}`;
  const count = (await t.redis.eval(
    SLIDING_WINDOW,
    1,
    key,
    String(now),
    String(now - 60_000),
    String(limit.perMinute),
    `${now}-${randomBytes(6).toString('hex')}`,
  )) as number;
  if (count <= limit.perMinute) return;
  t.metrics.rejections.inc({ source: input.source, reason: 'throttled' });
  t.refusals?.record({
    action: 'request.throttled',
    actor: { source: input.requestedBy.source, id: input.requestedBy.id },
    reason: 'requester_rate_limited',
  });
  throw new RateLimitedError(
    `you have made ${limit.perMinute} revocation requests in the last minute; wait a minute and try again`,
  );
}
