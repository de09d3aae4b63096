import { describe, expect, it } from 'vitest';
import {
  checkSlackPayload,
  OBSERVED_BLOCKS_TEXT_LIMIT,
  type PayloadKind,
} from '../../../src/slack-contract/index.ts';

/**
 * Each rule added to the contract (issue 20 item 12): the bad payload is caught with Slack's error (or
 * `revoker_rule` where Slack accepts it) and its page, and the nearest good payload passes.
 */
const plain = (text: string) => ({ type: 'plain_text', text });
const md = (text: string) => ({ type: 'mrkdwn', text });
const modal = (blocks: unknown[], extra: Record<string, unknown> = {}) => ({
  trigger_id: '1.2.t',
  view: { type: 'modal', title: plain('T'), submit: plain('Go'), blocks, ...extra },
});
const input = (element: Record<string, unknown>, blockId = 'b') => ({
  type: 'input',
  block_id: blockId,
  label: plain('L'),
  element: { action_id: 'a', ...element },
});
const textInput = (extra: Record<string, unknown>, blockId = 'b') =>
  input({ type: 'plain_text_input', ...extra }, blockId);
const opt = (v: string, t = v) => ({ text: plain(t), value: v });
const section = (accessory?: Record<string, unknown>) => ({
  type: 'section',
  text: md('x'),
  ...(accessory ? { accessory } : {}),
});
const button = (extra: Record<string, unknown> = {}) => ({
  type: 'button',
  action_id: 'b',
  text: plain('B'),
  ...extra,
});
const confirmDialog = (extra: Record<string, unknown> = {}) => ({
  title: plain('Sure?'),
  text: plain('Really'),
  confirm: plain('Yes'),
  deny: plain('No'),
  ...extra,
});

function check(kind: PayloadKind, payload: unknown) {
  const v = checkSlackPayload(kind, payload);
  return v ? { rule: v.rule, path: v.path, error: v.error, source: v.source } : undefined;
}

describe('text in mrkdwn (Revoker writes no broadcast and no link)', () => {
  it('flags a raw <!channel> and a raw labelled link as revoker_rule, never as a Slack error', () => {
    for (const t of ['hi <!channel>', 'hi <!here>', 'see <https://x|click>']) {
      const v = check('chat.postMessage', { channel: 'C1', text: t });
      expect(v?.error, t).toBe('revoker_rule');
      expect(v?.path).toBe('/text');
    }
    expect(
      check('chat.postMessage', { channel: 'C1', text: 'hi &lt;!channel&gt; <@U1> <#C1>' }),
    ).toBeUndefined();
    expect(
      check('chat.postMessage', { channel: 'C1', text: 'at <!date^1700000000^{date_short}|2023>' }),
    ).toBeUndefined();
  });
});

describe('combined block text (observed, not documented)', () => {
  const sections = (n: number, each: number) =>
    Array.from({ length: n }, (_, i) => ({ type: 'section', block_id: `s${i}`, text: md('x'.repeat(each)) }));
  it('refuses blocks whose texts add up past ~13,200 characters with msg_blocks_too_long, citing bolt-js#2509', () => {
    const v = check('chat.postMessage', { channel: 'C1', blocks: sections(5, 2700) });
    expect(v?.error).toBe('msg_blocks_too_long');
    expect(v?.rule).toContain('observed, not documented');
    expect(v?.source).toContain('bolt-js/issues/2509');
    expect(check('chat.postMessage', { channel: 'C1', blocks: sections(4, 3000) })).toBeUndefined();
    expect(4 * 3000).toBeLessThanOrEqual(OBSERVED_BLOCKS_TEXT_LIMIT);
  });
});

describe('plain_text_input', () => {
  it('max_length 0 is refused (1–3000)', () => {
    expect(check('views.open', modal([textInput({ max_length: 0 })]))?.path).toBe(
      '/view/blocks/0/element/max_length',
    );
    expect(check('views.open', modal([textInput({ max_length: 1 })]))).toBeUndefined();
  });
  it('min_length above max_length is refused', () => {
    expect(check('views.open', modal([textInput({ min_length: 20, max_length: 10 })]))?.rule).toContain(
      'min_length',
    );
    expect(check('views.open', modal([textInput({ min_length: 10, max_length: 10 })]))).toBeUndefined();
  });
  it('an initial_value longer than max_length is refused', () => {
    const v = check('views.open', modal([textInput({ max_length: 3, initial_value: 'abcd' })]));
    expect(v?.path).toBe('/view/blocks/0/element/initial_value');
    expect(v?.error).toBe('invalid_arguments');
    expect(check('views.open', modal([textInput({ max_length: 3, initial_value: 'abc' })]))).toBeUndefined();
  });
  it('two elements with focus_on_load are refused; one is fine', () => {
    const two = modal([textInput({ focus_on_load: true }, 'a'), textInput({ focus_on_load: true }, 'b')]);
    expect(check('views.open', two)?.path).toBe('/view/blocks/1/element/focus_on_load');
    const one = modal([textInput({ focus_on_load: true }, 'a'), textInput({}, 'b')]);
    expect(check('views.open', one)).toBeUndefined();
  });
});

