import { describe, expect, it } from 'vitest';
import type { IdpUser } from '../../../src/identity/port.ts';
import { section } from '../../../src/slack/block-kit.ts';
import { escapeText, plainText, slackInput } from '../../../src/slack/escape.ts';
import { buildConfirmModal } from '../../../src/slack/views/confirm-modal.ts';
import { buildUserTokensModal } from '../../../src/slack/views/user-tokens-modal.ts';

/**
 * Issue 20 items 4 and 5: limits counted on what Slack counts (the serialised private_metadata), text cut
 * by grapheme cluster, outside text sanitised (lone surrogates, bidi overrides, control characters), and
 * mrkdwn marked verbatim so names are not auto-linked.
 */
const graphemes = (s: string) =>
  [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(s)].map((x) => x.segment);

describe('private_metadata within 3,000 characters as Slack counts them (serialised)', () => {
  const controls = '\u0001'.repeat(500);
  it('user tokens modal: a display name of 500 control characters', () => {
    const user: IdpUser = { id: 'usr_x', userName: 'x', displayName: controls, active: true };
    const view = buildUserTokensModal({
      user,
      tokens: [],
      listed: true,
      canRevokeToken: true,
      canRevokeUser: true,
    });
    expect(view.private_metadata!.length).toBeLessThanOrEqual(3000);
  });
  it('confirm modal: ids full of `"` and `\\`, a label of control characters', () => {
    const id = '"\\'.repeat(128);
    const view = buildConfirmModal({
      target: { kind: 'token', userId: id, tokenId: id },
      label: controls,
      plan: { tokenCount: 1, userCount: 1 } as Parameters<typeof buildConfirmModal>[0]['plan'],
    });
    expect(view.private_metadata!.length).toBeLessThanOrEqual(3000);
    expect(JSON.parse(view.private_metadata!).target.userId).toBe(id);
  });
});

describe('broken text never reaches Slack', () => {
  it('a lone surrogate (HR employeeId "E\\ud800x") becomes U+FFFD, mid-string and at the end', () => {
    for (const raw of ['E\ud800x', 'E\ud800']) {
      const out = escapeText(raw);
      expect(out.isWellFormed()).toBe(true);
      expect(() => encodeURIComponent(out)).not.toThrow();
      expect(out).toContain('\ufffd');
      expect(plainText(raw).isWellFormed()).toBe(true);
    }
    expect(escapeText('E\ud800x')).toBe('E\ufffdx');
  });

  it('a right-to-left override in a name is removed', () => {
    const name = 'alice\u202Emoc.elpmaxe@evil';
    expect(escapeText(name)).toBe('alicemoc.elpmaxe@evil');
    expect(plainText(name)).not.toContain('\u202E');
  });

  it.each([
    ['flag', '🇺🇦'],
    ['skin tone', '👍🏽'],
    ['ZWJ family', '👨‍👩‍👧‍👦'],
    ['Devanagari conjunct', 'क्षि'],
  ])('cuts between grapheme clusters (%s), escaped or plain, and Slack input', (_name, cluster) => {
    for (let max = 5; max < 40; max++) {
      for (const out of [
        escapeText(`a${cluster.repeat(20)}`, max),
        plainText(`a${cluster.repeat(20)}`, max),
      ]) {
        expect(out.length).toBeLessThanOrEqual(max);
        const parts = graphemes(out.replace(/…$/, '').slice(1));
        for (const p of parts) expect(p).toBe(cluster);
      }
    }
    const reason = slackInput(`${'r'.repeat(1995)}${cluster.repeat(5)}`, 2000);
    expect(reason.length).toBeLessThanOrEqual(2000);
    for (const p of graphemes(reason.replace(/…$/, '')).slice(1995)) expect(p).toBe(cluster);
  });

  it('mrkdwn is verbatim: a URL or #channel in a name is not auto-linked', () => {
    expect(section(escapeText('https://evil.example/login #general')).text).toMatchObject({ verbatim: true });
    const user: IdpUser = {
      id: 'usr_x',
      userName: 'x',
      displayName: 'https://evil.example/login',
      active: true,
    };
    const view = buildUserTokensModal({
      user,
      tokens: [],
      listed: true,
      canRevokeToken: true,
      canRevokeUser: true,
    });
    const texts = JSON.stringify(view.blocks).match(/"type":"mrkdwn"[^}]*/g) ?? [];
    expect(texts.length).toBeGreaterThan(0);
    for (const t of texts) expect(t).toContain('"verbatim":true');
  });
});
