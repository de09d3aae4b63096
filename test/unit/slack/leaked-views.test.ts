import { describe, expect, it } from 'vitest';
import { LeakedTokenHold } from '../../../src/slack/leaked-token-hold.ts';
import { buildLeakedConfirmModal } from '../../../src/slack/views/leaked-modal.ts';
import { buildScopeModal, LEAKED_LABEL } from '../../../src/slack/views/scope-modal.ts';

const NONE = {
  scopes: { token: false, user: false, application: false, resourceServer: false },
  unsupportedReasons: {},
  listTokens: false,
  search: false,
};

/**
 * Slack's modal rules (api.slack.com/reference/surfaces/views, Block Kit reference): a view with input
 * blocks needs `submit`; title ≤ 24 characters; private_metadata ≤ 3000; plain_text_input max_length ≤ 3000;
 * section text ≤ 3000.
 */
function checkSlackLimits(view: ReturnType<typeof buildScopeModal>) {
  const blocks = view.blocks as {
    type: string;
    text?: { text: string };
    element?: { max_length?: number };
  }[];
  if (blocks.some((b) => b.type === 'input')) expect(view.submit).toBeDefined();
  expect(view.title.text.length).toBeLessThanOrEqual(24);
  expect((view.private_metadata ?? '').length).toBeLessThanOrEqual(3000);
  for (const b of blocks) {
    if (b.text) expect(b.text.text.length).toBeLessThanOrEqual(3000);
    if (b.element?.max_length !== undefined) expect(b.element.max_length).toBeLessThanOrEqual(3000);
  }
}

describe('the leaked-token dialog', () => {
  it('is offered only when the IdP can revoke by value, and asks for the token with a submit button', () => {
    expect(JSON.stringify(buildScopeModal({ idpName: 'oauth', capabilities: NONE }))).not.toContain(
      LEAKED_LABEL,
    );
    const offered = buildScopeModal({ idpName: 'oauth', capabilities: NONE, leaked: true });
    expect(JSON.stringify(offered)).toContain(LEAKED_LABEL);
    const paste = buildScopeModal({ idpName: 'oauth', capabilities: NONE, leaked: true, scope: 'leaked' });
    expect(JSON.stringify(paste.blocks)).toContain('leaked_token_input');
    checkSlackLimits(paste);
  });

  it('confirms with what introspection said and a handle, within Slack’s limits', () => {
    const hold = new LeakedTokenHold();
    const handle = hold.put('the-secret-token-value', 'U1');
    const view = buildLeakedConfirmModal(
      {
        tokenId: 'tok_abc',
        active: true,
        type: 'access_token',
        subject: 'usr_1',
        ownerName: 'Alice <alice@example.com>',
        clientId: 'expense-portal',
        audience: ['https://payroll.example.com/api'],
        expiresAt: '2026-12-01T00:00:00.000Z',
      },
      handle,
    );
    checkSlackLimits(view);
    const text = JSON.stringify(view);
    expect(text).toContain('expense-portal');
    expect(text).toContain('Alice');
    expect(text).not.toContain('the-secret-token-value');
  });

  it('holds a value for its user only, once, until it expires', () => {
    let now = 0;
    const hold = new LeakedTokenHold(1000, 2, () => now);
    const a = hold.put('value-a', 'U1');
    expect(hold.take(a, 'U2')).toBeUndefined();
    expect(hold.take(a, 'U1')).toBe('value-a');
    expect(hold.take(a, 'U1')).toBeUndefined();
    const b = hold.put('value-b', 'U1');
    now = 1000;
    expect(hold.take(b, 'U1')).toBeUndefined();
    const [c, d, e] = [hold.put('c', 'U1'), hold.put('d', 'U1'), hold.put('e', 'U1')];
    expect([hold.take(c, 'U1'), hold.take(d, 'U1'), hold.take(e, 'U1')]).toEqual([undefined, 'd', 'e']);
  });

  it('says that Slack takes at most 3,000 characters in the field, and points a longer token to the CLI', () => {
    const paste = buildScopeModal({ idpName: 'oauth', capabilities: NONE, leaked: true, scope: 'leaked' });
    const input = (
      paste.blocks as { block_id?: string; hint?: { text: string }; element?: { max_length?: number } }[]
    ).find((b) => b.block_id === 'leaked_token_block')!;
    expect(input.element?.max_length).toBe(3000);
    expect(input.hint?.text).toMatch(/3,000 characters/);
    expect(input.hint?.text).toContain('revoker revoke leaked');
    checkSlackLimits(paste);
  });
});
