import type { ListenerClient } from '../../../src/slack/slack-client.ts';
import { enforceCall } from '../../helpers/block-kit-contract.ts';

/** Records every Web API call a listener makes; views.open/push answer with a view id. */
export function fakeClient() {
  const calls: { method: string; args: Record<string, unknown> }[] = [];
  let n = 0;
  const rec =
    (method: string) =>
    async (args: object): Promise<{ view: { id: string } }> => {
      // Through the Block Kit contract like every stand-in: a refusal is thrown as the WebClient would.
      const contract = enforceCall(method, args as Record<string, unknown>);
      if (contract.violation) {
        throw Object.assign(new Error(`An API error occurred: ${contract.violation.error}`), {
          code: 'slack_webapi_platform_error',
          data: { ok: false, error: contract.violation.error },
        });
      }
      calls.push({ method, args: args as Record<string, unknown> });
      n++;
      const answer = { view: { id: `V${n}` } };
      contract.record(answer);
      return answer;
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
