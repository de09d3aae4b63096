import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RevocationService } from '../../../src/intake/revocation-service.ts';
import { silentLogger } from '../../../src/log.ts';
import { jobIds } from '../../../src/queue/names.ts';
import {
  createSlackApp,
  createSlackNotifications,
  type SlackNotifications,
} from '../../../src/slack/index.ts';
import { fireNow } from '../../helpers/delayed-jobs.ts';
import { FakeSlackIdp } from '../../helpers/fake-intake-slack.ts';
import { connectRedis, deleteKeys, randomPrefix } from '../../helpers/redis.ts';
import {
  appHomeOpenedBody,
  blockSuggestionPayload,
  interactivityBody,
  postSlack,
  SlackApiStub,
  type SlackCall,
  slashCommandBody,
  viewSubmissionPayload,
} from '../../helpers/slack.ts';
import { click as clickFlow, submitConfirm as submitFlow } from '../../helpers/slack-flows.ts';
import { type SlackTestPipeline, slackTestPipeline } from '../../helpers/slack-intake.ts';
import { serveSlackEvents } from '../../helpers/slack-server.ts';

const SECRET = 'test-signing-secret';
const config = {
  SLACK_SIGNING_SECRET: SECRET,
  SLACK_BOT_TOKEN: 'xoxb-test',
  SLACK_APP_TOKEN: undefined,
  SLACK_API_URL: 'http://slack.test/api/',
  SLACK_APPROVALS_CHANNEL: 'C0APPROVALS',
  SLACK_NOTIFY_CHANNEL: 'C0NOTIFY',
};

const stub = new SlackApiStub(config.SLACK_API_URL);
/** Progress updates of one message reach Slack at most once per this window. */
const COALESCE_MS = 400;
let redis: Redis;
let prefix: string;
let server: Awaited<ReturnType<typeof serveSlackEvents>>;
let url: string;
let idp: FakeSlackIdp;
let pipe: SlackTestPipeline;
let intake: RevocationService;
let notifications: SlackNotifications;

const blocksText = (c: { args: Record<string, unknown> }) =>
  JSON.stringify(c.args.blocks ?? c.args.view ?? '');

beforeAll(async () => {
  stub.listen();
  redis = connectRedis();
  prefix = randomPrefix('slack-http');
  idp = new FakeSlackIdp();
  notifications = createSlackNotifications(
    { config, redis, prefix, logger: silentLogger },
    { coalesceMs: COALESCE_MS, settleMs: 100, backoffMs: 50 },
  );
  notifications.startWorker();
  // The real intake, queues and workers, deciding with the real workflow engine.
  pipe = await slackTestPipeline({ idp, alsoNotify: notifications.notifier });
  intake = pipe.intake;
  await pipe.startWorkers();
  const slack = createSlackApp({
    config,
    intake,
    idp,
    redis,
    prefix,
    logger: silentLogger,
    access: pipe.access,
  });
  server = await serveSlackEvents(slack.handler);
  url = server.url;
});

afterAll(async () => {
  await server.close();
  await pipe.close();
  await notifications.close();
  await deleteKeys(redis, prefix);
  await redis.quit();
  stub.close();
});

describe('request authenticity', () => {
  it('answers 401 to a forged signature', async () => {
    const body = slashCommandBody({ text: 'help' });
    const res = await postSlack(url, body, { secret: 'not-the-secret' });
    expect(res.status).toBe(401);
  });

  it('answers 401 to a request older than five minutes, even correctly signed', async () => {
    const body = slashCommandBody({ text: 'help' });
    const res = await postSlack(url, body, {
      secret: SECRET,
      timestamp: Math.floor(Date.now() / 1000) - 301,
    });
    expect(res.status).toBe(401);
  });

  it('answers 401 without signature headers', async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(401);
  });

  it('answers 400 to a signed but malformed payload', async () => {
    const bad = await postSlack(url, 'payload=%7Bnot-json', { secret: SECRET });
    expect(bad.status).toBe(400);
    const unknown = await postSlack(url, interactivityBody({ type: 'something_else' }), { secret: SECRET });
    expect(unknown.status).toBe(400);
    const json = await postSlack(url, '[1,2]', { secret: SECRET, contentType: 'application/json' });
    expect(json.status).toBe(400);
  });

  it('serves a correctly signed /revoke help with usage, ephemerally', async () => {
    const res = await postSlack(url, slashCommandBody({ text: 'help' }), { secret: SECRET });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { response_type: string; text: string };
    expect(body.response_type).toBe('ephemeral');
    expect(body.text).toContain('/revoke user');
  });
});

