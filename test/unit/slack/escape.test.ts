import { describe, expect, it, onTestFinished } from 'vitest';
import { escapeMrkdwn, escapeText, mention } from '../../../src/slack/escape.ts';
import { buildApprovalMessage } from '../../../src/slack/messages/approval-message.ts';
import { buildUserTokensModal } from '../../../src/slack/views/user-tokens-modal.ts';
import { FakeSlackIdp } from '../../helpers/fake-intake-slack.ts';
import { slackTestPipeline } from '../../helpers/slack-intake.ts';

describe('escapeMrkdwn', () => {
  it('turns mentions and links into literal text', () => {
    expect(escapeMrkdwn('<!channel>')).toBe('&lt;!channel&gt;');
    expect(escapeMrkdwn('<https://evil|click>')).toBe('&lt;https://evil|click&gt;');
    expect(escapeMrkdwn('a & b')).toBe('a &amp; b');
  });

  it('cuts long text and still escapes', () => {
    const out = escapeText(`${'x'.repeat(20)}<`, 10);
    expect(out).toBe(`${'x'.repeat(9)}…`);
    expect(escapeText('<', 10)).toBe('&lt;');
  });

  it('mentions only well-formed Slack user ids', () => {
    expect(mention('U0123ABC')).toBe('<@U0123ABC>');
    expect(mention('<!here>')).toBe('&lt;!here&gt;');
  });

  it('renders hostile names and reasons as text in an approval message', async () => {
    const pipe = await slackTestPipeline({ idp: new FakeSlackIdp() });
    onTestFinished(() => pipe.close());
    const intake = pipe.intake;
    const { request } = await intake.submit({
      target: { kind: 'user', userId: 'usr_x' },
      reason: 'ping <!channel> and <https://evil|click>',
      source: 'hr',
      requestedBy: { source: 'hr', id: 'bamboo', name: '<!everyone> HR' },
    });
    const json = JSON.stringify(buildApprovalMessage(request));
    expect(json).not.toContain('<!channel>');
    expect(json).not.toContain('<https://evil|click>');
    expect(json).not.toContain('<!everyone>');
    expect(json).toContain('&lt;!channel&gt;');
    expect(json).toContain('&lt;https://evil|click&gt;');
  });

  it('escapes IdP display names in the token list', async () => {
    const idp = new FakeSlackIdp();
    const bob = idp.users.find((u) => u.id === 'usr_bob')!;
    const view = buildUserTokensModal({
      user: bob,
      tokens: [],
      listed: true,
      canRevokeToken: true,
      canRevokeUser: true,
    });
    const json = JSON.stringify(view.blocks);
    expect(json).toContain('Bob &lt;!channel&gt;');
    expect(json).not.toContain('<!channel>');
  });
});
