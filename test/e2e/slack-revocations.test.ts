import { HttpResponse } from 'msw';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../src/intake/types.ts';
import { jobIds } from '../../src/queue/names.ts';
import { deliverHr, signHrDelivery } from '../helpers/hr-signing.ts';
import {
  isAlive,
  isDead,
  liveness,
  mintOne,
  startTestService,
  type TestService,
} from '../helpers/service.ts';
import {
  appHomeOpenedBody,
  interactivityBody,
  messageButtonPayload,
  postSlack,
  SlackApiStub,
  type SlackCall,
  slackServiceEnv,
  slashCommandBody,
  viewActionPayload,
  viewSubmissionPayload,
} from '../helpers/slack.ts';
import { click, submitConfirm as submitFlow } from '../helpers/slack-flows.ts';
import { until } from '../helpers/wait.ts';

/**
 * Slack end to end: requests signed as Slack signs them, shaped like Slack's, against the whole service
 * (embedded IDaaS, real Redis, real workers); msw stands in for the Slack Web API and records what is sent.
 */
const SLACK = slackServiceEnv('e2e');
const SECRET = SLACK.secret;
const API = SLACK.api;
const HR_SECRET = `whsec_${Buffer.from('e2e-hr-secret-0123456789abcdef').toString('base64')}`;
const stub = new SlackApiStub(API);
let t: TestService;
let events: string;

beforeAll(async () => {
  stub.listen();
  t = await startTestService({
    ...SLACK.env,
    HR_STANDARD_SECRET: HR_SECRET,
  });
  events = `${t.url}/slack/events`;
});
afterAll(async () => {
  await t?.close();
  stub.close();
});

const text = (c: SlackCall) => JSON.stringify(c.args);
type View = { id?: string; callback_id: string; private_metadata: string; blocks: unknown[] };

async function post(body: string): Promise<Response> {
  const res = await postSlack(events, body, { secret: SECRET });
  expect(res.status).toBe(200);
  return res;
}

/** The view most recently opened/updated/pushed with this callback id, after `since`. */
async function nextView(callbackId: string, since: number): Promise<{ viewId: string; view: View }> {
  const call = await stub.next(
    'views.update',
    (c) => (c.args.view as View | undefined)?.callback_id === callbackId,
    since,
  );
  return { viewId: String(call.args.view_id), view: call.args.view as View };
}

/** Submits the confirmation; returns the request the intake returned (by the id Slack was shown). */
async function submitConfirm(
  userId: string,
  viewId: string,
  view: View,
  reason: string,
): Promise<RequestRecord> {
  const { status, ack, requestId } = await submitFlow(
    { url: events, secret: SECRET },
    { userId, viewId, privateMetadata: view.private_metadata, reason },
    stub,
  );
  expect(status).toBe(200);
  expect(ack).toMatchObject({ response_action: 'update' });
  expect(requestId).toMatch(/^req_/);
  const rec = await t.rt.intake.get(requestId!);
  expect(rec).toMatchObject({ requestedBy: { id: userId }, reason });
  return rec!;
}

const approve = (userId: string, requestId: string) =>
  click({ url: events, secret: SECRET }, userId, requestId);

const mint = (user: string, application?: string, resourceServer?: string) =>
  mintOne(t, user, application, resourceServer);

/** /revoke → choose a scope in the modal: returns the re-rendered scope modal. */
async function openScope(userId: string, scope: string): Promise<{ viewId: string; view: View }> {
  const since = stub.calls.length;
  await post(slashCommandBody({ userId, triggerId: `trig-${scope}-${since}` }));
  const opened = await stub.next(
    'views.open',
    (c) => (c.args.view as View).callback_id === 'revoke_scope',
    since,
  );
  const viewId = `V_SCOPE_${since}`;
  const s2 = stub.calls.length;
  await post(
    interactivityBody(
      viewActionPayload({
        userId,
        viewId,
        callbackId: 'revoke_scope',
        privateMetadata: (opened.args.view as View).private_metadata,
        action: {
          type: 'radio_buttons',
          action_id: 'scope_select',
          block_id: 'scope_block',
          selected_option: { value: scope, text: { type: 'plain_text', text: scope } },
        },
      }),
    ),
  );
  const updated = await stub.next('views.update', (c) => c.args.view_id === viewId, s2);
  return { viewId, view: updated.args.view as View };
}