describe('/revoke', () => {
  it('alone opens the Revoke Tokens modal with the trigger_id', async () => {
    const since = stub.calls.length;
    const started = Date.now();
    const res = await postSlack(url, slashCommandBody({ triggerId: 'trig-modal' }), { secret: SECRET });
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(3000);
    const open = await stub.next('views.open', (c) => c.args.trigger_id === 'trig-modal', since);
    const view = open.args.view as { callback_id: string; blocks: unknown[] };
    expect(view.callback_id).toBe('revoke_scope');
    expect(JSON.stringify(view.blocks)).toContain('all tokens issued to an application');
    expect(open.authorization).toBe('Bearer xoxb-test');
  });

  it('with a resolvable user opens a loading modal, then the confirmation with the impact', async () => {
    const since = stub.calls.length;
    const res = await postSlack(
      url,
      slashCommandBody({ text: 'user alice@example.com', triggerId: 'trig-alice' }),
      {
        secret: SECRET,
      },
    );
    expect(res.status).toBe(200);
    const open = await stub.next('views.open', (c) => c.args.trigger_id === 'trig-alice', since);
    expect((open.args.view as { callback_id: string }).callback_id).toBe('revoke_loading');
    const update = await stub.next('views.update', (c) => blocksText(c).includes('revoke_confirm'), since);
    expect(update.args.view_id).toMatch(/^V_OPENED_/);
    const text = blocksText(update);
    expect(text).toContain('Alice Liddell');
    expect(text).toContain('*2* tokens of *1* user');
    expect(text).toContain('sign in again');
  });

  it('with an ambiguous ref answers ephemerally with the closest matches, and opens nothing', async () => {
    const since = stub.calls.length;
    const responses = stub.responses.length;
    const res = await postSlack(url, slashCommandBody({ text: 'user al' }), { secret: SECRET });
    expect(res.status).toBe(200);
    const reply = await stub.nextResponse(responses);
    expect(reply.response_type).toBe('ephemeral');
    expect(String(reply.text)).toContain('Closest matches');
    expect(String(reply.text)).toContain('alfred');
    expect(String(reply.text)).toContain('Usage');
    expect(stub.calls.slice(since).some((c) => c.method === 'views.open')).toBe(false);
  });

  it('offers IdP search results for the external_select (block_suggestion)', async () => {
    const payload = blockSuggestionPayload({
      userId: 'U0REQUESTER',
      actionId: 'target_select',
      blockId: 'target_block.application',
      value: 'crm',
      privateMetadata: JSON.stringify({ scope: 'application' }),
    });
    const res = await postSlack(url, interactivityBody(payload), { secret: SECRET });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { options: { text: { text: string }; value: string }[] };
    expect(body.options).toEqual([{ text: { type: 'plain_text', text: 'CRM (app_crm)' }, value: 'app_crm' }]);
  });
});

const endpoint = () => ({ url, secret: SECRET });
const ALICE = JSON.stringify({ target: { kind: 'user', userId: 'usr_alice' }, label: 'Alice' });
const submitConfirm = (userId: string, viewId: string, reason?: string) =>
  submitFlow(endpoint(), { userId, viewId, privateMetadata: ALICE, ...(reason ? { reason } : {}) }, stub);
const click = (userId: string, actionId: 'approval_approve' | 'approval_deny', requestId: string) =>
  clickFlow(endpoint(), userId, requestId, actionId);
/** Submits as U0REQUESTER; returns the request and its message in the approvals channel. */
async function submitAndPost(viewId: string, since: number) {
  const { requestId } = await submitConfirm('U0REQUESTER', viewId);
  const request = (await intake.get(requestId!))!;
  const post = await stub.next(
    'chat.postMessage',
    (c) => c.args.channel === 'C0APPROVALS' && blocksText(c).includes(request.id),
    since,
  );
  return { request, post };
}

