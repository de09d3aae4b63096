import type { WebClient } from '@slack/web-api';
import { MembershipUnavailableError } from '../domain/errors.ts';
import type { Logger } from '../log.ts';
import type { MembershipResolver } from '../workflows/types.ts';

export interface UsergroupMembershipOptions {
  /**
   * A client for `usergroups.users.list` (scope `usergroups:read`). It should not retry nor wait out a
   * 429 (`retryConfig: { retries: 0 }`, `rejectRateLimitedCalls: true`): a person waits on the answer.
   */
  client: Pick<WebClient, 'usergroups'>;
  logger: Logger;
  /** How long a group's member list is fresh; after that it is still used while re-read. Default 60,000 ms. */
  ttlMs?: number;
  /** How long a stale member list may still answer while Slack does not. Default 24 h. */
  maxStaleMs?: number;
  /**
   * How long a person waits for a group never read before (or too stale): past it they are told to try
   * again, well inside Slack's 3-second ack. Default 1,200 ms.
   */
  timeoutMs?: number;
  /** Default `Date.now`. */
  now?: () => number;
}

interface Entry {
  members?: Set<string>;
  at: number;
  /** The read under way, shared by everyone asking meanwhile. */
  reading?: Promise<Set<string>>;
}

/**
 * Lets workflows name Slack user groups (`S…`) as requesters and approvers: members are read with
 * `usergroups.users.list` and cached stale-while-revalidate, so nothing slow sits between a click and its
 * ack: a fresh list answers at once; a stale one answers at once while it is re-read in the background;
 * a group never read waits at most `timeoutMs`. When Slack fails and nothing usable is cached, the answer
 * is MembershipUnavailableError ("could not check your access, try again") — never a grant, and not a
 * refusal either (the person may well be a member).
 */
export function usergroupMembership(options: UsergroupMembershipOptions): MembershipResolver {
  const ttl = options.ttlMs ?? 60_000;
  const maxStale = options.maxStaleMs ?? 24 * 3_600_000;
  const timeoutMs = options.timeoutMs ?? 1_200;
  const now = options.now ?? Date.now;
  const cache = new Map<string, Entry>();

  const read = (group: string, entry: Entry): Promise<Set<string>> => {
    entry.reading ??= options.client.usergroups.users
      .list({ usergroup: group })
      .then((res) => {
        entry.members = new Set(res.users ?? []);
        entry.at = now();
        return entry.members;
      })
      .catch((err: unknown) => {
        const data = (err as { data?: { error?: unknown } }).data;
        options.logger.warn(
          {
            group,
            err:
              typeof data?.error === 'string' ? data.error : err instanceof Error ? err.message : String(err),
          },
          'user group look-up failed',
        );
        throw new MembershipUnavailableError();
      })
      .finally(() => {
        entry.reading = undefined;
      });
    return entry.reading;
  };

  const membersOf = async (group: string): Promise<Set<string>> => {
    let entry = cache.get(group);
    if (!entry) {
      entry = { at: 0 };
      cache.set(group, entry);
    }
    const age = now() - entry.at;
    if (entry.members && age < ttl) return entry.members;
    if (entry.members && age < maxStale) {
      // Stale: answer now, re-read for the next one.
      read(group, entry).catch(() => undefined);
      return entry.members;
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new MembershipUnavailableError()), timeoutMs);
    });
    const reading = read(group, entry);
    // The read goes on after a timeout and fills the cache for the next click.
    reading.catch(() => undefined);
    try {
      return await Promise.race([reading, late]);
    } finally {
      clearTimeout(timer);
    }
  };

  return async (userId, principals) => {
    const groups = principals.filter((p) => p.startsWith('S'));
    if (groups.length === 0) return false;
    // All groups at once: one slow group must not add its wait to another's.
    const results = await Promise.allSettled(groups.map((g) => membersOf(g)));
    if (results.some((r) => r.status === 'fulfilled' && r.value.has(userId))) return true;
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return false;
  };
}
