import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { lookupRefusedKey } from '../hr/hr-event-processor.ts';
import { HR_SOURCES } from '../hr/registry.ts';
import { type Check, fail } from './check.ts';

/**
 * HR sources whose vendor is refusing Revoker's API credentials right now (set by the HR worker on a
 * 401/403 look-up, cleared on the next success): their terminations wait, retried, until fixed.
 */
export async function checkHrLookups(redis: Redis, config: Config): Promise<Check[]> {
  const sources = Object.keys(HR_SOURCES).filter((s) => config.hrSecrets[s]);
  if (sources.length === 0) return [];
  const values = await redis.mget(...sources.map((s) => lookupRefusedKey(config.REVOKER_PREFIX, s)));
  return sources.flatMap((source, i) => {
    const raw = values[i];
    if (!raw) return [];
    let since = 'recently';
    try {
      since = `since ${(JSON.parse(raw) as { at?: string }).at ?? 'recently'}`;
    } catch {
      // An unreadable marker still means refused.
    }
    return [
      fail(
        'hr',
        `${source}: the vendor refused Revoker's API credentials ${since}; its terminations are waiting`,
        `renew the ${source} API credentials (see README, HR webhooks and SCIM); waiting events are retried`,
      ),
    ];
  });
}
