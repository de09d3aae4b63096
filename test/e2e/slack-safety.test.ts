import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpResponse } from 'msw';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, startTestService, type TestService } from '../helpers/service.ts';
import {
  interactivityBody,
  messageButtonPayload,
  postSlack,
  SlackApiStub,
  type SlackCall,
  slashCommandBody,
  viewSubmissionPayload,
} from '../helpers/slack.ts';
import { until } from '../helpers/wait.ts';

/**
 * Slack misuse against the whole service: forged, stale and malformed requests; outsiders and late
 * clicks; hostile names. Approvals here lapse after 2 s (a copy of the shipped workflows).
 */
const SECRET = 'e2e-safety-secret';
const API = 'http://slack.safety.test/api/';
const stub = new SlackApiStub(API);
let t: TestService;
let events: string;
let workflowsDir: string;

beforeAll(async () => {
  workflowsDir = mkdtempSync(join(tmpdir(), 'revoker-workflows-'));
  cpSync('workflows', workflowsDir, { recursive: true });
  const userYaml = join(workflowsDir, 'slack-user.yaml');
  writeFileSync(userYaml, readFileSync(userYaml, 'utf8').replace('expiresAfter: 24h', 'expiresAfter: 2s'));
  stub.listen();
  t = await startTestService({
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_BOT_TOKEN: 'xoxb-safety',
    SLACK_API_URL: API,
    SLACK_APPROVALS_CHANNEL: 'C0APPROVALS',
    WORKFLOWS_DIR: workflowsDir,
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
  rmSync(workflowsDir, { recursive: true, force: true });
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
  const res = await postSlack(
    events,
    interactivityBody(
      viewSubmissionPayload({
        userId: requester,
        viewId: String(confirm.args.view_id),
        callbackId: 'revoke_confirm',
        privateMetadata: (confirm.args.view as { private_metadata: string }).private_metadata,
        values: { reason_block: { reason_input: { type: 'plain_text_input', value: reason } } },
      }),
    ),
    { secret: SECRET },
  );
  expect(res.status).toBe(200);
  const [rec] = await t.rt.intake.list({ requestedBy: requester, limit: 1 });
  const message = await stub.next(
    'chat.postMessage',
    (c) => c.args.channel === 'C0APPROVALS' && text(c).includes(rec!.id),
    since,
  );
  return { rec: rec!, message };
}

async function click(userId: string, requestId: string) {
  const responses = stub.responses.length;
  const res = await postSlack(
    events,
    interactivityBody(messageButtonPayload({ userId, actionId: 'approval_approve', value: requestId })),
    { secret: SECRET },
  );
  expect(res.status).toBe(200);
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
    const { rec } = await requestUserRevocation('UADMIN1', 'bob@example.com', 'suspicious logins');
    const outsider = await click('UOUTSIDER', rec.id);
    expect(outsider).toMatchObject({ response_type: 'ephemeral' });
    expect(String(outsider.text)).toMatch(/not an approver/);
    expect((await t.rt.intake.get(rec.id))?.state).toBe('pending_approval');

    const since = stub.calls.length;
    const expired = await t.rt.intake.waitForOutcome(rec.id, 10_000);
    expect(expired.state).toBe('expired');
    const updated = await stub.next('chat.update', (c) => /expired/i.test(text(c)), since);
    expect(text(updated)).not.toContain('approval_approve');
    const late = await click('UAPPROVER1', rec.id);
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
    expect(await click('UNOTINGROUP', rec.id)).toMatchObject({ response_type: 'ephemeral' });
    await postSlack(
      events,
      interactivityBody(
        messageButtonPayload({ userId: 'UGROUPMEMBER', actionId: 'approval_approve', value: rec.id }),
      ),
      { secret: SECRET },
    );
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
