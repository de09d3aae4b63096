import { describe, expect, it } from 'vitest';
import { SlackWebApi } from '../../../src/slack-contract/index.ts';

/** Trigger ids, view stacks and messages as Slack keeps them between calls (issue 20 item 12). */
const modal = { type: 'modal', title: { type: 'plain_text', text: 'T' }, blocks: [] };

function api(refuseUnknownIds = true) {
  let now = 1_000_000;
  const slack = new SlackWebApi({ session: { now: () => now, refuseUnknownIds } });
  const call = (method: string, args: Record<string, unknown>) =>
    slack.refuse(method, args, 'xoxb-t') ?? slack.answer(method, args, 'xoxb-t');
  return { slack, call, tick: (ms: number) => (now += ms) };
}

describe('trigger_id', () => {
  it('is exchanged once: a second views.open with it answers exchanged_trigger_id', () => {
    const { slack, call } = api();
    slack.session.issueTrigger('t1');
    expect(call('views.open', { trigger_id: 't1', view: modal }).ok).toBe(true);
    expect(call('views.open', { trigger_id: 't1', view: modal })).toEqual({
      ok: false,
      error: 'exchanged_trigger_id',
    });
  });
  it('expires after 3 s: expired_trigger_id', () => {
    const { slack, call, tick } = api();
    slack.session.issueTrigger('t1');
    slack.session.issueTrigger('t2');
    tick(2999);
    expect(call('views.open', { trigger_id: 't1', view: modal }).ok).toBe(true);
    tick(2);
    expect(call('views.open', { trigger_id: 't2', view: modal })).toEqual({
      ok: false,
      error: 'expired_trigger_id',
    });
  });
  it('one Slack never issued is invalid_trigger_id', () => {
    expect(api().call('views.open', { trigger_id: 'made.up', view: modal })).toEqual({
      ok: false,
      error: 'invalid_trigger_id',
    });
  });
});

describe('views.push depth', () => {
  it('a modal and 2 pushed views at most: the third push answers push_limit_reached', () => {
    const { slack, call } = api();
    slack.session.issueTrigger('open');
    const root = String((call('views.open', { trigger_id: 'open', view: modal }).view as { id: string }).id);
    let top = root;
    for (const n of [1, 2]) {
      slack.session.issueTrigger(`push${n}`, top);
      const pushed = call('views.push', { trigger_id: `push${n}`, view: modal });
      expect(pushed.ok).toBe(true);
      top = String((pushed.view as { id: string }).id);
    }
    slack.session.issueTrigger('push3', top);
    expect(call('views.push', { trigger_id: 'push3', view: modal })).toEqual({
      ok: false,
      error: 'push_limit_reached',
    });
  });
});

describe('unknown view or message', () => {
  it('views.update of a view Slack does not show answers not_found', () => {
    const { slack, call } = api();
    expect(call('views.update', { view_id: 'VNOPE', view: modal })).toEqual({
      ok: false,
      error: 'not_found',
    });
    slack.session.issueTrigger('t');
    const id = (call('views.open', { trigger_id: 't', view: modal }).view as { id: string }).id;
    expect(call('views.update', { view_id: id, view: modal }).ok).toBe(true);
  });
  it('chat.update of a ts Slack never posted answers message_not_found', () => {
    const { call } = api();
    expect(call('chat.update', { channel: 'C1', ts: '1.2', text: 'x' })).toEqual({
      ok: false,
      error: 'message_not_found',
    });
    const posted = call('chat.postMessage', { channel: 'C1', text: 'x' });
    expect(call('chat.update', { channel: 'C1', ts: posted.ts, text: 'y' }).ok).toBe(true);
  });
  it('with refuseUnknownIds off (hand-built test payloads), unknown ids pass but issued ones keep their rules', () => {
    const { slack, call } = api(false);
    expect(call('views.update', { view_id: 'VNOPE', view: modal }).ok).toBe(true);
    expect(call('views.open', { trigger_id: 'hand.built', view: modal }).ok).toBe(true);
    slack.session.issueTrigger('t1');
    call('views.open', { trigger_id: 't1', view: modal });
    expect(call('views.open', { trigger_id: 't1', view: modal }).error).toBe('exchanged_trigger_id');
  });
});
