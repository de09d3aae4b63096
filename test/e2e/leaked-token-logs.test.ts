import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenRef } from '../../src/idaas/index.ts';
import { REDACT_PATHS } from '../../src/log.ts';
import { isAlive, isDead, startTestService, type TestService } from '../helpers/service.ts';
import {
  interactivityBody,
  postSlack,
  SlackApiStub,
  slashCommandBody,
  viewActionPayload,
  viewSubmissionPayload,
} from '../helpers/slack.ts';
import { SocketModeStandIn } from '../helpers/slack-socket-mode.ts';

/**
 * A leaked token pasted into the Slack dialog, over HTTP and over Socket Mode, with every logger at debug
 * (Revoker's, Bolt's, the Web API client's, the Socket Mode receiver's): the value is in no log line.
 * Over Socket Mode, @slack/socket-mode 3.1.0 logged every frame it received at debug ("Received a message
 * on the WebSocket: …"), the view submission with the pasted value included.
 */
const SECRET = 'leaked-logs-signing-secret';
const ADMIN = 'UADMIN1';

describe.each(['http', 'socket'] as const)(
  'the pasted value is in no log line at debug (%s)',
  (transport) => {
    const stub = new SlackApiStub(`http://slack.leaked-logs-${transport}.test/api/`);
    const socket = new SocketModeStandIn();
    const logs: string[] = [];
    let t: TestService;

    beforeAll(async () => {
      stub.listen();
      const logger = pino(
        { level: 'debug', redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
        new Writable({
          write(chunk: Buffer, _enc, done) {
            logs.push(chunk.toString());
            done();
          },
        }),
      );
      const common = { SLACK_BOT_TOKEN: 'xoxb-leaked-logs', SLACK_API_URL: stub.apiUrl, LOG_LEVEL: 'debug' };
      if (transport === 'socket') {
        await socket.start();
        stub.socketUrl = () => socket.issueUrl();
        t = await startTestService(
          { ...common, SLACK_APP_TOKEN: 'xapp-1-A0001-logs' },
          { logger, prefixLabel: 'leaklog' },
        );
        await socket.connected(1);
      } else {
        t = await startTestService(
          { ...common, SLACK_SIGNING_SECRET: SECRET },
          { logger, prefixLabel: 'leaklog' },
        );
      }
    });
    afterAll(async () => {
      await t?.close();
      await socket.close();
      stub.close();
    });

    /** One interactive payload over the transport; resolves with the ack's body. */
    async function interact(payload: object): Promise<Record<string, unknown>> {
      if (transport === 'socket') return socket.send('interactive', payload as Record<string, unknown>);
      const res = await postSlack(`${t.url}/slack/events`, interactivityBody(payload), { secret: SECRET });
      const text = await res.text();
      return text ? (JSON.parse(text) as Record<string, unknown>) : {};
    }
    async function command(body: string): Promise<void> {
      if (transport === 'socket') {
        await socket.send('slash_commands', Object.fromEntries(new URLSearchParams(body)));
        return;
      }
      await postSlack(`${t.url}/slack/events`, body, { secret: SECRET });
    }

    it('paste → confirm → revoked; then every log line is searched for the value', async () => {
      const [leaked] = await t.idaas.mintTokens({ user: 'carol', application: 'team-wiki' });
      const value = leaked!.access_token;
      const since = stub.calls.length;
      await command(slashCommandBody({ userId: ADMIN, text: 'leaked', triggerId: `trig-${transport}` }));
      const opened = await stub.next('views.open', (c) => c.args.trigger_id === `trig-${transport}`, since);
      const scopeView = opened.args.view as { private_metadata: string };
      const s2 = stub.calls.length;
      await interact(
        viewActionPayload({
          userId: ADMIN,
          viewId: 'V_LEAKLOG',
          callbackId: 'revoke_scope',
          privateMetadata: scopeView.private_metadata,
          action: {
            type: 'radio_buttons',
            action_id: 'scope_select',
            block_id: 'scope_block',
            selected_option: {
              value: 'leaked',
              text: { type: 'plain_text', text: 'A leaked token (paste it)' },
            },
          },
        }),
      );
      const paste = (await stub.next('views.update', (c) => c.args.view_id === 'V_LEAKLOG', s2)).args
        .view as {
        private_metadata: string;
      };
      const next = await interact(
        viewSubmissionPayload({
          userId: ADMIN,
          viewId: 'V_LEAKLOG',
          callbackId: 'revoke_scope',
          privateMetadata: paste.private_metadata,
          values: { leaked_token_block: { leaked_token_input: { type: 'plain_text_input', value } } },
        }),
      );
      const confirm = next.view as { callback_id: string; private_metadata: string };
      expect(confirm.callback_id).toBe('revoke_leaked_confirm');
      const done = await interact(
        viewSubmissionPayload({
          userId: ADMIN,
          viewId: 'V_LEAKLOG',
          callbackId: 'revoke_leaked_confirm',
          privateMetadata: confirm.private_metadata,
          values: {
            reason_block: { reason_input: { type: 'plain_text_input', value: 'pasted in #general' } },
          },
        }),
      );
      expect(done).toMatchObject({ response_action: 'update', view: { title: { text: 'Token revoked' } } });
      expect(await isDead(t.idaas, leaked!)).toBe(true);
      // Another token of the same user, not pasted, lives.
      const [other] = await t.idaas.mintTokens({ user: 'carol', application: 'expense-portal' });
      expect(await isAlive(t.idaas, other!)).toBe(true);

      // The logs were written at debug, and name the revoked token by its reference.
      const all = logs.join('');
      expect(logs.some((l) => l.includes('"level":20'))).toBe(true);
      expect(all).toContain(tokenRef(value));
      const lines = all.split('\n');
      expect(lines.filter((l) => l.includes(value))).toEqual([]);
      // Not even a part of it (a JWT's signature, a long slice).
      for (const part of value.split('.').filter((p) => p.length >= 16)) {
        expect(lines.filter((l) => l.includes(part))).toEqual([]);
      }
    });
  },
);
