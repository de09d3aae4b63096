import type { ListenerClient } from '../../../src/slack/slack-client.ts';
import { SlackWebApi } from '../../../src/slack-contract/index.ts';
import { testObserver } from '../../helpers/block-kit-contract.ts';

/**
 * A listener's WebClient answered by the one Web API stand-in (SlackWebApi, with the Block Kit contract):
 * records every call it accepts; a refusal is thrown as the WebClient throws it. The listeners' payloads
 * are hand-built, so ids the stand-in never issued are accepted.
 */
export function fakeClient() {
  const calls: { method: string; args: Record<string, unknown> }[] = [];
  const api = new SlackWebApi({
    viewIdPrefix: 'V',
    session: { refuseUnknownIds: false },
    observer: testObserver,
  });
  const rec =
    (method: string) =>
    async (args: object): Promise<{ view: { id: string } }> => {
      const a = args as Record<string, unknown>;
      const refusal = api.refuse(method, a, 'xoxb-fake');
      if (refusal) {
        throw Object.assign(new Error(`An API error occurred: ${String(refusal.error)}`), {
          code: 'slack_webapi_platform_error',
          data: refusal,
        });
      }
      calls.push({ method, args: a });
      return api.answer(method, a, 'xoxb-fake') as { view: { id: string } };
    };
  const client: ListenerClient = {
    views: {
      open: rec('views.open'),
      push: rec('views.push'),
      update: rec('views.update'),
      publish: rec('views.publish'),
    },
    chat: { postEphemeral: rec('chat.postEphemeral') },
  };
  const text = (method: string) =>
    calls
      .filter((c) => c.method === method)
      .map((c) => JSON.stringify(c.args))
      .join('\n');
  return { client, calls, text };
}
