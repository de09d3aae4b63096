import type { Checker } from './checker.ts';
import { element } from './element-rules.ts';
import { isObj, type Obj, SOURCES } from './sources.ts';
import { id, text } from './text-rules.ts';

export type Surface = 'message' | 'modal' | 'home';

/**
 * Elements that only an input block takes ("Works with block types: Input" on each element's page), and
 * elements an input block cannot take (a button, an overflow menu or an image is not an input).
 */
const INPUT_ONLY = new Set([
  'plain_text_input',
  'email_text_input',
  'url_text_input',
  'number_input',
  'rich_text_input',
  'file_input',
]);
const NOT_IN_INPUT = new Set(['button', 'overflow', 'image', 'workflow_button']);

function elementIn(c: Checker, v: unknown, path: string, where: 'accessory' | 'actions' | 'input'): void {
  const type = isObj(v) ? v.type : undefined;
  if (where !== 'input' && typeof type === 'string' && INPUT_ONLY.has(type)) {
    c.fail(
      `${type} works only in an input block, not as ${where === 'accessory' ? 'an accessory' : 'an actions element'}`,
      `${path}/type`,
      where === 'accessory' ? SOURCES.section : SOURCES.actions,
    );
  }
  if (where === 'input' && typeof type === 'string' && NOT_IN_INPUT.has(type)) {
    c.fail(`${type} is not an input element`, `${path}/type`, SOURCES.input);
  }
  element(c, v, path);
}

export function blocks(c: Checker, v: unknown, path: string, max: number, surface: Surface): void {
  if (!Array.isArray(v)) c.fail('blocks must be an array', path, SOURCES.blocks);
  if (v.length > max) c.fail(`at most ${max} blocks in a ${surface} (got ${v.length})`, path, SOURCES.blocks);
  const ids = new Set<string>();
  v.forEach((b, i) => {
    const p = `${path}/${i}`;
    if (!isObj(b)) c.fail('block must be an object', p, SOURCES.blocks);
    if (b.block_id !== undefined) {
      id(c, b.block_id, `${p}/block_id`, 'block_id', SOURCES.blocks);
      const bid = String(b.block_id);
      if (ids.has(bid))
        c.fail(`block_id "${bid}" is not unique in this ${surface}`, `${p}/block_id`, SOURCES.blocks);
      ids.add(bid);
    }
    block(c, b, p, surface);
  });
}

function section(c: Checker, b: Obj, p: string): void {
  if (b.text === undefined && b.fields === undefined)
    c.fail('section needs text or fields', p, SOURCES.section);
  if (b.text !== undefined)
    text(c, b.text, `${p}/text`, { max: 3000, what: 'section text', source: SOURCES.section });
  if (b.fields !== undefined) {
    if (!Array.isArray(b.fields)) c.fail('section fields must be an array', `${p}/fields`, SOURCES.section);
    if (b.fields.length > 10) {
      c.fail(`section fields: at most 10 (got ${b.fields.length})`, `${p}/fields`, SOURCES.section);
    }
    b.fields.forEach((f, i) => {
      text(c, f, `${p}/fields/${i}`, { max: 2000, what: 'section field', source: SOURCES.section });
    });
  }
  if (b.accessory !== undefined) elementIn(c, b.accessory, `${p}/accessory`, 'accessory');
}

function actions(c: Checker, b: Obj, p: string): void {
  if (!Array.isArray(b.elements) || b.elements.length === 0 || b.elements.length > 25) {
    c.fail('actions needs 1–25 elements', `${p}/elements`, SOURCES.actions);
  }
  const actionIds = new Set<string>();
  b.elements.forEach((e, i) => {
    elementIn(c, e, `${p}/elements/${i}`, 'actions');
    const aid = isObj(e) ? e.action_id : undefined;
    if (typeof aid === 'string') {
      if (actionIds.has(aid)) {
        c.fail(
          `action_id "${aid}" is not unique in its block`,
          `${p}/elements/${i}/action_id`,
          SOURCES.actions,
        );
      }
      actionIds.add(aid);
    }
  });
}

export function block(c: Checker, b: Obj, p: string, surface: Surface): void {
  switch (b.type) {
    case 'section':
      section(c, b, p);
      return;
    case 'header':
      text(c, b.text, `${p}/text`, {
        max: 150,
        plainOnly: true,
        what: 'header text',
        source: SOURCES.header,
      });
      return;
    case 'context': {
      if (!Array.isArray(b.elements) || b.elements.length === 0) {
        c.fail('context needs 1–10 elements', `${p}/elements`, SOURCES.context);
      }
      if (b.elements.length > 10) {
        c.fail(`context: at most 10 elements (got ${b.elements.length})`, `${p}/elements`, SOURCES.context);
      }
      b.elements.forEach((e, i) => {
        if (isObj(e) && e.type === 'image') return;
        text(c, e, `${p}/elements/${i}`, { max: 3000, what: 'context element', source: SOURCES.context });
      });
      return;
    }
    case 'actions':
      actions(c, b, p);
      return;
    case 'input':
      if (surface === 'message') c.fail('input blocks are for modals and Home', p, SOURCES.input);
      text(c, b.label, `${p}/label`, {
        max: 2000,
        plainOnly: true,
        what: 'input label',
        source: SOURCES.input,
      });
      if (b.hint !== undefined) {
        text(c, b.hint, `${p}/hint`, {
          max: 2000,
          plainOnly: true,
          what: 'input hint',
          source: SOURCES.input,
        });
      }
      elementIn(c, b.element, `${p}/element`, 'input');
      return;
    case 'divider':
      return;
    default:
      c.fail(`unknown block type ${String(b.type)}`, `${p}/type`, SOURCES.blocks);
  }
}

/** Every `text` string inside `v` (text objects, fields, elements), added up. */
export function blockTextLength(v: unknown): number {
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + blockTextLength(x), 0);
  if (!isObj(v)) return 0;
  let n = 0;
  for (const [k, x] of Object.entries(v))
    n += k === 'text' && typeof x === 'string' ? x.length : blockTextLength(x);
  return n;
}

/**
 * Observed, not documented (slackapi/bolt-js#2509): a message whose blocks carry more than about 13,200
 * characters of text in all is refused with `msg_blocks_too_long`, though each block is within its limit.
 */
export const OBSERVED_BLOCKS_TEXT_LIMIT = 13_200;

export function combinedBlockText(c: Checker, v: unknown, path: string): void {
  const n = blockTextLength(v);
  if (n > OBSERVED_BLOCKS_TEXT_LIMIT) {
    c.fail(
      `blocks' text in all ≤ ~${OBSERVED_BLOCKS_TEXT_LIMIT} characters (observed, not documented; got ${n})`,
      path,
      SOURCES.blocksTooLong,
      'msg_blocks_too_long',
    );
  }
}
