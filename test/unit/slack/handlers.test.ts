import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../../src/log.ts';
import { handleApproveButton } from '../../../src/slack/actions/approval-buttons.ts';
import {
  handleConfirmSubmission,
  handleDenySubmission,
  SUBMIT_BUDGET_MS,
  type ViewAck,
} from '../../../src/slack/actions/view-submissions.ts';
import { handleRevokeCommand } from '../../../src/slack/commands/revoke-command.ts';
import type { RespondFn } from '../../../src/slack/slack-client.ts';
import { enforce } from '../../helpers/block-kit-contract.ts';
import { FakeSlackIdp } from '../../helpers/fake-intake-slack.ts';
import type { Pipeline } from '../../helpers/pipeline.ts';
import { requestIdIn } from '../../helpers/slack-flows.ts';
import { slackTestPipeline } from '../../helpers/slack-intake.ts';
import { fakeClient } from './fake-client.ts';

const pipes: Pipeline[] = [];
afterEach(async () => {
  await Promise.all(pipes.splice(0).map((p) => p.close()));
});

/** The handlers' dependencies: the real intake (and workflow engine) on Redis, a fake IdP and client. */
async function setup() {
  const idp = new FakeSlackIdp();
  const pipe = await slackTestPipeline({ idp });
  pipes.push(pipe);
  const intake = pipe.intake;
  const deps = { idp, intake, logger: silentLogger, access: pipe.access };
  const fc = fakeClient();
  // What a handler answers Slack goes through the Block Kit contract, as in every stand-in.
  const respond = vi.fn<RespondFn>(async (m) => {
    enforce('response_url', m);
  });
  const ack = vi.fn(async (r?: unknown) => {
    enforce('command_ack', r ?? {});
  });
  return { idp, intake, deps, ...fc, respond, ack };
}

/** A view_submission ack spy that checks each answer against the contract. */
const viewAck = () =>
  vi.fn<ViewAck>(async (r) => {
    enforce('view_ack', r ?? {});
  });

const command = (text: string) => ({
  command: '/revoke',
  text,
  user_id: 'U0REQ',
  user_name: 'req',
  trigger_id: 'trig',
  response_url: 'https://hooks.slack.test/x',
});

describe('/revoke handler', () => {
  it('acks help with the usage, ephemerally, and opens nothing', async () => {
    const t = await setup();
    await handleRevokeCommand(
      { command: command('help'), ack: t.ack, respond: t.respond, client: t.client },
      t.deps,
    );
    expect(t.ack).toHaveBeenCalledWith({
      response_type: 'ephemeral',
      text: expect.stringContaining('/revoke app'),
    });
    expect(t.calls).toHaveLength(0);
  });

  it('acks before any look-up, then confirms a resolved application', async () => {
    const t = await setup();
    const order: string[] = [];
    t.ack.mockImplementation(async () => {
      order.push('ack');
    });
    const search = vi.spyOn(t.idp, 'getApplication').mockImplementation(async (id) => {
      order.push('lookup');
      return { id, name: 'CRM' };
    });
    await handleRevokeCommand(
      { command: command('app app_crm'), ack: t.ack, respond: t.respond, client: t.client },
      t.deps,
    );
    expect(order[0]).toBe('ack');
    expect(search).toHaveBeenCalled();
    expect(t.calls.map((c) => c.method)).toEqual(['views.open', 'views.update']);
    expect(t.calls[0]!.args.trigger_id).toBe('trig');
    expect(t.text('views.update')).toContain('revoke_confirm');
    expect(t.text('views.update')).toContain('*1* token of *1* user');
  });

  it('answers an unknown ref with usage, never a stack trace', async () => {
    const t = await setup();
    await handleRevokeCommand(
      { command: command('app nothing-like-it'), ack: t.ack, respond: t.respond, client: t.client },
      t.deps,
    );
    const reply = t.respond.mock.calls[0]![0];
    expect(reply.response_type).toBe('ephemeral');
    expect(reply.text).toContain('No application matches');
    expect(reply.text).toContain('Usage');
    expect(reply.text).not.toMatch(/at .*\.ts:\d+/);
    expect(t.calls).toHaveLength(0);
  });

  it('says the IdP is unreachable when look-ups fail', async () => {
    const t = await setup();
    const { IdpTransientError } = await import('../../../src/identity/errors.ts');
    vi.spyOn(t.idp, 'getUser').mockRejectedValue(new IdpTransientError('socket hang up', { status: 503 }));
    await handleRevokeCommand(
      { command: command('user usr_x'), ack: t.ack, respond: t.respond, client: t.client },
      t.deps,
    );
    expect(t.respond.mock.calls[0]![0].text).toContain('identity provider could not answer');
  });

  it('opens a loading modal when the look-up is slow, then fills it in', async () => {
    const t = await setup();
    vi.useFakeTimers();
    try {
      t.idp.delayMs = 5000;
      const done = handleRevokeCommand(
        { command: command('user usr_alice'), ack: t.ack, respond: t.respond, client: t.client },
        t.deps,
      );
      await vi.advanceTimersByTimeAsync(1500);
      expect(t.calls.map((c) => c.method)).toEqual(['views.open']);
      expect(t.text('views.open')).toContain('revoke_loading');
      await vi.advanceTimersByTimeAsync(10_000);
      await done;
      expect(t.text('views.update')).toContain('revoke_confirm');
    } finally {
      vi.useRealTimers();
    }
  });

  it('answers status from the intake', async () => {
    const t = await setup();
    await handleRevokeCommand(
      { command: command('status req_missing'), ack: t.ack, respond: t.respond, client: t.client },
      t.deps,
    );
    expect(t.respond.mock.calls[0]![0].text).toContain('No request');
  });
});

