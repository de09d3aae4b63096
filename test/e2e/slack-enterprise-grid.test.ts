import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, isDead, mintOne, startTestService, type TestService } from '../helpers/service.ts';
import {
  blockSuggestionPayload,
  interactivityBody,
  messageButtonPayload,
  postSlack,
  SlackApiStub,
  type SlackCall,
  slackServiceEnv,
  viewActionPayload,
  viewSubmissionPayload,
} from '../helpers/slack.ts';
import { asEnterpriseGrid, gridAppHomeOpenedBody, gridSlashCommandBody } from '../helpers/slack-grid.ts';

/**
 * Issue 20 item 13: Enterprise Grid payloads (org-wide install: `W…` user ids, `is_enterprise_install:
 * true`, `team: null`) through every handler — the command, the scope radio, the options search, the
 * picker, the confirmation, Approve, Deny, the status command and App Home — against the whole service.
 */
const SLACK = slackServiceEnv('grid');
const stub = new SlackApiStub(SLACK.api);
let t: TestService;
const ADMIN = 'W0ADMIN1';
const APPROVER = 'W0APPROVER1';

beforeAll(async () => {
  stub.listen();
  t = await startTestService(
    { ...SLACK.env, SLACK_ADMIN_USERS: ADMIN, SLACK_APPROVER_USERS: `${APPROVER},W0APPROVER2` },
    { prefixLabel: 'grid' },
  );
});
afterAll(async () => {
  await t?.close();
  stub.close();
});

const text = (c: SlackCall) => JSON.stringify(c.args);
async function post(body: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await postSlack(`${t.url}/slack/events`, body, { secret: SLACK.secret });
  const raw = await res.text();
  return { status: res.status, json: raw ? (JSON.parse(raw) as Record<string, unknown>) : {} };
}
const interact = (payload: object) => post(interactivityBody(asEnterpriseGrid(payload)));

describe('Enterprise Grid payloads through every handler', () => {
  it('/revoke → scope → search → pick → confirm → Approve: the tokens die', async () => {
    const bob = await mintOne(t, 'bob');
    const carol = await mintOne(t, 'carol');
    const since = stub.calls.length;
    expect((await post(gridSlashCommandBody({ userId: ADMIN, triggerId: 'grid-trig' }))).status).toBe(200);
    const opened = await stub.next('views.open', (c) => c.args.trigger_id === 'grid-trig', since);
    const scopeView = opened.args.view as { private_metadata: string };

    const s2 = stub.calls.length;
    await interact(
      viewActionPayload({
        userId: ADMIN,
        viewId: 'V_GRID',
        callbackId: 'revoke_scope',
        privateMetadata: scopeView.private_metadata,
        action: {
          type: 'radio_buttons',
          action_id: 'scope_select',
          block_id: 'scope_block',
          selected_option: { value: 'user', text: { type: 'plain_text', text: 'All tokens of a user' } },
        },
      }),
    );
    const userView = (await stub.next('views.update', (c) => c.args.view_id === 'V_GRID', s2)).args.view as {
      private_metadata: string;
    };
    const options = await interact(
      blockSuggestionPayload({
        userId: ADMIN,
        actionId: 'target_select',
        blockId: 'target_block.user',
        value: 'bob',
        privateMetadata: userView.private_metadata,
      }),
    );
    const found = (options.json.options as { value: string }[]) ?? [];
    expect(found.length).toBeGreaterThan(0);

    const s3 = stub.calls.length;
    await interact(
      viewActionPayload({
        userId: ADMIN,
        viewId: 'V_GRID',
        callbackId: 'revoke_scope',
        privateMetadata: userView.private_metadata,
        action: {
          type: 'external_select',
          action_id: 'target_select',
          block_id: 'target_block.user',
          selected_option: { value: found[0]!.value, text: { type: 'plain_text', text: 'bob' } },
        },
      }),
    );
    await stub.next(
      'views.update',
      (c) => c.args.view_id === 'V_GRID' && text(c).includes('revoke_user_tokens'),
      s3,
    );

    const confirmed = await interact(
      viewSubmissionPayload({
        userId: ADMIN,
        viewId: 'V_GRID',
        callbackId: 'revoke_scope',
        privateMetadata: userView.private_metadata,
        values: {
          'target_block.user': {
            target_select: { type: 'external_select', selected_option: { value: found[0]!.value } },
          },
        },
      }),
    );
    expect(confirmed.status).toBe(200);
    const s4 = stub.calls.length;
    // The confirmation comes in the ack, or after a loading view in a views.update.
    const acked = confirmed.json.view as { callback_id?: string; private_metadata: string } | undefined;
    const confirmView =
      acked?.callback_id === 'revoke_confirm'
        ? acked
        : ((await stub.next('views.update', (c) => text(c).includes('revoke_confirm'), s3)).args.view as {
            private_metadata: string;
          });
    const done = await interact(
      viewSubmissionPayload({
        userId: ADMIN,
        viewId: 'V_GRID',
        callbackId: 'revoke_confirm',
        privateMetadata: confirmView.private_metadata,
        values: { reason_block: { reason_input: { type: 'plain_text_input', value: 'grid offboarding' } } },
      }),
    );
    expect(done.status).toBe(200);
    const approval = await stub.next('chat.postMessage', (c) => c.args.channel === 'C0APPROVALS', s4);
    const requestId = /req_[A-Za-z0-9_-]{20}/.exec(text(approval))![0];
    const rec = await t.rt.intake.get(requestId);
    expect(rec?.requestedBy).toMatchObject({ source: 'slack', id: ADMIN });

    // Status, asked by the requester from the org install.
    const status = await post(gridSlashCommandBody({ userId: ADMIN, text: `status ${requestId}` }));
    expect(status.status).toBe(200);

    const click = await interact(
      messageButtonPayload({
        userId: APPROVER,
        actionId: 'approval_approve',
        value: requestId,
        messageTs: String(approval.answer!.ts),
      }),
    );
    expect(click.status).toBe(200);
    expect((await t.rt.intake.waitForOutcome(requestId, 30_000)).state).toBe('verified');
    expect(await isDead(t.idaas, bob)).toBe(true);
    expect(await isAlive(t.idaas, carol)).toBe(true);
  });

  it('Deny on a request the clicker cannot see is refused to them alone; App Home publishes for a W… user', async () => {
    const since = stub.calls.length;
    const responses = stub.responses.length;
    const denied = await interact(
      messageButtonPayload({
        userId: APPROVER,
        actionId: 'approval_deny',
        value: 'req_AAAAAAAAAAAAAAAAAAAA',
        triggerId: 'grid-deny',
      }),
    );
    expect(denied.status).toBe(200);
    expect(String((await stub.nextResponse(responses)).text)).toContain('No request');
    const home = await postSlack(`${t.url}/slack/events`, gridAppHomeOpenedBody(APPROVER), {
      secret: SLACK.secret,
      contentType: 'application/json',
    });
    expect(home.status).toBe(200);
    await stub.next('views.publish', (c) => c.args.user_id === APPROVER, since);
  });
});