/** Token or user scope: pick the user in the modal; resolves with the user's tokens tab. */
async function pickUser(requester: string, viewId: string, view: View, userId: string) {
  const since = stub.calls.length;
  await post(
    interactivityBody(
      viewActionPayload({
        userId: requester,
        viewId,
        callbackId: 'revoke_scope',
        privateMetadata: view.private_metadata,
        action: {
          type: 'external_select',
          action_id: 'target_select',
          block_id: pickerBlockId(view),
          selected_option: { value: userId, text: { type: 'plain_text', text: userId } },
        },
      }),
    ),
  );
  return nextView('revoke_user_tokens', since);
}

/** The block id of the modal's target picker (it names the scope). */
function pickerBlockId(view: View): string {
  const input = (view.blocks as { type: string; block_id?: string }[]).find((b) => b.type === 'input');
  if (!input?.block_id) throw new Error('the scope modal has no picker');
  return input.block_id;
}

/** "Next" on the scope modal with `target` picked; resolves with the ack's view (if any) and a marker. */
async function submitScope(userId: string, viewId: string, view: View, target: string) {
  const since = stub.calls.length;
  const res = await post(
    interactivityBody(
      viewSubmissionPayload({
        userId,
        viewId,
        callbackId: 'revoke_scope',
        privateMetadata: view.private_metadata,
        values: {
          [pickerBlockId(view)]: {
            target_select: {
              type: 'external_select',
              selected_option: { value: target, text: { type: 'plain_text', text: target } },
            },
          },
        },
      }),
    ),
  );
  const ack = (await res.json()) as { response_action: string; view?: View };
  return { since, ack };
}

/** The view that follows a submission: the ack's `update`, or a later views.update. */
async function following(
  callbackId: string,
  viewId: string,
  submitted: Awaited<ReturnType<typeof submitScope>>,
) {
  if (submitted.ack.view?.callback_id === callbackId) return { viewId, view: submitted.ack.view };
  return nextView(callbackId, submitted.since);
}

/** Application or API: "Next" on the scope modal with the picked target, then the confirmation. */
async function pickBulkTarget(userId: string, scope: 'application' | 'resourceServer', target: string) {
  const { viewId, view } = await openScope(userId, scope);
  return following('revoke_confirm', viewId, await submitScope(userId, viewId, view, target));
}

/** Revoke on one token of the user's tokens tab: resolves with the confirmation pushed on top. */
async function clickRevokeToken(userId: string, tokens: { viewId: string; view: View }, tokenId: string) {
  const since = stub.calls.length;
  await post(
    interactivityBody(
      viewActionPayload({
        userId,
        viewId: tokens.viewId,
        callbackId: 'revoke_user_tokens',
        privateMetadata: tokens.view.private_metadata,
        action: { type: 'button', action_id: 'revoke_token', block_id: 'tok', value: tokenId },
      }),
    ),
  );
  await stub.next('views.push', () => true, since);
  return nextView('revoke_confirm', since);
}

async function outcome(rec: RequestRecord): Promise<RequestRecord> {
  return t.rt.intake.waitForOutcome(rec.id, 30_000);
}

async function approvalMessage(requestId: string, since: number): Promise<SlackCall> {
  return stub.next(
    'chat.postMessage',
    (c) => c.args.channel === 'C0APPROVALS' && text(c).includes(requestId),
    since,
  );
}

