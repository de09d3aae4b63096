import { HttpResponse } from 'msw';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.ts';
import {
  blockSuggestionPayload,
  interactivityBody,
  postSlack,
  SlackApiStub,
  slackServiceEnv,
  slashCommandBody,
  viewActionPayload,
} from '../helpers/slack.ts';

/**
 * Requesters named by a Slack user group (`S0ADMINS`): while `usergroups.users.list` answers 503 or 429
 * (Retry-After 20), every command, click and options request is still answered within Slack's 3 s, and
 * the person is told their access could not be checked (neither refused nor let in). Before, the Web
 * API client retried 10 times and waited out the 429 ahead of the ack: Slack showed "operation_timeout".
 */
const ACK_MS = 3000;
const { secret, env } = slackServiceEnv('usergroups');
const stub = new SlackApiStub(env.SLACK_API_URL);
let t: TestService;

beforeAll(async () => {
  stub.listen();
  t = await startTestService({ ...env, SLACK_ADMIN_USERS: 'S0ADMINS' }, { prefixLabel: 'ugroups' });
});
afterAll(async () => {
  await t?.close();
  stub.close();
});

async function timed(rawBody: string): Promise<{ ms: number; status: number; text: string }> {
  const started = Date.now();
  const res = await postSlack(`${t.url}/slack/events`, rawBody, { secret });
  const text = await res.text();
  return { ms: Date.now() - started, status: res.status, text };
}

const failures = {
  '503': () => new HttpResponse('upstream unavailable', { status: 503 }),
  '429 (Retry-After 20)': () =>
    HttpResponse.json({ ok: false, error: 'ratelimited' }, { status: 429, headers: { 'retry-after': '20' } }),
};

describe.each(Object.entries(failures))('usergroups.users.list answering %s', (_name, answer) => {
  beforeAll(() => {
    stub.overrides.set('usergroups.users.list', answer);
  });

  it('/revoke user …: acked within 3 s with "could not check your access"', async () => {
    const r = await timed(slashCommandBody({ userId: 'UADMIN1', text: 'user bob@example.com' }));
    expect(r.status).toBe(200);
    expect(r.ms).toBeLessThan(ACK_MS);
    expect(r.text).toMatch(/Could not check your access/);
  });

  it('/revoke (dialog): acked within 3 s with "could not check your access", no dialog opened', async () => {
    const since = stub.calls.length;
    const r = await timed(slashCommandBody({ userId: 'UADMIN1', triggerId: 'trig-ug' }));
    expect(r.ms).toBeLessThan(ACK_MS);
    expect(r.text).toMatch(/Could not check your access/);
    expect(stub.calls.slice(since).filter((c) => c.method === 'views.open')).toEqual([]);
  });

  it('a click in the dialog: acked within 3 s, the dialog says "could not check your access"', async () => {
    const since = stub.calls.length;
    const r = await timed(
      interactivityBody(
        viewActionPayload({
          userId: 'UADMIN1',
          viewId: 'V_UG',
          callbackId: 'revoke_scope',
          privateMetadata: JSON.stringify({ scope: 'user' }),
          action: {
            type: 'radio_buttons',
            action_id: 'scope_select',
            block_id: 'scope_block',
            selected_option: { value: 'user', text: { type: 'plain_text', text: 'All tokens of a user' } },
          },
        }),
      ),
    );
    expect(r.status).toBe(200);
    expect(r.ms).toBeLessThan(ACK_MS);
    const update = await stub.next('views.update', (c) => c.args.view_id === 'V_UG', since);
    expect(JSON.stringify(update.args.view)).toMatch(/Could not check your access/);
  });

  it('options for the picker: answered within 3 s (empty)', async () => {
    const r = await timed(
      interactivityBody(
        blockSuggestionPayload({
          userId: 'UADMIN1',
          actionId: 'target_select',
          blockId: 'target_block',
          value: 'bo',
          privateMetadata: JSON.stringify({ scope: 'user' }),
        }),
      ),
    );
    expect(r.status).toBe(200);
    expect(r.ms).toBeLessThan(ACK_MS);
    expect(JSON.parse(r.text)).toEqual({ options: [] });
  });
});

describe('once Slack answers again', () => {
  it('a member of the group gets the dialog; someone else is refused', async () => {
    stub.overrides.set('usergroups.users.list', () =>
      HttpResponse.json({ ok: true, users: ['UADMIN1', 'UADMIN2'] }),
    );
    const since = stub.calls.length;
    const member = await timed(slashCommandBody({ userId: 'UADMIN1', triggerId: 'trig-ug-ok' }));
    expect(member.ms).toBeLessThan(ACK_MS);
    await stub.next('views.open', (c) => c.args.trigger_id === 'trig-ug-ok', since);
    const outsider = await timed(slashCommandBody({ userId: 'UNOBODY', triggerId: 'trig-ug-no' }));
    expect(outsider.text).toMatch(/not allowed to request revocations/);
  });
});