const submission = (userId: string) => ({
  type: 'view_submission',
  user: { id: userId, name: 'someone' },
  view: {
    id: 'V_CONFIRM',
    callback_id: 'revoke_confirm',
    private_metadata: JSON.stringify({ target: { kind: 'user', userId: 'usr_alice' }, label: 'Alice' }),
    state: {
      values: { reason_block: { reason_input: { type: 'plain_text_input', value: ' offboarding ' } } },
    },
  },
});

describe('confirmation submission', () => {
  it('submits with the Slack idempotency key and closes with a summary', async () => {
    const t = await setup();
    const ack = viewAck();
    await handleConfirmSubmission({ ack, body: submission('U0REQ'), client: t.client }, t.deps);
    expect(ack.mock.calls[0]![0]).toMatchObject({ response_action: 'update' });
    const id = requestIdIn(ack.mock.calls[0]![0]);
    expect(await t.intake.get(id!)).toMatchObject({
      target: { kind: 'user', userId: 'usr_alice' },
      reason: 'offboarding',
      source: 'slack',
      requestedBy: { source: 'slack', id: 'U0REQ', name: 'someone' },
      context: { user: 'U0REQ' },
      state: 'pending_approval',
    });
    // Same view again (Slack retries): the idempotency key slack:V_CONFIRM gives the same request.
    await handleConfirmSubmission({ ack, body: submission('U0REQ'), client: t.client }, t.deps);
    expect(requestIdIn(ack.mock.calls[1]![0])).toBe(id);
    expect(await t.intake.list({ requestedBy: 'U0REQ' })).toHaveLength(1);
  });

  it('shows the refusal of someone in no workflow on the reason field, and submits nothing', async () => {
    const t = await setup();
    const ack = viewAck();
    await handleConfirmSubmission({ ack, body: submission('U0NOPE'), client: t.client }, t.deps);
    // Deny by default: the access gate refuses before the intake, with the one refusal line.
    expect(ack.mock.calls[0]![0]).toEqual({
      response_action: 'errors',
      errors: { reason_block: t.deps.access.refusal },
    });
    expect(t.deps.access.refusal).toContain('You are not allowed to request revocations');
    expect(await t.intake.list({ requestedBy: 'U0NOPE' })).toEqual([]);
  });

  it('refuses tampered private_metadata', async () => {
    const t = await setup();
    const body = submission('U0REQ');
    body.view.private_metadata = JSON.stringify({ target: { kind: 'everything' } });
    const ack = viewAck();
    await handleConfirmSubmission({ ack, body, client: t.client }, t.deps);
    expect(ack.mock.calls[0]![0]).toMatchObject({ response_action: 'errors' });
    expect(await t.intake.list({ requestedBy: 'U0REQ' })).toEqual([]);
  });
});

describe('approve button', () => {
  it('answers a refusal ephemerally to the clicker only', async () => {
    const t = await setup();
    const { request } = await t.intake.submit({
      target: { kind: 'user', userId: 'usr_alice' },
      reason: 'r',
      source: 'slack',
      requestedBy: { source: 'slack', id: 'U0REQ' },
    });
    const body = {
      type: 'block_actions',
      user: { id: 'U0REQ' },
      response_url: 'https://hooks.slack.test/r',
      channel: { id: 'C1' },
      container: { type: 'message' },
    };
    await handleApproveButton(
      { ack: t.ack, body, action: { value: request.id }, client: t.client, respond: t.respond },
      t.deps,
    );
    expect(t.respond).toHaveBeenCalledWith({
      response_type: 'ephemeral',
      replace_original: false,
      text: expect.stringContaining('you requested this; someone else must approve it'),
    });
    expect((await t.intake.get(request.id))?.approvals).toEqual([]);
  });
});

describe('deny submission', () => {
  it('acks within the budget while a slow intake records the denial, then shows the result', async () => {
    const t = await setup();
    const { request } = await t.intake.submit({
      target: { kind: 'user', userId: 'usr_alice' },
      reason: 'r',
      source: 'slack',
      requestedBy: { source: 'slack', id: 'U0REQ' },
    });
    const deny = t.intake.deny.bind(t.intake);
    vi.spyOn(t.intake, 'deny').mockImplementation(async (...a) => {
      await new Promise((r) => setTimeout(r, SUBMIT_BUDGET_MS + 500));
      return deny(...a);
    });
    let ackedAt = 0;
    const ack = vi.fn<ViewAck>(async (r) => {
      ackedAt = Date.now();
      enforce('view_ack', r ?? {});
    });
    const started = Date.now();
    await handleDenySubmission(
      {
        ack,
        client: t.client,
        body: {
          type: 'view_submission',
          user: { id: 'U0APPROVER1' },
          view: {
            id: 'V_DENY',
            callback_id: 'revoke_deny',
            private_metadata: JSON.stringify({ requestId: request.id }),
            state: { values: { deny_reason_block: { deny_reason_input: { value: 'not needed' } } } },
          },
        },
      },
      t.deps,
    );
    expect(ackedAt - started).toBeLessThan(3000);
    expect(ack.mock.calls[0]![0]).toMatchObject({ response_action: 'update' });
    expect(await t.intake.get(request.id)).toMatchObject({
      state: 'denied',
      denial: { by: 'U0APPROVER1', reason: 'not needed' },
    });
    expect(t.text('views.update')).toContain('was denied');
  });
});
