import type { ListenerClient } from '../../../src/slack/slack-client.ts';

/** Records every Web API call a listener makes; views.open/push answer with a view id. */
export function fakeClient() {
  const calls: { method: string; args: Record<string, unknown> }[] = [];
  let n = 0;
  const rec =
    (method: string) =>
    async (args: object): Promise<{ view: { id: string } }> => {
      calls.push({ method, args: args as Record<string, unknown> });
      n++;
      return { view: { id: `V${n}` } };
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
