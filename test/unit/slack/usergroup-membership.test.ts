import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.ts';
import { usergroupMembership } from '../../../src/slack/usergroup-membership.ts';

/** A usergroups.users.list that answers what `next` says, counting calls. */
function fakeClient() {
  const state = {
    calls: 0,
    next: (): Promise<{ users?: string[] }> => Promise.resolve({ users: ['U1'] }),
  };
  const client = {
    usergroups: {
      users: {
        list: () => {
          state.calls++;
          return state.next();
        },
      },
    },
  } as unknown as Parameters<typeof usergroupMembership>[0]['client'];
  return { state, client };
}

describe('usergroupMembership (stale-while-revalidate, bounded wait)', () => {
  it('serves a stale list at once while Slack fails, and re-reads it in the background', async () => {
    let now = 0;
    const { state, client } = fakeClient();
    const isMember = usergroupMembership({ client, logger: silentLogger, ttlMs: 1000, now: () => now });
    expect(await isMember('U1', ['S1'])).toBe(true);
    expect(state.calls).toBe(1);
    now = 5000;
    state.next = () =>
      Promise.reject(Object.assign(new Error('An HTTP protocol error occurred: statusCode = 503'), {}));
    expect(await isMember('U1', ['S1'])).toBe(true);
    expect(state.calls).toBe(2);
  });

  it('a group never read and a Slack that hangs: "try again" after the timeout, not a refusal', async () => {
    const { state, client } = fakeClient();
    state.next = () => new Promise(() => undefined);
    const isMember = usergroupMembership({ client, logger: silentLogger, timeoutMs: 50 });
    const started = Date.now();
    await expect(isMember('U1', ['S1'])).rejects.toMatchObject({ code: 'slack_membership_unavailable' });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('a failed read is not cached: the next click reads again, and concurrent clicks share one read', async () => {
    const { state, client } = fakeClient();
    state.next = () => Promise.reject(new Error('ratelimited'));
    const isMember = usergroupMembership({ client, logger: silentLogger });
    await expect(isMember('U1', ['S1'])).rejects.toMatchObject({ code: 'slack_membership_unavailable' });
    state.next = () => Promise.resolve({ users: ['U1'] });
    const both = await Promise.all([isMember('U1', ['S1']), isMember('U2', ['S1'])]);
    expect(both).toEqual([true, false]);
    expect(state.calls).toBe(2);
  });
});
