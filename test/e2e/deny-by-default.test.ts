import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signHrDelivery } from '../helpers/hr-signing.ts';
import { startTestService, type TestService, userIdOf } from '../helpers/service.ts';
import {
  appHomeOpenedBody,
  blockSuggestionPayload,
  interactivityBody,
  messageButtonPayload,
  postSlack,
  SlackApiStub,
  slackServiceEnv,
  slashCommandBody,
  viewActionPayload,
  viewSubmissionPayload,
} from '../helpers/slack.ts';

/**
 * Issue 9, findings 1, 2, 3, 6 and 8, against the whole service: a workspace member in no workflow
 * (UOUTSIDER) tries every Slack entry point and must get one refusal each, cause no IdP call and learn
 * nothing about anyone; HR terminations stay off their App Home; request ids cannot be derived; one
 * admin cannot flood the approvers; the Cancel button only calls off scheduled HR/SCIM requests.
 */
const SLACK = slackServiceEnv('deny');
const SECRET = SLACK.secret;
const API = SLACK.api;
const HR_SECRET = `whsec_${Buffer.from('deny-by-default-hr-secret-0123').toString('base64')}`;
const stub = new SlackApiStub(API);
let t: TestService;
let events: string;

beforeAll(async () => {
  stub.listen();
  t = await startTestService({
    ...SLACK.env,
    HR_STANDARD_SECRET: HR_SECRET,
    SCIM_TOKEN: 'scim-deny-token',
  });
  events = `${t.url}/slack/events`;
});
afterAll(async () => {
  await t?.close();
  stub.close();
});

const OUTSIDER = 'UOUTSIDER';
/** Anything that would tell an outsider about a user, an application or an API of the demo tenant. */
const REVEALING =
  /alice|bob|carol|dave|erin|example\.com|expense|wiki|payroll|reports|usr_|tok_|confidential/i;

async function slack(body: string, json = false): Promise<{ status: number; text: string }> {
  const res = await postSlack(events, body, {
    secret: SECRET,
    ...(json ? { contentType: 'application/json' } : {}),
  });
  return { status: res.status, text: await res.text() };
}

const idpCalls = () => t.idaas.stats().calls;

async function refusalsOf(userId: string): Promise<number> {
  await t.rt.refusals.flush({ all: true });
  let count = 0;
  for await (const e of t.rt.audit.entries())
    if (e.action === 'slack.refused' && e.actor.id === userId) count += Number(e.detail?.count);
  return count;
}

