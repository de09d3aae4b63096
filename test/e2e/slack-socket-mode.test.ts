import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isAlive, isDead, mintOne, startTestService, type TestService } from '../helpers/service.ts';
import {
  appHomeOpenedBody,
  messageButtonPayload,
  SlackApiStub,
  type SlackCall,
  slashCommandBody,
  viewSubmissionPayload,
} from '../helpers/slack.ts';
import { requestIdIn } from '../helpers/slack-flows.ts';
import { SocketModeStandIn } from '../helpers/slack-socket-mode.ts';

/**
 * Socket Mode end to end: the whole service with SLACK_APP_TOKEN (no public URL, no signing secret)
 * against a local stand-in of Slack's Socket Mode protocol. The app asks apps.connections.open (Web API
 * stand-in, app-level token) for a ws:// URL, gets `hello`, and receives the same payloads as over HTTP
 * in `slash_commands`, `interactive` and `events_api` envelopes, each acked by envelope_id within 3 s.
 * Tokens are real ones from the embedded IDaaS.
 */
const API = 'http://slack.socket.test/api/';
const stub = new SlackApiStub(API);
// Slack closes a connection it asked the app to leave a little later; the app must have replaced it by then.
const socket = new SocketModeStandIn({ closeAfterMs: 1500 });
let t: TestService;

beforeAll(async () => {
  stub.listen();
  await socket.start();
  stub.socketUrl = () => socket.issueUrl();
  t = await startTestService({
    SLACK_APP_TOKEN: 'xapp-1-A0001-socket-test',
    SLACK_BOT_TOKEN: 'xoxb-socket',
    SLACK_API_URL: API,
    SLACK_APPROVALS_CHANNEL: 'C0APPROVALS',
  });
  await socket.connected(1);
});
afterAll(async () => {
  await t?.close();
  await socket.close();
  stub.close();
});

const text = (c: SlackCall) => JSON.stringify(c.args);
/** A slash command over Socket Mode: the HTTP form's fields as a JSON object. */
const command = (body: string) => Object.fromEntries(new URLSearchParams(body));

