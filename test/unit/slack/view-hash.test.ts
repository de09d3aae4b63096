import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.ts';
import { handleTargetSelect } from '../../../src/slack/actions/modal-actions.ts';
import type { ListenerClient } from '../../../src/slack/slack-client.ts';
import { FakeSlackIdp } from '../../helpers/fake-intake-slack.ts';
import type { Pipeline } from '../../helpers/pipeline.ts';
import { slackTestPipeline } from '../../helpers/slack-intake.ts';
import { fakeClient } from './fake-client.ts';

/**
 * Picker changes in a row: each views.update carries the hash of the view it came from, so Slack refuses
 * the older one (`hash_conflict`, https://docs.slack.dev/reference/methods/views.update) instead of letting
 * it overwrite the newer view; the conflict is not an error.
 */
const pipes: Pipeline[] = [];
afterEach(async () => {
  await Promise.all(pipes.splice(0).map((p) => p.close()));
});

const click = (hash: string, user: string) => ({
  type: 'block_actions',
  user: { id: 'U0REQ', name: 'req' },
  trigger_id: 'trig',
  view: { id: 'V_PICK', hash, private_metadata: JSON.stringify({ scope: 'token' }) },
  actions: [],
  action: { selected_option: { value: user } },
});

describe('views.update with hash', () => {
  it('passes the clicked view’s hash; a hash_conflict (a newer view won) is swallowed', async () => {
    const idp = new FakeSlackIdp();
    const pipe = await slackTestPipeline({ idp });
    pipes.push(pipe);
    const deps = { idp, intake: pipe.intake, logger: silentLogger, access: pipe.access };
    const fc = fakeClient();
    const c = click('1700000000.hash1', 'usr_alice');
    await handleTargetSelect(
      { ack: async () => undefined, body: c, action: c.action, client: fc.client },
      deps,
    );
    expect(fc.calls.find((x) => x.method === 'views.update')?.args.hash).toBe('1700000000.hash1');

    const conflicted: ListenerClient = {
      ...fc.client,
      views: {
        ...fc.client.views,
        update: async () => {
          throw Object.assign(new Error('An API error occurred: hash_conflict'), {
            code: 'slack_webapi_platform_error',
            data: { ok: false, error: 'hash_conflict' },
          });
        },
      },
    };
    const stale = click('1700000000.old', 'usr_bob');
    await expect(
      handleTargetSelect(
        { ack: async () => undefined, body: stale, action: stale.action, client: conflicted },
        deps,
      ),
    ).resolves.toBeUndefined();
  });
});
