import { HttpResponse } from 'msw';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobIds } from '../../src/queue/names.ts';
import { delayedJob, fireNow } from '../helpers/delayed-jobs.ts';
import { isAlive, startTestService, type TestService } from '../helpers/service.ts';
import { postSlack, SlackApiStub, type SlackCall, slashCommandBody } from '../helpers/slack.ts';
import { click, submitConfirm } from '../helpers/slack-flows.ts';
import { until } from '../helpers/wait.ts';

/**
 * Slack misuse against the whole service: forged, stale and malformed requests; outsiders and late
 * clicks; hostile names. The shipped workflows; an approval window lapses by promoting its BullMQ
 * expiry job, not by waiting for it.
 */
const SECRET = 'e2e-safety-secret';
const API = 'http://slack.safety.test/api/';
const stub = new SlackApiStub(API);
let t: TestService;
let events: string;

beforeAll(async () => {
  stub.listen();
  t = await startTestService({
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_BOT_TOKEN: 'xoxb-safety',
    SLACK_API_URL: API,
    SLACK_APPROVALS_CHANNEL: 'C0APPROVALS',
    // Approvers: one person and one Slack user group, whose members the stub's usergroups.users.list gives.
    SLACK_APPROVER_USERS: 'UAPPROVER1,SAPPROVERS',
  });
  stub.overrides.set('usergroups.users.list', (c) =>
    HttpResponse.json({ ok: true, users: c.args.usergroup === 'SAPPROVERS' ? ['UGROUPMEMBER'] : [] }),
  );
  events = `${t.url}/slack/events`;
});
afterAll(async () => {
  await t?.close();
  stub.close();
});

const text = (c: SlackCall) => JSON.stringify(c.args);

async function requestUserRevocation(requester: string, ref: string, reason: string) {
  const since = stub.calls.length;
  await postSlack(
    events,
    slashCommandBody({ userId: requester, text: `user ${ref}`, triggerId: `t-${since}` }),
    {
      secret: SECRET,
    },
  );
  const confirm = await stub.next(
    'views.update',
    (c) => (c.args.view as { callback_id?: string }).callback_id === 'revoke_confirm',
    since,
  );
  const { status, requestId } = await submitConfirm(
    { url: events, secret: SECRET },
    {
      userId: requester,
      viewId: String(confirm.args.view_id),
      privateMetadata: (confirm.args.view as { private_metadata: string }).private_metadata,
      reason,
    },
    stub,
  );
  expect(status).toBe(200);
  const rec = await t.rt.intake.get(requestId!);
  expect(rec).toMatchObject({ requestedBy: { id: requester }, reason });
  const message = await stub.next(
    'chat.postMessage',
    (c) => c.args.channel === 'C0APPROVALS' && text(c).includes(rec!.id),
    since,
  );
  return { rec: rec!, message };
}

/** Approve clicked by `userId`; resolves with what Slack was told to show the clicker. */
async function clickAndReply(userId: string, requestId: string) {
  const responses = stub.responses.length;
  await click({ url: events, secret: SECRET }, userId, requestId);
  return stub.nextResponse(responses);
}