async function scheduleHrTermination(email: string, employeeId: string, reason: string): Promise<string> {
  const body = JSON.stringify({
    type: 'employee.terminated',
    data: { employeeId, email, reason, effectiveAt: new Date(Date.now() + 3_600_000).toISOString() },
  });
  const res = await fetch(`${t.url}/webhooks/hr/standard`, {
    method: 'POST',
    headers: signHrDelivery('standard', HR_SECRET, body),
    body,
  });
  expect(res.status).toBe(202);
  const userId = await userIdOf(t, email);
  for (;;) {
    const [r] = await t.rt.intake
      .list({ source: 'hr', limit: 50 })
      .then((l) =>
        l.filter((x) => x.target.kind === 'user' && x.target.userId === userId && x.state === 'scheduled'),
      );
    if (r) return r.id;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('a Slack user in no workflow', () => {
  it('gets one refusal at every entry point, causes no IdP call and learns nothing (findings 1–3)', async () => {
    const bobId = await userIdOf(t, 'bob');
    const hrRequest = await scheduleHrTermination('bob@example.com', 'E-BOB', 'performance - confidential');
    const beforeCalls = idpCalls();
    const beforeRefusals = await refusalsOf(OUTSIDER);
    const slackSince = stub.calls.length;
    const answers: string[] = [];
    let refusals = 0;
    const refused = (text: string) => {
      answers.push(text);
      if (text.includes('not allowed to request revocations')) refusals++;
    };

    // The command, with each scope and bare (the dialog).
    for (const text of [
      '',
      'user a',
      'user bob@example.com',
      'token tok_1 bob',
      'app expense-portal',
      'api payroll-api',
    ]) {
      const r = await slack(slashCommandBody({ userId: OUTSIDER, text }));
      expect(r.status).toBe(200);
      refused(r.text);
    }
    // `/revoke status` of a real request and of a made-up one: the same refusal, no hint either way.
    const statusAnswers = [];
    for (const id of [hrRequest, 'req_doesnotexist']) {
      const at = stub.responses.length;
      expect((await slack(slashCommandBody({ userId: OUTSIDER, text: `status ${id}` }))).status).toBe(200);
      statusAnswers.push(await stub.nextResponse(at));
    }
    for (const a of statusAnswers) refused(JSON.stringify(a));
    expect(statusAnswers[0]!.text).toBe(statusAnswers[1]!.text);

    // Options for each scope, with an empty query (the whole directory before).
    for (const scope of ['user', 'token', 'application', 'resourceServer']) {
      const r = await slack(
        interactivityBody(
          blockSuggestionPayload({
            userId: OUTSIDER,
            actionId: 'target_select',
            blockId: 'target_block',
            value: '',
            privateMetadata: JSON.stringify({ scope }),
          }),
        ),
      );
      expect(JSON.parse(r.text)).toEqual({ options: [] });
      answers.push(r.text);
      refusals++;
    }

    // Picking a user (their token list), a token's Revoke button, and the dialog's submissions.
    const since = stub.calls.length;
    await slack(
      interactivityBody(
        viewActionPayload({
          userId: OUTSIDER,
          viewId: 'V_OUT_1',
          callbackId: 'revoke_scope',
          privateMetadata: JSON.stringify({ scope: 'user' }),
          action: {
            type: 'external_select',
            action_id: 'target_select',
            block_id: 'target_block',
            selected_option: { value: bobId },
          },
        }),
      ),
    );
    await slack(
      interactivityBody(
        viewActionPayload({
          userId: OUTSIDER,
          viewId: 'V_OUT_2',
          callbackId: 'revoke_user_tokens',
          privateMetadata: JSON.stringify({ userId: bobId, label: 'x' }),
          action: { type: 'button', action_id: 'revoke_token', block_id: 'tokens', value: 'tok_1' },
        }),
      ),
    );
    const modalRefusals = await Promise.all([
      stub.next('views.update', (c) => c.args.view_id === 'V_OUT_1', since),
      stub.next('views.push', () => true, since),
    ]);
    for (const c of modalRefusals) refused(JSON.stringify(c.args));
    for (const [callbackId, privateMetadata, values] of [
      [
        'revoke_scope',
        JSON.stringify({ scope: 'application' }),
        { target_block: { target_select: { selected_option: { value: 'expense-portal' } } } },
      ],
      ['revoke_user_tokens', JSON.stringify({ userId: bobId, label: 'x' }), {}],
      [
        'revoke_confirm',
        JSON.stringify({ target: { kind: 'user', userId: bobId }, label: 'x' }),
        { reason_block: { reason_input: { type: 'plain_text_input', value: 'r' } } },
      ],
    ] as const) {
      const r = await slack(
        interactivityBody(
          viewSubmissionPayload({
            userId: OUTSIDER,
            viewId: `V_SUB_${callbackId}`,
            callbackId,
            privateMetadata,
            values,
          }),
        ),
      );
      refused(r.text);
    }

    // App Home: no HR section (finding 2).
    const homeSince = stub.calls.length;
    await slack(appHomeOpenedBody(OUTSIDER), true);
    const home = await stub.next('views.publish', (c) => c.args.user_id === OUTSIDER, homeSince);
    answers.push(JSON.stringify(home.args));
    expect(JSON.stringify(home.args)).not.toContain('HR offboarding');

    // One refusal per entry point: 6 commands, 2 status, 4 options, 2 modal actions, 3 submissions.
    expect(refusals).toBe(17);
    expect(idpCalls()).toBe(beforeCalls);
    for (const a of answers) expect(a).not.toMatch(REVEALING);
    for (const c of stub.calls.slice(slackSince)) {
      if (c.args.user_id === OUTSIDER || String(c.args.view_id ?? '').startsWith('V_OUT')) {
        expect(JSON.stringify(c.args)).not.toMatch(REVEALING);
      }
    }
    // Audited: counted per minute, not one entry each.
    expect((await refusalsOf(OUTSIDER)) - beforeRefusals).toBe(17);
    expect(await t.rt.intake.list({ requestedBy: OUTSIDER })).toHaveLength(0);
  });

  it('App Home shows HR offboardings to approvers only (finding 2)', async () => {
    await scheduleHrTermination('carol@example.com', 'E-CAROL', 'reorg - confidential');
    const home = async (userId: string) => {
      const since = stub.calls.length;
      await slack(appHomeOpenedBody(userId), true);
      return JSON.stringify((await stub.next('views.publish', (c) => c.args.user_id === userId, since)).args);
    };
    const outsider = await home(OUTSIDER);
    expect(outsider).not.toMatch(/Carol|confidential/);
    expect(await home('UAPPROVER1')).toContain('Carol');
  });
});

describe('/revoke status for people inside the workflows (finding 3)', () => {
  it('shows a request to its requester and its approvers, HR ones to admins and approvers', async () => {
    const rs = await t.rt.idp.searchResourceServers('', 5);
    const { request } = await t.rt.intake.submit({
      target: { kind: 'resourceServer', resourceServerId: rs[0]!.id },
      source: 'slack',
      requestedBy: { source: 'slack', id: 'UADMIN1' },
      reason: 'status check',
    });
    const hr = await scheduleHrTermination('erin@example.com', 'E-ERIN', 'status check');
    const status = async (userId: string, id: string) => {
      const at = stub.responses.length;
      await slack(slashCommandBody({ userId, text: `status ${id}` }));
      return String((await stub.nextResponse(at)).text);
    };
    expect(await status('UADMIN1', request.id)).toContain(request.id);
    expect(await status('UAPPROVER2', request.id)).toContain(request.id);
    expect(await status('UAPPROVER2', hr)).toContain(hr);
    expect(await status('UADMIN2', hr)).toContain(hr);
    // Unknown ids answer as any id one may not see.
    expect(await status('UADMIN1', 'req_nope')).toBe('No request `req_nope`.');
  });
});

describe('request ids (finding 3)', () => {
  it('are random: a SCIM deactivation’s id is not sha256 of its idempotency key, and repeats still find it', async () => {
    const daveId = await userIdOf(t, 'dave');
    const patch = () =>
      fetch(`${t.url}/scim/v2/Users/${daveId}`, {
        method: 'PATCH',
        headers: { authorization: 'Bearer scim-deny-token', 'content-type': 'application/scim+json' },
        body: JSON.stringify({
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [{ op: 'replace', path: 'active', value: false }],
        }),
      });
    expect((await patch()).status).toBe(200);
    const [rec] = await t.rt.intake.list({ source: 'scim', limit: 5 });
    const derived = `req_${createHash('sha256').update(`scim.${daveId}.0`).digest('base64url').slice(0, 20)}`;
    expect(rec!.id).not.toBe(derived);
    expect(rec!.id).toMatch(/^req_[A-Za-z0-9_-]{20}$/);
    // Idempotency survives: the same key finds the same request.
    const again = await t.rt.intake.submit({
      target: { kind: 'user', userId: daveId },
      source: 'scim',
      requestedBy: { source: 'scim', id: 'scim-client' },
      reason: 'repeat',
      idempotencyKey: `scim.${daveId}.0`,
    });
    expect(again).toMatchObject({ duplicate: true, request: { id: rec!.id } });
  });
});

describe('one admin cannot flood the approvers (finding 6)', () => {
  it('200 signed submissions in a second make at most 10 requests and 10 approval posts; the rest are told to wait', async () => {
    const rs = await t.rt.idp.searchResourceServers('', 5);
    const target = { kind: 'resourceServer', resourceServerId: rs[0]!.id };
    const since = stub.calls.length;
    const acks = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const r = await slack(
          interactivityBody(
            viewSubmissionPayload({
              userId: 'UADMIN2',
              viewId: `V_FLOOD_${i}`,
              callbackId: 'revoke_confirm',
              privateMetadata: JSON.stringify({
                target,
                label: 'api',
                impact: { userCount: 1, tokenCount: 0 },
              }),
              values: { reason_block: { reason_input: { type: 'plain_text_input', value: `flood ${i}` } } },
            }),
          ),
        );
        return r.text;
      }),
    );
    const created = await t.rt.intake.list({ requestedBy: 'UADMIN2', limit: 500 });
    expect(created.length).toBeLessThanOrEqual(10);
    expect(created.length).toBeGreaterThan(0);
    expect(acks.filter((a) => a.includes('wait a minute'))).toHaveLength(200 - created.length);
    // Each created request posts once to the approvals channel; wait for those, then count.
    const posted = () =>
      stub.calls
        .slice(since)
        .filter((c) => c.method === 'chat.postMessage' && c.args.channel === 'C0APPROVALS');
    for (const r of created) {
      await stub.next(
        'chat.postMessage',
        (c) => c.args.channel === 'C0APPROVALS' && JSON.stringify(c.args).includes(r.id),
        since,
      );
    }
    expect(posted().length).toBe(created.length);
  });
});

describe('the Cancel button (finding 8)', () => {
  it('does not cancel another admin’s pending Slack request', async () => {
    const rs = await t.rt.idp.searchResourceServers('', 5);
    const { request } = await t.rt.intake.submit({
      target: { kind: 'resourceServer', resourceServerId: rs[0]!.id },
      source: 'slack',
      requestedBy: { source: 'slack', id: 'UADMIN1' },
      reason: 'pending one',
    });
    expect(request.state).toBe('pending_approval');
    stub.overrides.set('users.info', () =>
      Response.json({ ok: true, user: { profile: { email: 'approver1@corp.test' } } }),
    );
    const responses = stub.responses.length;
    await slack(
      interactivityBody(
        messageButtonPayload({
          userId: 'UAPPROVER1',
          actionId: 'scheduled_cancel',
          value: request.id,
          channelId: 'C0NOTIFY',
        }),
      ),
    );
    const reply = await stub.nextResponse(responses);
    expect(String(reply.text)).toContain('only a scheduled HR or SCIM revocation');
    expect((await t.rt.intake.get(request.id))?.state).toBe('pending_approval');
    stub.overrides.delete('users.info');
  });
});