describe('Socket Mode, end to end', () => {
  it('connects with the app-level token; /slack/events is not served', async () => {
    const open = await stub.next('apps.connections.open');
    expect(open.authorization).toBe('Bearer xapp-1-A0001-socket-test');
    expect((await fetch(`${t.url}/slack/events`, { method: 'POST', body: '{}' })).status).toBe(404);
  });

  it('/revoke user → confirmation → submit → approval message → Approve → tokens dead, acks within 3 s', async () => {
    const bob = [await mintOne(t, 'bob'), await mintOne(t, 'bob', 'team-wiki', 'payroll-api')];
    const carol = await mintOne(t, 'carol');
    const since = stub.calls.length;
    const started = Date.now();
    const ack = await socket.send(
      'slash_commands',
      command(slashCommandBody({ userId: 'UADMIN1', text: 'user bob@example.com', triggerId: 'sock-trig' })),
    );
    expect(Date.now() - started).toBeLessThan(3000);
    expect(ack).toEqual({});
    const opened = await stub.next('views.open', (c) => c.args.trigger_id === 'sock-trig', since);
    expect((opened.args.view as { callback_id: string }).callback_id).toBe('revoke_loading');
    const confirm = await stub.next(
      'views.update',
      (c) => (c.args.view as { callback_id?: string }).callback_id === 'revoke_confirm',
      since,
    );
    const view = confirm.args.view as { private_metadata: string };

    const submitted = await socket.send(
      'interactive',
      viewSubmissionPayload({
        userId: 'UADMIN1',
        viewId: String(confirm.args.view_id),
        callbackId: 'revoke_confirm',
        privateMetadata: view.private_metadata,
        values: { reason_block: { reason_input: { type: 'plain_text_input', value: 'laptop stolen' } } },
      }),
    );
    expect(submitted).toMatchObject({ response_action: 'update' });
    // The request the answer names (in the ack, or in the update after a loading modal), not "the newest".
    const requestId =
      requestIdIn(submitted) ??
      requestIdIn(
        (
          await stub.next(
            'views.update',
            (c) => c.args.view_id === confirm.args.view_id && requestIdIn(c.args.view) !== undefined,
            since,
          )
        ).args.view,
      );
    const rec = await t.rt.intake.get(requestId!);
    expect(rec).toMatchObject({
      state: 'pending_approval',
      reason: 'laptop stolen',
      requestedBy: { source: 'slack', id: 'UADMIN1' },
    });
    await stub.next(
      'chat.postMessage',
      (c) => c.args.channel === 'C0APPROVALS' && text(c).includes(rec!.id),
      since,
    );
    for (const tok of bob) expect(await isAlive(t.idaas, tok)).toBe(true);

    const clicked = await socket.send(
      'interactive',
      messageButtonPayload({ userId: 'UAPPROVER1', actionId: 'approval_approve', value: rec!.id }),
    );
    expect(clicked).toEqual({});
    expect((await t.rt.intake.waitForOutcome(rec!.id, 30_000)).state).toBe('verified');
    for (const tok of bob) expect(await isDead(t.idaas, tok)).toBe(true);
    expect(await isAlive(t.idaas, carol)).toBe(true);
    await stub.next(
      'chat.update',
      (c) => c.args.channel === 'C0APPROVALS' && text(c).includes(rec!.id) && /verified/i.test(text(c)),
      since,
    );
  });

  it('events_api: app_home_opened publishes the Home tab', async () => {
    const since = stub.calls.length;
    await socket.send('events_api', JSON.parse(appHomeOpenedBody('UAPPROVER2')) as Record<string, unknown>);
    const publish = await stub.next('views.publish', (c) => c.args.user_id === 'UAPPROVER2', since);
    expect(text(publish)).toContain('Waiting for my approval');
  });

  it('reconnects after a disconnect message, with a new URL, and keeps serving', async () => {
    const opens = stub.calls.filter((c) => c.method === 'apps.connections.open').length;
    socket.disconnect();
    await socket.connected(2);
    expect(stub.calls.filter((c) => c.method === 'apps.connections.open').length).toBe(opens + 1);
    const ack = await socket.send(
      'slash_commands',
      command(slashCommandBody({ userId: 'UADMIN1', text: 'help' })),
    );
    expect(ack).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('/revoke user') });
    expect(socket.problems).toEqual([]);
  });

  /** `/revoke help` over the socket: its ack carries the usage text, so an ack proves it was handled. */
  const help = async () => {
    const ack = await socket.send(
      'slash_commands',
      command(slashCommandBody({ userId: 'UADMIN1', text: 'help' })),
    );
    expect(ack).toMatchObject({ text: expect.stringContaining('/revoke user') });
  };
  /** An Approve click on an unknown request: acked, then answered on its own response_url. */
  let clickSeq = 0;
  const click = async () => {
    const responseUrl = `https://hooks.slack.test/actions/T0001/reconnect/${++clickSeq}`;
    const ack = await socket.send(
      'interactive',
      messageButtonPayload({
        userId: 'UAPPROVER1',
        actionId: 'approval_approve',
        value: 'req_nope',
        responseUrl,
      }),
    );
    expect(ack).toEqual({});
    return responseUrl;
  };

  it('commands and clicks sent during a refresh_requested reconnect are all acked and handled (no gap)', async () => {
    await vi.waitFor(() => expect(socket.openConnections).toBe(1), { timeout: 5000 });
    const hellos = socket.connections;
    const closed = socket.closed;
    socket.disconnect('refresh_requested');
    // Right after the disconnect frame, on the connection that is going away…
    const during: Promise<unknown>[] = [help(), click()];
    // …once the replacement said hello (the old one may still be open)…
    await socket.connected(hellos + 1);
    during.push(help(), click());
    // …and after the old one closed.
    await socket.closedCount(closed + 1);
    during.push(help(), click());
    const results = await Promise.all(during);
    const urls = results.filter((r): r is string => typeof r === 'string');
    await vi.waitFor(
      () => expect(stub.responses.filter((r) => urls.includes(r.url))).toHaveLength(urls.length),
      {
        timeout: 5000,
      },
    );
    expect(socket.dispatchFailed).toEqual([]);
    expect(socket.problems).toEqual([]);
    await vi.waitFor(() => expect(socket.openConnections).toBe(1), { timeout: 5000 });
  });

  it('warning then refresh_requested: one replacement, traffic acked throughout', async () => {
    const hellos = socket.connections;
    socket.disconnect('warning');
    const during: Promise<unknown>[] = [help()];
    await socket.connected(hellos + 1);
    during.push(click(), help());
    await Promise.all(during);
    expect(socket.connections).toBe(hellos + 1);
    expect(socket.dispatchFailed).toEqual([]);
  });

  it("answers Slack's pings", async () => {
    const before = socket.pongs;
    socket.ping();
    await vi.waitFor(() => expect(socket.pongs).toBeGreaterThan(before));
  });

  it('too_many_websockets on its only connection: drops it, connects again; Slack re-sends the Events API envelope', async () => {
    await vi.waitFor(() => expect(socket.openConnections).toBe(1));
    const hellos = socket.connections;
    const since = stub.calls.length;
    socket.disconnect('too_many_websockets');
    // No open connection now: Slack keeps an Events API envelope and re-sends it (never a command).
    const event = socket.send(
      'events_api',
      JSON.parse(appHomeOpenedBody('UAPPROVER2')) as Record<string, unknown>,
    );
    await socket.connected(hellos + 1);
    await event;
    await stub.next('views.publish', (c) => c.args.user_id === 'UAPPROVER2', since);
    await help();
    expect(socket.openConnections).toBe(1);
  });

  it('link_disabled: does not reconnect; a slash command then fails as Slack shows it (dispatch_failed)', async () => {
    const since = stub.calls.length;
    const hellos = socket.connections;
    socket.disconnect('link_disabled');
    // No connection now: Slack keeps the event and re-sends it (retry_attempt 1) — but the app must not
    // reconnect after link_disabled, so it is never delivered; a slash command fails as Slack shows it.
    await expect(help()).rejects.toThrow(/dispatch_failed/);
    const event = socket.send(
      'events_api',
      JSON.parse(appHomeOpenedBody('UAPPROVER2')) as Record<string, unknown>,
    );
    event.catch(() => undefined);
    // A wrongful reconnect would be immediate; give it a moment to show.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(socket.connections).toBe(hellos);
    expect(stub.calls.slice(since).filter((c) => c.method === 'apps.connections.open')).toEqual([]);
  });
});