/** A call on the approval message `post` answered: same channel, same ts (an update in place). */
const onMessage = (post: SlackCall) => (c: SlackCall) =>
  c.args.channel === post.args.channel && c.args.ts === post.answer?.ts;

describe('submission and approvals', () => {
  it('a Forbidden submit shows the refusal on the reason field', async () => {
    const { ack, requestId } = await submitConfirm('U0NOBODY', 'V_FORBIDDEN');
    expect(ack.response_action).toBe('errors');
    // Deny by default: someone in no workflow is refused before the intake, with the one refusal line.
    expect(ack.errors?.reason_block).toContain('You are not allowed to request revocations');
    expect(requestId).toBeUndefined();
    expect(await intake.list({ requestedBy: 'U0NOBODY' })).toEqual([]);
  });

  it('submits, posts to the approvals channel, refuses bad clicks ephemerally, updates in place, DMs the outcome', async () => {
    let since = stub.calls.length;
    const { ack, requestId } = await submitConfirm('U0REQUESTER', 'V_FLOW');
    expect(ack.response_action).toBe('update');
    expect(requestId).toMatch(/^req_/);
    const request = (await intake.get(requestId!))!;
    expect(request).toMatchObject({
      source: 'slack',
      reason: 'laptop stolen',
      state: 'pending_approval',
      workflow: 'slack-test',
      requestedBy: { source: 'slack', id: 'U0REQUESTER' },
      context: { user: 'U0REQUESTER' },
    });
    // The same view submitted again is the same request (idempotency key slack:<view id>).
    expect((await submitConfirm('U0REQUESTER', 'V_FLOW')).requestId).toBe(request.id);

    const post = await stub.next(
      'chat.postMessage',
      (c) => c.args.channel === 'C0APPROVALS' && blocksText(c).includes(request.id),
      since,
    );
    // A posted message's ts comes in Slack's answer; updates in place must name it.
    expect(post.answer?.ts).toMatch(/^\d+\.\d+$/);
    const posted = blocksText(post);
    expect(posted).toContain('<@U0REQUESTER>');
    expect(posted).toContain('laptop stolen');
    expect(posted).toContain('approval_approve');
    expect(posted).toContain('0 of 1 approvals');

    // Self-approval, an outsider: refused, only to the clicker.
    let responses = stub.responses.length;
    await click('U0REQUESTER', 'approval_approve', request.id);
    let reply = await stub.nextResponse(responses);
    expect(reply).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    // The workflow engine's own words.
    expect(String(reply.text)).toContain('you requested this; someone else must approve it');

    responses = stub.responses.length;
    await click('U0OUTSIDER', 'approval_approve', request.id);
    reply = await stub.nextResponse(responses);
    expect(String(reply.text)).toContain('not an approver');

    since = stub.calls.length;
    await click('U0APPROVER1', 'approval_approve', request.id);
    // The approval is recorded; the message is updated in place, its buttons gone. The steps on the way
    // (approved → queued → running) settle into one update and an outcome goes at once, so with the
    // workers running the first update may already be the outcome.
    const updated = await stub.next('chat.update', onMessage(post), since);
    expect(updated.args).toMatchObject({ channel: 'C0APPROVALS', ts: post.answer!.ts });
    expect(blocksText(updated)).not.toContain('approval_approve');
    expect(blocksText(updated)).toMatch(/Approved by <@U0APPROVER1>|Revoking|Done and verified/);
    expect((await intake.get(request.id))?.approvals.map((a) => a.by)).toEqual(['U0APPROVER1']);

    // A second click changes nothing.
    responses = stub.responses.length;
    await click('U0APPROVER2', 'approval_approve', request.id);
    reply = await stub.nextResponse(responses);
    expect(String(reply.text)).toContain('already');

    // The workers revoke and verify (the fake IdP's two tokens of Alice): the requester gets a DM and
    // the approval message shows the outcome, in place.
    const dm = await stub.next(
      'chat.postMessage',
      (c) => c.args.channel === 'U0REQUESTER' && blocksText(c).includes(request.id),
      since,
    );
    expect(blocksText(dm)).toContain('verified');
    await stub.next(
      'chat.update',
      (c) => onMessage(post)(c) && blocksText(c).includes('Done and verified'),
      since,
    );
    expect((await intake.get(request.id))?.state).toBe('verified');
  });

  it('coalesces a burst of progress into a few in-place updates of the approval message', async () => {
    let since = stub.calls.length;
    const { request, post } = await submitAndPost('V_PROGRESS', since);
    since = stub.calls.length;
    // What the workers would announce while revoking 120 tokens, straight to the Slack notifier.
    const at = Date.parse(request.updatedAt);
    for (let done = 1; done <= 37; done++) {
      await notifications.notifier.notify({
        type: 'request.progress',
        request: {
          ...request,
          state: 'running',
          progress: { done, total: 120 },
          updatedAt: new Date(at + done).toISOString(),
        },
      });
    }
    await stub.next(
      'chat.update',
      (c) => onMessage(post)(c) && blocksText(c).includes('37 of 120 calls'),
      since,
    );
    // Every update about this request is of its one message, and 37 events made fewer than 10, spaced
    // by the coalescing window.
    const progress = stub.calls
      .slice(since)
      .filter((c) => c.method === 'chat.update' && blocksText(c).includes(request.id));
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.length).toBeLessThan(10);
    expect(progress.every(onMessage(post))).toBe(true);
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]!.at - progress[i - 1]!.at).toBeGreaterThanOrEqual(COALESCE_MS - 50);
    }
  });

  it('a late click on an expired request is refused; the buttons are replaced by the outcome', async () => {
    let since = stub.calls.length;
    const { request, post } = await submitAndPost('V_EXPIRING', since);
    since = stub.calls.length;
    // The approval window lapses: its delayed expiry job runs now.
    await fireNow(pipe.queues.revocations, jobIds.expire(request.id));
    const updated = await stub.next(
      'chat.update',
      (c) => onMessage(post)(c) && blocksText(c).includes('Expired'),
      since,
    );
    expect(blocksText(updated)).not.toContain('approval_approve');
    const responses = stub.responses.length;
    await click('U0APPROVER1', 'approval_approve', request.id);
    const reply = await stub.nextResponse(responses);
    expect(String(reply.text)).toContain('expired');
    await stub.next(
      'chat.postMessage',
      (c) => c.args.channel === 'U0REQUESTER' && blocksText(c).includes('Expired'),
      since,
    );
  });

  it('Deny opens a modal asking for a reason; its submission denies', async () => {
    let since = stub.calls.length;
    const { request, post } = await submitAndPost('V_DENIED', since);
    await click('U0APPROVER1', 'approval_deny', request.id);
    const open = await stub.next('views.open', (c) => blocksText(c).includes('revoke_deny'), since);
    const view = open.args.view as { private_metadata: string };
    since = stub.calls.length;
    const payload = viewSubmissionPayload({
      userId: 'U0APPROVER1',
      viewId: 'V_DENY',
      callbackId: 'revoke_deny',
      privateMetadata: view.private_metadata,
      values: {
        deny_reason_block: { deny_reason_input: { type: 'plain_text_input', value: 'not <b>needed</b>' } },
      },
    });
    const res = await postSlack(url, interactivityBody(payload), { secret: SECRET });
    expect(res.status).toBe(200);
    expect(await intake.get(request.id)).toMatchObject({
      state: 'denied',
      denial: { by: 'U0APPROVER1', reason: 'not <b>needed</b>' },
    });
    const updated = await stub.next(
      'chat.update',
      (c) => onMessage(post)(c) && blocksText(c).includes('Denied by'),
      since,
    );
    expect(blocksText(updated)).toContain('not &lt;b&gt;needed&lt;/b&gt;');
  });

  it('publishes App Home on app_home_opened', async () => {
    const since = stub.calls.length;
    const res = await postSlack(url, appHomeOpenedBody('U0APPROVER1'), {
      secret: SECRET,
      contentType: 'application/json',
    });
    expect(res.status).toBe(200);
    const publish = await stub.next('views.publish', (c) => c.args.user_id === 'U0APPROVER1', since);
    expect(blocksText(publish)).toContain('Waiting for my approval');
  });
});