describe('Slack → approval → workers → IdP, end to end', () => {
  it('/revoke user: approval message, Approve, tokens die, the message shows the verified result, the requester gets a DM', async () => {
    const bob = [await mint('bob'), await mint('bob', 'team-wiki', 'payroll-api')];
    const carol = await mint('carol');
    const since = stub.calls.length;
    await post(slashCommandBody({ userId: 'UADMIN1', text: 'user bob@example.com', triggerId: 'trig-bob' }));
    const { viewId, view } = await nextView('revoke_confirm', since);
    expect(JSON.stringify(view.blocks)).toMatch(/sign in again/);
    const rec = await submitConfirm('UADMIN1', viewId, view, 'laptop stolen');
    expect(rec.state).toBe('pending_approval');
    // The impact the confirmation showed is the request's: the intake did not plan a second time.
    expect(rec.impact).toEqual({ tokenCount: 4, userCount: 1 });
    expect(JSON.parse(view.private_metadata).impact).toEqual(rec.impact);

    const message = await approvalMessage(rec.id, since);
    expect(text(message)).toContain('laptop stolen');
    for (const tok of bob) expect(await isAlive(t.idaas, tok)).toBe(true);

    await approve('UAPPROVER1', rec.id);
    expect((await outcome(rec)).state).toBe('verified');
    for (const tok of bob) expect(await isDead(t.idaas, tok)).toBe(true);
    expect(await isAlive(t.idaas, carol)).toBe(true);

    await stub.next(
      'chat.update',
      (c) =>
        c.args.channel === 'C0APPROVALS' &&
        text(c).includes(rec.id) &&
        /verified/i.test(text(c)) &&
        !text(c).includes('approval_approve'),
      since,
    );
    const dm = await stub.next(
      'chat.postMessage',
      (c) => c.args.channel === 'UADMIN1' && /verified/i.test(text(c)),
      since,
    );
    expect(text(dm)).toContain(rec.id);
  });

  it('modal path, one token: the tokens tab lists the user’s tokens without values; Revoke kills only that token', async () => {
    const [first, second] = [await mint('alice'), await mint('alice', 'team-wiki')];
    const { viewId, view } = await openScope('UADMIN2', 'token');
    const tokens = await pickUser('UADMIN2', viewId, view, first!.userId);
    const listing = JSON.stringify(tokens.view.blocks);
    expect(listing).toContain(first!.accessTokenId);
    expect(listing).not.toContain(first!.access_token);
    expect(listing).not.toContain(first!.refresh_token);

    const confirm = await clickRevokeToken('UADMIN2', tokens, first!.accessTokenId);
    const rec = await submitConfirm('UADMIN2', confirm.viewId, confirm.view, 'pasted in a ticket');
    expect(['queued', 'running', 'verified']).toContain(rec.state);
    expect((await outcome(rec)).state).toBe('verified');
    const after = await liveness(t.idaas, first!);
    expect(after.userinfo).toBe(401);
    expect(after.access).toBe(false);
    expect(after.refresh).toBe(true);
    expect(await isAlive(t.idaas, second!)).toBe(true);
  });

  it('modal path, "An individual token" chosen with Next: user picker → that user’s tokens → pick → confirm → revoked', async () => {
    const [first, second] = [await mint('alice'), await mint('alice', 'team-wiki')];
    const { viewId, view } = await openScope('UADMIN1', 'token');
    // The token scope's picker can be submitted (Slack refuses an input block without submit).
    expect((view as View & { submit?: unknown }).submit).toBeDefined();
    const tokens = await following(
      'revoke_user_tokens',
      viewId,
      await submitScope('UADMIN1', viewId, view, first!.userId),
    );
    expect(JSON.stringify(tokens.view.blocks)).toContain(first!.accessTokenId);
    const confirm = await clickRevokeToken('UADMIN1', tokens, first!.accessTokenId);
    const rec = await submitConfirm('UADMIN1', confirm.viewId, confirm.view, 'token in a screenshot');
    expect(rec.target).toEqual({ kind: 'token', userId: first!.userId, tokenId: first!.accessTokenId });
    expect((await outcome(rec)).state).toBe('verified');
    expect((await liveness(t.idaas, first!)).userinfo).toBe(401);
    expect(await isAlive(t.idaas, second!)).toBe(true);
  });

  it('modal path, all tokens for a user: the tokens tab’s submit confirms and needs one approval', async () => {
    const dave = await mint('dave', 'team-wiki');
    const { viewId, view } = await openScope('UADMIN1', 'user');
    const tokens = await pickUser('UADMIN1', viewId, view, dave.userId);
    const since = stub.calls.length;
    await post(
      interactivityBody(
        viewSubmissionPayload({
          userId: 'UADMIN1',
          viewId: tokens.viewId,
          callbackId: 'revoke_user_tokens',
          privateMetadata: tokens.view.private_metadata,
          values: {},
        }),
      ),
    );
    const confirm = await nextView('revoke_confirm', since);
    const rec = await submitConfirm('UADMIN1', confirm.viewId, confirm.view, 'offboarding');
    expect(rec).toMatchObject({ state: 'pending_approval', requiredApprovals: 1 });
    await approve('UAPPROVER2', rec.id);
    expect((await outcome(rec)).state).toBe('verified');
    expect(await isDead(t.idaas, dave)).toBe(true);
  });

  it.each([
    ['application', 'team-wiki', () => mint('carol', 'team-wiki'), () => mint('carol', 'expense-portal')],
    [
      'resourceServer',
      'reports-api',
      () => mint('carol', 'expense-portal', 'reports-api'),
      () => mint('carol', 'expense-portal', 'payroll-api'),
    ],
  ] as const)(
    'modal path, all tokens of a %s: the two-person rule',
    async (scope, target, inScope, outOfScope) => {
      const victim = await inScope();
      const bystander = await outOfScope();
      const confirm = await pickBulkTarget('UADMIN2', scope, target);
      const since = stub.calls.length;
      const rec = await submitConfirm('UADMIN2', confirm.viewId, confirm.view, 'secret leaked');
      expect(rec).toMatchObject({ state: 'pending_approval', requiredApprovals: 2 });
      await approvalMessage(rec.id, since);

      // The requester cannot approve; the same approver twice counts once.
      let responses = stub.responses.length;
      await approve('UADMIN2', rec.id);
      expect(String((await stub.nextResponse(responses)).text)).toMatch(/requested this|own request/);
      await approve('UAPPROVER1', rec.id);
      responses = stub.responses.length;
      await approve('UAPPROVER1', rec.id);
      expect(String((await stub.nextResponse(responses)).text)).toMatch(/already/);
      expect((await t.rt.intake.get(rec.id))?.state).toBe('pending_approval');
      expect(await isAlive(t.idaas, victim)).toBe(true);

      await approve('UAPPROVER3', rec.id);
      expect((await outcome(rec)).state).toBe('verified');
      expect(await isDead(t.idaas, victim)).toBe(true);
      expect(await isAlive(t.idaas, bystander)).toBe(true);
      // The workflow's notify step announces the outcome in the notify channel.
      await stub.next(
        'chat.postMessage',
        (c) => c.args.channel === 'C0NOTIFY' && text(c).includes(rec.id) && /verified/i.test(text(c)),
        since,
      );
    },
  );

  it('a scheduled HR offboarding is announced with a Cancel button; two admins or approvers call it off, never the person leaving', async () => {
    // Slack profile emails (users.info), confirmed by Slack; each names an IdP user. UAPPROVER3 is Heidi herself.
    const emails: Record<string, string> = {
      UAPPROVER2: 'carol@example.com',
      UADMIN1: 'erin@example.com',
      UAPPROVER3: 'Heidi@Example.com',
    };
    stub.overrides.set('users.info', (c) =>
      HttpResponse.json({
        ok: true,
        user: { id: c.args.user, is_email_confirmed: true, profile: { email: emails[String(c.args.user)] } },
      }),
    );
    const user = await t.idaas.addUser({
      userId: 'heidi',
      email: 'heidi@example.com',
      name: 'Heidi',
      password: 'heidi-password-1',
    });
    const tok = await mint('heidi');
    const since = stub.calls.length;
    const body = JSON.stringify({
      type: 'employee.terminated',
      data: {
        employeeId: 'E-HEIDI',
        email: 'heidi@example.com',
        effectiveAt: new Date(Date.now() + 86_400_000).toISOString(),
      },
    });
    const delivered = await deliverHr(t.url, 'standard', body, signHrDelivery('standard', HR_SECRET, body));
    expect(delivered.status).toBe(202);
    const notice = await stub.next(
      'chat.postMessage',
      (c) => c.args.channel === 'C0NOTIFY' && text(c).includes('scheduled_cancel'),
      since,
    );
    const requestId = String(
      ((notice.args.blocks as { block_id?: string; elements?: { value?: string }[] }[]).find(
        (b) => b.block_id?.startsWith('scheduled_actions') === true,
      )?.elements ?? [])[0]?.value,
    );
    expect((await t.rt.intake.get(requestId))?.target).toEqual({ kind: 'user', userId: user.id });

    const cancel = (userId: string) =>
      post(
        interactivityBody(
          messageButtonPayload({
            userId,
            actionId: 'scheduled_cancel',
            value: requestId,
            channelId: 'C0NOTIFY',
          }),
        ),
      );
    const reply = async (userId: string) => {
      const responses = stub.responses.length;
      await cancel(userId);
      return stub.nextResponse(responses);
    };
    expect(await reply('UOUTSIDER')).toMatchObject({ response_type: 'ephemeral' });
    expect((await t.rt.intake.get(requestId))?.state).toBe('scheduled');
    // The person being offboarded, though an approver, can never call off their own.
    expect(String((await reply('UAPPROVER3')).text)).toContain('your own access');
    // One person is not enough: the first Cancel is recorded, a second person must confirm.
    expect(String((await reply('UAPPROVER2')).text)).toContain('1 of 2');
    expect(String((await reply('UAPPROVER2')).text)).toContain('already asked');
    expect((await t.rt.intake.get(requestId))?.state).toBe('scheduled');
    const replaced = await reply('UADMIN1');
    expect(replaced).toMatchObject({ replace_original: true });
    expect(JSON.stringify(replaced)).toContain('cancelled by <@UADMIN1>');
    const final = await t.rt.intake.waitForOutcome(requestId, 10_000);
    expect(final.state).toBe('cancelled');
    // Its delayed start is gone (removed just after the state changed): nothing will run at its time.
    await until('the delayed start removed', async () =>
      (await t.rt.queues.revocations.getJob(jobIds.start(requestId))) ? undefined : true,
    );
    expect(await isAlive(t.idaas, tok)).toBe(true);
  });

  it('App Home shows my requests to the requester and the pending ones to an approver', async () => {
    const confirm = await pickBulkTarget('UADMIN1', 'resourceServer', 'payroll-api');
    const rec = await submitConfirm('UADMIN1', confirm.viewId, confirm.view, 'home check');
    const home = async (userId: string) => {
      const since = stub.calls.length;
      const res = await postSlack(events, appHomeOpenedBody(userId), {
        secret: SECRET,
        contentType: 'application/json',
      });
      expect(res.status).toBe(200);
      return text(await stub.next('views.publish', (c) => c.args.user_id === userId, since));
    };
    expect(await home('UADMIN1')).toContain(rec.id);
    const approverHome = await home('UAPPROVER2');
    expect(approverHome).toContain(rec.id);
    expect(approverHome).toContain('approval_approve');
    // Not an approver: nothing waits for them.
    expect(await home('UOUTSIDER')).not.toContain(rec.id);
  });

  it('an outsider’s /revoke is refused at once and audited; nothing is looked up or executed', async () => {
    const since = stub.calls.length;
    const res = await post(
      slashCommandBody({ userId: 'UOUTSIDER', text: 'user alice@example.com', triggerId: 'trig-out' }),
    );
    expect(String(((await res.json()) as { text?: string }).text)).toContain('not allowed to request');
    expect(stub.calls.slice(since).filter((c) => c.method.startsWith('views.'))).toHaveLength(0);
    expect(await t.rt.intake.list({ requestedBy: 'UOUTSIDER' })).toHaveLength(0);
    await t.rt.refusals.flush({ all: true });
    let audited = false;
    for await (const e of t.rt.audit.entries()) {
      if (e.action === 'slack.refused' && e.actor.id === 'UOUTSIDER') audited = true;
    }
    expect(audited).toBe(true);
  });
});
