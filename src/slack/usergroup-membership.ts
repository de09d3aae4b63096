import type { WebClient } from '@slack/web-api';
import type { Logger } from '../log.ts';
import type { MembershipResolver } from '../workflows/types.ts';

export interface UsergroupMembershipOptions {
  client: Pick<WebClient, 'usergroups'>;
  logger: Logger;
  /** How long a group's member list is trusted. Default 60,000 ms. */
  ttlMs?: number;
  /** Default `Date.now`. */
  now?: () => number;
}

/**
 * Lets workflows name Slack user groups (`S…`) as requesters and approvers: members are read with
 * `usergroups.users.list` (scope `usergroups:read`) and cached briefly. A failed look-up counts as
 * "not a member" — it refuses, never grants.
 */
export function usergroupMembership(options: UsergroupMembershipOptions): MembershipResolver {
  const ttl = options.ttlMs ?? 60_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { at: number; members: Promise<Set<string>> }>();

  const membersOf = (group: string): Promise<Set<string>> => {
    const hit = cache.get(group);
    if (hit && now() - hit.at < ttl) return hit.members;
    const members = options.client.usergroups.users
      .list({ usergroup: group })
      .then((res) => new Set(res.users ?? []))
      .catch((err: unknown) => {
        cache.delete(group);
        options.logger.warn(
          { group, err: err instanceof Error ? err.message : String(err) },
          'user group look-up failed',
        );
        return new Set<string>();
      });
    cache.set(group, { at: now(), members });
    return members;
  };

  return async (userId, principals) => {
    for (const group of principals.filter((p) => p.startsWith('S'))) {
      if ((await membersOf(group)).has(userId)) return true;
    }
    return false;
  };
}
