import { createHmac, randomBytes } from 'node:crypto';
import type { SlackHttpStandIn as SlackStandIn, StandInCall } from '../slack-contract/index.ts';

/**
 * Plays a person in Slack: builds the requests Slack would send for a slash command, a modal submission
 * and a button click, signs them as Slack does (v0, HMAC-SHA256 over `v0:{ts}:{body}`), and posts them to
 * Revoker's `/slack/events`.
 */
export class SlackDriver {
  constructor(
    private readonly eventsUrl: string,
    private readonly signingSecret: string,
    private readonly slack: SlackStandIn,
  ) {}

  private async post(body: string): Promise<Response> {
    const ts = String(Math.floor(Date.now() / 1000));
    const sig = createHmac('sha256', this.signingSecret).update(`v0:${ts}:${body}`).digest('hex');
    const res = await fetch(this.eventsUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': ts,
        'x-slack-signature': `v0=${sig}`,
      },
      body,
    });
    if (res.status !== 200) throw new Error(`/slack/events answered ${res.status}`);
    return res;
  }

  private interactivity(payload: object): Promise<Response> {
    return this.post(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
  }

  /** `/revoke <text>` typed by `userId`; resolves with the confirmation modal it leads to. */
  async slashCommand(userId: string, text: string): Promise<{ viewId: string; privateMetadata: string }> {
    const since = this.slack.calls.length;
    const trigger = `${Date.now()}.${randomBytes(4).toString('hex')}`;
    await this.post(
      new URLSearchParams({
        token: 'unused',
        team_id: 'TDEMO',
        team_domain: 'demo',
        channel_id: 'CSECOPS',
        channel_name: 'sec-ops',
        user_id: userId,
        user_name: userId.toLowerCase(),
        command: '/revoke',
        text,
        api_app_id: 'ADEMO',
        response_url: `${this.slack.url}/response/${trigger}`,
        trigger_id: this.slack.issueTrigger(trigger),
      }).toString(),
    );
    const confirm = await this.slack.next('views.update', (c) => callbackId(c) === 'revoke_confirm', since);
    const view = confirm.args.view as { private_metadata: string };
    return { viewId: String(confirm.args.view_id), privateMetadata: view.private_metadata };
  }

  /** Submits the confirmation modal with a reason; resolves with the approval message, if one is posted. */
  async confirm(
    userId: string,
    modal: { viewId: string; privateMetadata: string },
    reason: string,
  ): Promise<void> {
    await this.interactivity({
      type: 'view_submission',
      team: { id: 'TDEMO', domain: 'demo' },
      user: { id: userId, username: userId.toLowerCase(), name: userId.toLowerCase(), team_id: 'TDEMO' },
      api_app_id: 'ADEMO',
      trigger_id: this.slack.issueTrigger(`${Date.now()}.submit`, modal.viewId),
      view: {
        id: modal.viewId,
        team_id: 'TDEMO',
        type: 'modal',
        callback_id: 'revoke_confirm',
        private_metadata: modal.privateMetadata,
        state: { values: { reason_block: { reason_input: { type: 'plain_text_input', value: reason } } } },
        blocks: [],
      },
    });
  }

  /** An approver clicks Approve on the approval message of `requestId`. */
  async approve(userId: string, requestId: string): Promise<void> {
    const message = await this.slack.next('chat.postMessage', (c) =>
      JSON.stringify(c.args).includes(requestId),
    );
    await this.interactivity({
      type: 'block_actions',
      user: { id: userId, username: userId.toLowerCase(), name: userId.toLowerCase(), team_id: 'TDEMO' },
      api_app_id: 'ADEMO',
      container: {
        type: 'message',
        message_ts: String(message.answer.ts),
        channel_id: String(message.args.channel),
      },
      trigger_id: this.slack.issueTrigger(`${Date.now()}.approve`),
      team: { id: 'TDEMO', domain: 'demo' },
      channel: { id: String(message.args.channel), name: 'approvals' },
      message: {
        type: 'message',
        ts: String(message.answer.ts),
        text: 'Token revocation request',
        blocks: [],
      },
      response_url: `${this.slack.url}/response/approve-${userId}`,
      actions: [
        {
          type: 'button',
          action_id: 'approval_approve',
          block_id: 'approval_actions',
          text: { type: 'plain_text', text: 'Approve' },
          value: requestId,
          action_ts: String(Date.now() / 1000),
        },
      ],
    });
  }
}

function callbackId(c: StandInCall): string | undefined {
  return (c.args.view as { callback_id?: string } | undefined)?.callback_id;
}
