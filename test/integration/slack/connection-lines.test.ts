import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestEventType } from '../../../src/intake/notifier.ts';
import type { RequestRecord } from '../../../src/intake/types.ts';
import { hostileConnections, threeConnections, userRecord } from '../../helpers/connection-records.ts';
import type { SlackCall } from '../../helpers/slack.ts';
import {
  type SlackNotificationsFixture,
  startSlackNotifications,
} from '../../helpers/slack-notifications-fixture.ts';

/**
 * Issue 22, "seen everywhere": a fanned-out user revocation's approval message, its progress updates and
 * the requester's DM show one line per connection, through the notifier, the outbox worker and the Slack
 * Web API stand-in (which refuses what Slack would). Its children are never announced on their own.
 */
let f: SlackNotificationsFixture;
let stub: SlackNotificationsFixture['stub'];
let n: SlackNotificationsFixture['n'];

beforeAll(() => {
  f = startSlackNotifications('slack-connection-lines.test', 'slack-lines');
  ({ stub, n } = f);
});
afterAll(() => f.close());

/** What Slack shows of a call: its blocks' texts and the notification text (blocks arrive JSON-encoded). */
function shown(c: SlackCall): string {
  const blocks = typeof c.args.blocks === 'string' ? JSON.parse(c.args.blocks) : c.args.blocks;
  return `${String(c.args.text)}\n${JSON.stringify(blocks)}`;
}

let clock = Date.now();
/** Each event a newer state (the message store keeps the newest by `updatedAt`). */
async function notify(type: RequestEventType, r: RequestRecord): Promise<RequestRecord> {
  const request = { ...r, updatedAt: new Date(++clock).toISOString() };
  await n.notifier.notify({ type, request });
  return request;
}

describe('a fanned-out user revocation in Slack', () => {
  it('approval message, its progress update and the DM carry one line per connection', async () => {
    const base = userRecord({ state: 'pending_approval', progress: { done: 0, total: 0 } });
    const pending = (id: string) => threeConnections(id).map((c) => ({ ...c, status: 'pending' as const }));
    await notify('request.created', { ...base, connections: pending(base.id) });
    const post = await stub.next(
      'chat.postMessage',
      (c) => c.args.channel === 'C0APPROVALS' && shown(c).includes(base.id),
    );
    expect(shown(post)).toContain('okta: waiting to start');
    expect(shown(post)).toContain('gtr-notes: waiting to start');
    const ts = post.answer!.ts;

    // Running: okta done, google down and retried, no account in gtr-notes.
    const since = stub.calls.length;
    await notify('request.progress', {
      ...base,
      state: 'running',
      approvals: [{ by: 'U0APPROVER', at: new Date().toISOString() }],
      progress: { done: 3, total: 5 },
      connections: threeConnections(base.id),
    });
    const update = await stub.next(
      'chat.update',
      (c) => c.args.ts === ts && shown(c).includes('google: waiting for it'),
      since,
    );
    expect(shown(update)).toContain('Waiting for google (retrying)');
    expect(shown(update)).toContain('okta: verified');
    expect(shown(update)).toContain('gtr-notes: no account');

    // The outcome: google came back; the DM lists each connection's outcome.
    const done = threeConnections(base.id).map((c) =>
      c.connection === 'google' ? { ...c, status: 'unverifiable' as const, why: 'no session listing' } : c,
    );
    await notify('request.unverifiable', {
      ...base,
      state: 'unverifiable',
      progress: { done: 5, total: 5 },
      result: { ok: true, revoked: 5, remaining: 0 },
      connections: done,
    });
    const dm = await stub.next(
      'chat.postMessage',
      (c) => c.args.channel === 'U0REQ' && shown(c).includes(base.id),
    );
    expect(shown(dm)).toContain('okta: verified');
    expect(shown(dm)).toContain('google: unverifiable: no session listing');
    expect(shown(dm)).toContain('gtr-notes: no account');
    expect(shown(dm)).not.toContain('(retrying)');
    const final = await stub.next(
      'chat.update',
      (c) => c.args.ts === ts && shown(c).includes('google: unverifiable'),
      since,
    );
    expect(shown(final)).not.toContain('Waiting for google');
  });

  it('an HR offboarding’s notice and outcome with ten connections of hostile why are accepted by Slack', async () => {
    const r = userRecord({
      source: 'hr',
      requestedBy: { source: 'hr', id: 'bamboohr' },
      requiredApprovals: 0,
      state: 'queued',
      connections: hostileConnections(),
    });
    await notify('request.created', r);
    const notice = await stub.next(
      'chat.postMessage',
      (c) => c.args.channel === 'C0NOTIFY' && shown(c).includes(r.id),
    );
    expect(shown(notice)).toContain('gtr-app-9-of-the-long-names: failed: &lt;&amp;&gt;');
    await notify('request.failed', {
      ...r,
      state: 'failed',
      result: { ok: false, revoked: 0, remaining: 1 },
    });
    const outcome = await stub.next(
      'chat.postMessage',
      (c) => c.args.channel === 'C0NOTIFY' && shown(c).includes(r.id) && shown(c).includes('revocation of'),
    );
    expect(shown(outcome)).toContain('gtr-app-0-of-the-long-names: waiting for it');
    // The contract refused nothing (a refusal would also fail the test from the global afterEach).
    expect(stub.refused).toEqual([]);
  });

  it('a child (a connection’s part, `parent` set) is never announced on its own', async () => {
    const child = userRecord({
      id: 'req_parentxxxxxxxxxxxxxxx.okta',
      parent: 'req_parentxxxxxxxxxxxxxxx',
      connection: 'okta',
      source: 'hr',
      requestedBy: { source: 'slack', id: 'U0REQ' },
      state: 'pending_approval',
    });
    for (const type of ['request.created', 'request.dead_lettered'] as const) await notify(type, child);
    await notify('request.failed', { ...child, state: 'failed' });
    // notify() enqueues before it returns: nothing queued, nothing stored means nothing will be sent.
    const jobs = await n.outbox.queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
    expect(jobs.filter((j) => JSON.stringify(j.data).includes(child.id))).toEqual([]);
    expect(await n.store.getState(child.id)).toBeUndefined();
  });
});
