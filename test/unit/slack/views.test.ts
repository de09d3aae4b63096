import { describe, expect, it, onTestFinished } from 'vitest';
import type { Capabilities } from '../../../src/identity/port.ts';
import { buildHomeView } from '../../../src/slack/home/home-view.ts';
import { buildApprovalMessage } from '../../../src/slack/messages/approval-message.ts';
import { buildConfirmModal } from '../../../src/slack/views/confirm-modal.ts';
import { buildScopeModal } from '../../../src/slack/views/scope-modal.ts';
import { FakeSlackIdp } from '../../helpers/fake-intake-slack.ts';
import { slackTestPipeline } from '../../helpers/slack-intake.ts';

const entraLike: Capabilities = {
  scopes: { token: false, user: true, application: true, resourceServer: false },
  unsupportedReasons: {
    token: 'Entra ID cannot revoke a single token.',
    resourceServer: 'Only grants, not tokens.',
  },
  listTokens: false,
  search: true,
};

describe('scope modal', () => {
  it('offers only what the IdP can do and says why the rest is missing', () => {
    const view = buildScopeModal({ idpName: 'entra', capabilities: entraLike });
    const json = JSON.stringify(view.blocks);
    expect(json).toContain('all tokens for a user');
    expect(json).not.toContain('"value":"token"');
    expect(json).not.toContain('"value":"resourceServer"');
    expect(json).toContain('Entra ID cannot revoke a single token.');
    expect(view.submit).toBeUndefined();
  });

  it('shows an external_select picker once a scope is chosen', () => {
    const view = buildScopeModal({ idpName: 'entra', capabilities: entraLike, scope: 'application' });
    const input = view.blocks.find((b) => b.type === 'input');
    expect(input).toMatchObject({ element: { type: 'external_select', action_id: 'target_select' } });
    expect(JSON.parse(view.private_metadata!)).toEqual({ scope: 'application' });
    expect(view.submit).toBeDefined();
  });

  it('names the picker block after the scope, so a pick never carries over to another scope', () => {
    const caps = {
      ...entraLike,
      scopes: { token: true, user: true, application: true, resourceServer: true },
    };
    const ids = (['token', 'user', 'application', 'resourceServer'] as const).map(
      (scope) =>
        buildScopeModal({ idpName: 'x', capabilities: caps, scope }).blocks.find((b) => b.type === 'input')
          ?.block_id,
    );
    expect(new Set(ids).size).toBe(4);
    // Every scope with a picker can be submitted (Slack requires submit with an input block).
    expect(buildScopeModal({ idpName: 'x', capabilities: caps, scope: 'token' }).submit).toBeDefined();
  });

  it('falls back to a text input when the IdP cannot search', () => {
    const view = buildScopeModal({
      idpName: 'x',
      capabilities: { ...entraLike, search: false },
      scope: 'user',
    });
    expect(view.blocks.find((b) => b.type === 'input')).toMatchObject({
      element: { type: 'plain_text_input' },
    });
  });
});

describe('confirmation modal', () => {
  it('says what happens, how far it reaches, and requires a reason', () => {
    const target = { kind: 'application' as const, applicationId: 'app_crm' };
    const view = buildConfirmModal({
      target,
      label: 'CRM',
      plan: { target, steps: [], tokens: [], userCount: 12, tokenCount: 37 },
    });
    const json = JSON.stringify(view.blocks);
    expect(json).toContain('*37* tokens of *12* users');
    expect(json).toContain('UserInfo calls and refreshes fail');
    expect(json).toContain('reason_input');
    expect(JSON.parse(view.private_metadata!)).toEqual({
      target,
      label: 'CRM',
      impact: { tokenCount: 37, userCount: 12 },
    });
  });

  it('says so when the IdP cannot count tokens', () => {
    const target = { kind: 'user' as const, userId: 'u' };
    const view = buildConfirmModal({
      target,
      label: 'u',
      plan: { target, steps: [], tokens: [], userCount: 1, tokenCount: undefined },
    });
    expect(JSON.stringify(view.blocks)).toContain('unknown number of tokens');
  });
});

describe('approval message and home', () => {
  it('has buttons only while pending, then shows the outcome', async () => {
    const pipe = await slackTestPipeline({ idp: new FakeSlackIdp(), requiredApprovals: 2 });
    onTestFinished(() => pipe.close());
    const intake = pipe.intake;
    const { request } = await intake.submit({
      target: { kind: 'user', userId: 'usr_a' },
      reason: 'r',
      source: 'slack',
      requestedBy: { source: 'slack', id: 'U0REQ' },
    });
    expect(JSON.stringify(buildApprovalMessage(request).blocks)).toContain('approval_approve');
    const one = await intake.approve(request.id, { source: 'slack', id: 'U0APPROVER1' });
    expect(JSON.stringify(buildApprovalMessage(one).blocks)).toContain('1 of 2 approvals: <@U0APPROVER1>');
    const denied = await intake.deny(request.id, { source: 'slack', id: 'U0APPROVER2' }, 'no');
    const json = JSON.stringify(buildApprovalMessage(denied).blocks);
    expect(json).not.toContain('approval_approve');
    expect(json).toContain('Denied by <@U0APPROVER2>: no');
  });

  it('home lists my requests, my approvals (with buttons) and HR revocations', async () => {
    const pipe = await slackTestPipeline({ idp: new FakeSlackIdp() });
    onTestFinished(() => pipe.close());
    const intake = pipe.intake;
    const submit = async (id: string, source: 'slack' | 'hr', userId: string) =>
      (
        await intake.submit({
          target: { kind: 'user', userId },
          reason: 'r',
          source,
          requestedBy: { source, id },
        })
      ).request;
    const mine = await submit('U0ME', 'slack', 'usr_mine');
    const awaiting = await submit('U0REQ', 'slack', 'usr_awaiting');
    const hr = await submit('bamboohr', 'hr', 'usr_leaver');
    const view = buildHomeView({ mine: [mine], awaiting: [awaiting], hr: [hr] });
    const json = JSON.stringify(view.blocks);
    expect(view.type).toBe('home');
    // Each list (a header and the blocks up to the next header) shows its own request; only the
    // awaited one has buttons.
    const sections = new Map<string, string>();
    let title = '';
    for (const b of view.blocks as { type: string; text?: { text: string } }[]) {
      if (b.type === 'header') title = b.text!.text;
      else sections.set(title, `${sections.get(title) ?? ''}${JSON.stringify(b)}`);
    }
    const mineText = sections.get('My recent requests') ?? '';
    const awaitingText = sections.get('Waiting for my approval') ?? '';
    const hrText = sections.get('Recent HR offboarding revocations') ?? '';
    expect(mineText).toContain(mine.id);
    expect(awaitingText).toContain(`"value":"${awaiting.id}"`);
    expect(awaitingText).toContain('approval_approve');
    expect(hrText).toContain(hr.id);
    for (const other of [mineText, hrText]) {
      expect(other).not.toContain('approval_approve');
      expect(other).not.toContain(awaiting.id);
    }
    expect(json).not.toContain('None.');
  });
});
