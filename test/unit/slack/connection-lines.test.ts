import { describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../../src/intake/types.ts';
import { statusText } from '../../../src/slack/commands/revoke-command.ts';
import { buildHomeView } from '../../../src/slack/home/home-view.ts';
import { buildApprovalMessage } from '../../../src/slack/messages/approval-message.ts';
import {
  buildAutomatedRequestNotice,
  buildOutcomeNotice,
} from '../../../src/slack/messages/notify-messages.ts';
import { buildOutcomeDm } from '../../../src/slack/messages/outcome-message.ts';
import { checkSlackPayload, type PayloadKind } from '../../../src/slack-contract/index.ts';
import { hostileConnections, threeConnections, userRecord } from '../../helpers/connection-records.ts';

/** Every mrkdwn text Slack would show (text objects and the message's own `text`). */
function texts(v: unknown): string[] {
  if (Array.isArray(v)) return v.flatMap(texts);
  if (typeof v !== 'object' || v === null) return [];
  const o = v as Record<string, unknown>;
  return [
    ...(typeof o.text === 'string' ? [o.text] : []),
    ...Object.values(o).flatMap((x) => (typeof x === 'object' ? texts(x) : [])),
  ];
}

function accept(kind: PayloadKind, payload: unknown): string {
  const v = checkSlackPayload(kind, payload);
  expect(v, v ? `${v.rule} at ${v.path}` : '').toBeUndefined();
  const all = texts(payload).join('\n');
  // Outside text is shown, never parsed: no mention, link or entity reaches Slack unescaped.
  expect(all).not.toContain('<!channel>');
  expect(all).not.toMatch(/<&>/);
  return all;
}

/** Every message a request is seen in, as Slack would receive it. */
function everyView(r: RequestRecord): Record<string, string> {
  return {
    approval: accept('chat.postMessage', { channel: 'C1', ...buildApprovalMessage(r) }),
    dm: accept('chat.postMessage', { channel: 'U0REQ', ...buildOutcomeDm(r) }),
    notice: accept('chat.postMessage', { channel: 'C2', ...buildAutomatedRequestNotice(r) }),
    outcome: accept('chat.postMessage', { channel: 'C2', ...buildOutcomeNotice(r) }),
    home: accept('views.publish', {
      user_id: 'U0REQ',
      view: buildHomeView({ awaiting: [r], mine: [r], hr: [r] }),
    }),
    status: accept('response_url', { response_type: 'ephemeral', text: statusText(r, r.id) }),
  };
}

describe('one line per connection, wherever a request is seen in Slack', () => {
  it('names each connection’s state and which are being waited for; nothing without connections', () => {
    const r = userRecord({ connections: threeConnections() });
    for (const [where, shown] of Object.entries(everyView(r))) {
      expect(shown, where).toContain(':white_check_mark: okta: verified');
      expect(shown, where).toContain(
        ':warning: google: waiting for it (retrying): IDP_UNAVAILABLE: Google answered 503',
      );
      expect(shown, where).toContain(':heavy_minus_sign: gtr-notes: no account (nothing to revoke)');
      expect(shown, where).toContain('Waiting for google (retrying)');
    }
    // The notification text (what a phone shows) says what it waits for, too.
    expect(buildApprovalMessage(r).text).toContain('Waiting for google (retrying)');
    // The same request without `connections` (one connection) reads as before: no lines, no extra block.
    const single = { ...r, connections: undefined };
    for (const [where, text] of Object.entries(everyView(single))) {
      expect(text, where).not.toContain('okta');
      expect(text, where).not.toContain('(retrying)');
    }
    expect(buildApprovalMessage(single).blocks.map((b) => b.type)).toEqual([
      'header',
      'section',
      'section',
      'context',
    ]);
  });

  it('an outcome lists each connection’s outcome and waits for none', () => {
    const r = userRecord({
      state: 'unverifiable',
      result: { ok: true, revoked: 3, remaining: 0 },
      connections: [
        { connection: 'okta', requestId: 'p.okta', status: 'verified' },
        {
          connection: 'notes',
          requestId: 'p.notes',
          status: 'unverifiable',
          why: 'accepted, not observable',
        },
        { connection: 'google', requestId: 'p.google', status: 'no_account' },
      ],
    });
    const dm = everyView(r).dm!;
    expect(dm).toContain('okta: verified');
    expect(dm).toContain(':grey_question: notes: unverifiable: accepted, not observable');
    expect(dm).toContain('google: no account');
    expect(dm).not.toContain('(retrying)');
  });

  it('ten connections with 500 characters of `<&>`, mentions and emoji each stay within Slack’s limits', () => {
    const r = userRecord({ connections: hostileConnections() });
    for (const [where, shown] of Object.entries(everyView(r))) {
      // Every connection keeps its line, its why escaped and cut with an ellipsis.
      for (let i = 0; i < 10; i++) expect(shown, where).toContain(`gtr-app-${i}-of-the-long-names: `);
      expect(shown, where).toContain('&lt;&amp;&gt;😀&lt;!channel&gt;');
      expect(shown, where).toMatch(/…/);
      expect(shown, where).toContain('Waiting for gtr-app-0-of-the-long-names, gtr-app-2-');
    }
  });

  it('more connections than fit: the lines that fit, then how many more', () => {
    const r = userRecord({ connections: hostileConnections('p', 60) });
    const shown = everyView(r).approval!;
    expect(shown).toContain('gtr-app-0-of-the-long-names: waiting for it (retrying): &lt;&amp;&gt;');
    expect(shown).toMatch(/…and \d+ more connections/);
  });
});
