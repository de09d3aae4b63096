import { expect } from 'vitest';
import {
  interactivityBody,
  messageButtonPayload,
  postSlack,
  type SlackApiStub,
  viewSubmissionPayload,
} from './slack.ts';

/**
 * The Slack gestures the tests repeat — submitting the confirmation modal, clicking Approve/Deny — as
 * Slack sends them (signed, `payload=` form) to a Revoker `/slack/events` endpoint.
 */
export interface SlackEndpoint {
  /** …/slack/events */
  url: string;
  secret: string;
}

export interface ConfirmAck {
  response_action?: string;
  errors?: Record<string, string>;
  view?: unknown;
}

/** The request id the "Request submitted" modal shows (the id the intake returned). */
export function requestIdIn(ack: ConfirmAck | unknown): string | undefined {
  return /Request `(req_[A-Za-z0-9_-]+)`/.exec(JSON.stringify(ack))?.[1];
}

/**
 * Submits the "Revoke" confirmation modal (`revoke_confirm`) with a reason. Returns Slack's ack and, when
 * the request was taken, its id as the answer shows it — in the ack, or (when the submit outlasted
 * Slack's 3-second budget and the ack was a loading modal) in the `views.update` that follows, read
 * from `stub` when given.
 */
export async function submitConfirm(
  ep: SlackEndpoint,
  input: { userId: string; viewId: string; privateMetadata: string; reason?: string },
  stub?: SlackApiStub,
): Promise<{ status: number; ack: ConfirmAck; requestId: string | undefined }> {
  const since = stub?.calls.length ?? 0;
  const payload = viewSubmissionPayload({
    userId: input.userId,
    viewId: input.viewId,
    callbackId: 'revoke_confirm',
    privateMetadata: input.privateMetadata,
    values: {
      reason_block: { reason_input: { type: 'plain_text_input', value: input.reason ?? 'laptop stolen' } },
    },
  });
  const res = await postSlack(ep.url, interactivityBody(payload), { secret: ep.secret });
  const text = await res.text();
  const ack = (text ? JSON.parse(text) : {}) as ConfirmAck;
  let requestId = requestIdIn(ack);
  if (!requestId && stub && ack.response_action === 'update') {
    const update = await stub.next(
      'views.update',
      (c) => c.args.view_id === input.viewId && requestIdIn(c.args.view) !== undefined,
      since,
    );
    requestId = requestIdIn(update.args.view);
  }
  return { status: res.status, ack, requestId };
}

/** Clicks Approve or Deny on the approval message of `requestId`; Slack's request must be answered 200. */
export async function click(
  ep: SlackEndpoint,
  userId: string,
  requestId: string,
  actionId: 'approval_approve' | 'approval_deny' = 'approval_approve',
): Promise<void> {
  const payload = messageButtonPayload({ userId, actionId, value: requestId });
  const res = await postSlack(ep.url, interactivityBody(payload), { secret: ep.secret });
  expect(res.status).toBe(200);
}