describe('Slack safety, end to end', () => {
  it('forged → 401, stale → 401, malformed → 400, and the service keeps serving', async () => {
    const body = slashCommandBody({ userId: 'UADMIN1', text: 'user alice@example.com' });
    expect((await postSlack(events, body, { secret: 'forged' })).status).toBe(401);
    const stale = Math.floor(Date.now() / 1000) - 6 * 60;
    expect((await postSlack(events, body, { secret: SECRET, timestamp: stale })).status).toBe(401);
    expect((await postSlack(events, 'payload=%7Bnot-json', { secret: SECRET })).status).toBe(400);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    expect(await t.rt.intake.list({ requestedBy: 'UADMIN1' })).toHaveLength(0);
    // Counted just after the answer was sent, written as one entry per reason and minute.
    const reasons = await until('three slack.rejected reasons', async () => {
      await t.rt.refusals.flush({ all: true });
      const found = new Set<unknown>();
      for await (const e of t.rt.audit.entries())
        if (e.action === 'slack.rejected') found.add(e.detail?.reason);
      return found.size >= 3 ? [...found] : undefined;
    });
    expect(reasons.sort()).toEqual(['malformed', 'signature_invalid', 'signature_stale']);
  });

  it('an outsider’s Approve is refused ephemerally; a late click on an expired request is refused and its buttons are replaced', async () => {
    const [tok] = await t.idaas.mintTokens({ user: 'bob', application: 'expense-portal' });
    const { rec, message } = await requestUserRevocation('UADMIN1', 'bob@example.com', 'suspicious logins');
    const outsider = await clickAndReply('UOUTSIDER', rec.id);
    expect(outsider).toMatchObject({ response_type: 'ephemeral' });
    expect(String(outsider.text)).toMatch(/not an approver/);
    expect((await t.rt.intake.get(rec.id))?.state).toBe('pending_approval');

    // The approval window (slack-user.yaml: 24h) is a delayed expiry job due at approvalExpiresAt.
    const expiry = jobIds.expire(rec.id);
    const { dueAt } = await delayedJob(t.rt.queues.revocations, expiry);
    expect(Date.parse(rec.approvalExpiresAt!) - Date.parse(rec.createdAt)).toBe(24 * 3600_000);
    // Due then (BullMQ stamps the job a moment after the intake's clock read).
    expect(Math.abs(dueAt - Date.parse(rec.approvalExpiresAt!))).toBeLessThan(60_000);
    const since = stub.calls.length;
    await fireNow(t.rt.queues.revocations, expiry);
    const expired = await t.rt.intake.waitForOutcome(rec.id, 10_000);
    expect(expired.state).toBe('expired');
    const updated = await stub.next(
      'chat.update',
      (c) =>
        c.args.channel === message.args.channel &&
        c.args.ts === message.answer?.ts &&
        /expired/i.test(text(c)),
      since,
    );
    expect(text(updated)).not.toContain('approval_approve');
    const late = await clickAndReply('UAPPROVER1', rec.id);
    expect(late).toMatchObject({ response_type: 'ephemeral' });
    expect(String(late.text)).toMatch(/expired/);
    expect(await isAlive(t.idaas, tok!)).toBe(true);
    let executed = false;
    for await (const e of t.rt.audit.entries({ requestId: rec.id }))
      if (e.action === 'request.started') executed = true;
    expect(executed).toBe(false);
  });

  it('a member of an approver user group (S…) may approve', async () => {
    const [tok] = await t.idaas.mintTokens({ user: 'carol', application: 'team-wiki' });
    const { rec } = await requestUserRevocation('UADMIN2', 'carol@example.com', 'group approval');
    expect(await clickAndReply('UNOTINGROUP', rec.id)).toMatchObject({ response_type: 'ephemeral' });
    await click({ url: events, secret: SECRET }, 'UGROUPMEMBER', rec.id);
    expect((await t.rt.intake.waitForOutcome(rec.id, 20_000)).state).toBe('verified');
    expect((await t.rt.intake.get(rec.id))?.approvals.map((a) => a.by)).toEqual(['UGROUPMEMBER']);
    expect(await isAlive(t.idaas, tok!)).toBe(false);
  });

  it('a name containing <!channel> and <https://evil|click> renders as text, never as a mention or a link', async () => {
    await t.idaas.addUser({
      userId: 'mallory',
      email: 'mallory@example.com',
      name: 'Mallory <!channel> <https://evil.example|click>',
      password: 'mallory-password-1',
    });
    const { message } = await requestUserRevocation(
      'UADMIN2',
      'mallory@example.com',
      'see <!here> & <https://x|y>',
    );
    const posted = text(message);
    expect(posted).not.toContain('<!channel>');
    expect(posted).not.toContain('<!here>');
    expect(posted).not.toContain('<https://evil.example|click>');
    expect(posted).toContain('&lt;!channel&gt;');
    expect(posted).toContain('&lt;https://evil.example|click&gt;');
    expect(posted).toContain('&amp;');
  });
});
