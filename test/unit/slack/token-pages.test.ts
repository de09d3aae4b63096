import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.ts';
import { handleTargetSelect, handleTokensPage } from '../../../src/slack/actions/modal-actions.ts';
import { FakeSlackIdp } from '../../helpers/fake-intake-slack.ts';
import type { Pipeline } from '../../helpers/pipeline.ts';
import { slackTestPipeline } from '../../helpers/slack-intake.ts';
import { fakeClient } from './fake-client.ts';

/** Issue 20 item 7: every token of a user with 1,000 tokens can be reached (and revoked) from the dialog. */
const pipes: Pipeline[] = [];
afterEach(async () => {
  await Promise.all(pipes.splice(0).map((p) => p.close()));
});

interface Block {
  type: string;
  block_id?: string;
  accessory?: { action_id: string; value: string };
  elements?: { action_id: string; value: string; text: { text: string } }[];
}

describe('token list pages', () => {
  it('Next through 1,000 tokens shows each one once with its Revoke button; Previous goes back', async () => {
    const idp = new FakeSlackIdp();
    const template = idp.tokens[0]!;
    idp.tokens = Array.from({ length: 1000 }, (_, i) => ({
      ...template,
      id: `tok_${i}`,
      userId: 'usr_alice',
    }));
    const pipe = await slackTestPipeline({ idp });
    pipes.push(pipe);
    const deps = { idp, intake: pipe.intake, logger: silentLogger, access: pipe.access };
    const fc = fakeClient();
    const ack = async () => undefined;
    const pick = {
      type: 'block_actions',
      user: { id: 'U0REQ', name: 'req' },
      view: { id: 'V_T', hash: 'h0', private_metadata: JSON.stringify({ scope: 'token' }) },
      actions: [],
    };
    await handleTargetSelect(
      { ack, body: pick, action: { selected_option: { value: 'usr_alice' } }, client: fc.client },
      deps,
    );
    const seen = new Set<string>();
    let pages = 0;
    for (;;) {
      const view = fc.calls.at(-1)!.args.view as { blocks: Block[]; private_metadata: string };
      expect(view.blocks.length).toBeLessThanOrEqual(100);
      pages++;
      for (const b of view.blocks) if (b.accessory?.action_id === 'revoke_token') seen.add(b.accessory.value);
      const next = view.blocks
        .find((b) => b.block_id === 'tokens_pager')
        ?.elements?.find((e) => e.action_id.endsWith('_next'));
      if (!next) break;
      const body = {
        ...pick,
        view: { id: 'V_T', hash: `h${pages}`, private_metadata: view.private_metadata },
      };
      await handleTokensPage({ ack, body, action: next, client: fc.client }, deps);
    }
    expect(seen.size).toBe(1000);
    expect(pages).toBe(25);
    // Previous from the last page shows the one before.
    const last = fc.calls.at(-1)!.args.view as { blocks: Block[]; private_metadata: string };
    const prev = last.blocks
      .find((b) => b.block_id === 'tokens_pager')!
      .elements!.find((e) => e.action_id.endsWith('_previous'))!;
    await handleTokensPage(
      {
        ack,
        body: { ...pick, view: { id: 'V_T', private_metadata: last.private_metadata } },
        action: prev,
        client: fc.client,
      },
      deps,
    );
    expect(JSON.stringify(fc.calls.at(-1)!.args.view)).toContain('Tokens 921–960 of 1000');
  });
});