describe('options', () => {
  const radio = (extra: Record<string, unknown>) =>
    input({ type: 'radio_buttons', options: [opt('a'), opt('b')], ...extra });
  it('initial_option not among the options is refused', () => {
    expect(check('views.open', modal([radio({ initial_option: opt('c') })]))?.path).toBe(
      '/view/blocks/0/element/initial_option',
    );
    expect(check('views.open', modal([radio({ initial_option: opt('b') })]))).toBeUndefined();
  });
  it('duplicate option values are refused', () => {
    const v = check(
      'views.open',
      modal([input({ type: 'static_select', options: [opt('a', 'A'), opt('a', 'B')] })]),
    );
    expect(v?.path).toBe('/view/blocks/0/element/options/1/value');
    expect(check('options', { options: [opt('a'), opt('a', 'again')] })?.rule).toContain('not unique');
  });
  it('option_groups: a label is plain_text ≤ 75, each group holds 1–100 options', () => {
    const group = (label: string, options: unknown[]) => ({ label: plain(label), options });
    expect(check('options', { option_groups: [group('x'.repeat(76), [opt('a')])] })?.path).toBe(
      '/option_groups/0/label/text',
    );
    expect(check('options', { option_groups: [group('G', [])] })?.path).toBe('/option_groups/0/options');
    const many = Array.from({ length: 101 }, (_, i) => opt(`v${i}`));
    expect(check('options', { option_groups: [group('G', many)] })?.rule).toContain('at most 100');
    expect(
      check('options', { option_groups: [group('G', [opt('a')]), group('H', [opt('b')])] }),
    ).toBeUndefined();
  });
});

describe('element types per block', () => {
  it('a button inside an input block is refused', () => {
    expect(check('views.open', modal([input(button())]))?.path).toBe('/view/blocks/0/element/type');
  });
  it('a text input as an accessory or in an actions block is refused', () => {
    expect(
      check('chat.postMessage', {
        channel: 'C1',
        blocks: [section({ type: 'plain_text_input', action_id: 'i' })],
      })?.path,
    ).toBe('/blocks/0/accessory/type');
    const actions = { type: 'actions', elements: [{ type: 'plain_text_input', action_id: 'i' }] };
    expect(check('chat.postMessage', { channel: 'C1', blocks: [actions] })?.error).toBe('invalid_blocks');
    expect(check('chat.postMessage', { channel: 'C1', blocks: [section(button())] })).toBeUndefined();
  });
});

describe('element and composition fields', () => {
  it('a button accessibility_label over 75 characters is refused', () => {
    const msg = (label: string) => ({
      channel: 'C1',
      blocks: [section(button({ accessibility_label: label }))],
    });
    expect(check('chat.postMessage', msg('x'.repeat(76)))?.path).toBe(
      '/blocks/0/accessory/accessibility_label',
    );
    expect(check('chat.postMessage', msg('x'.repeat(75)))).toBeUndefined();
  });
  it('a confirm style other than primary or danger is refused', () => {
    const msg = (style: string) => ({
      channel: 'C1',
      blocks: [section(button({ confirm: confirmDialog({ style }) }))],
    });
    expect(check('chat.postMessage', msg('warning'))?.path).toBe('/blocks/0/accessory/confirm/style');
    expect(check('chat.postMessage', msg('danger'))).toBeUndefined();
  });
  it("a view's external_id over 255 characters is refused", () => {
    expect(check('views.open', modal([], { external_id: 'e'.repeat(256) }))?.path).toBe('/view/external_id');
    expect(check('views.open', modal([], { external_id: 'e'.repeat(255) }))).toBeUndefined();
  });
});

describe('view_submission ack', () => {
  it('response_action update with a Home view is refused; with a modal it passes', () => {
    const home = { type: 'home', blocks: [] };
    expect(check('view_ack', { response_action: 'update', view: home })?.path).toBe('/view/type');
    const m = { type: 'modal', title: plain('T'), blocks: [] };
    expect(check('view_ack', { response_action: 'update', view: m })).toBeUndefined();
  });
});
