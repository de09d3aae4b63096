import type { Checker } from './checker.ts';
import { isObj, len, type Obj, SOURCES } from './sources.ts';
import { confirm, id, placeholder, text } from './text-rules.ts';

export function option(c: Checker, v: unknown, path: string, plainOnly: boolean): void {
  if (!isObj(v)) c.fail('option must be an option object', path, SOURCES.option);
  text(c, v.text, `${path}/text`, { max: 75, plainOnly, what: 'option text', source: SOURCES.option });
  if (typeof v.value !== 'string' || v.value.length < 1 || v.value.length > 150) {
    c.fail('option value must be 1–150 characters', `${path}/value`, SOURCES.option);
  }
  if (v.description !== undefined) {
    text(c, v.description, `${path}/description`, {
      max: 75,
      plainOnly: true,
      what: 'option description',
      source: SOURCES.option,
    });
  }
}

/** An options list: at most `max`, each an option object, values unique (they identify the choice). */
export function options(
  c: Checker,
  v: unknown,
  path: string,
  max: number,
  source: string,
  plainOnly = true,
): void {
  if (!Array.isArray(v)) c.fail('options must be an array', path, source);
  if (v.length > max) c.fail(`at most ${max} options (got ${v.length})`, path, source);
  const values = new Set<unknown>();
  v.forEach((o, i) => {
    option(c, o, `${path}/${i}`, plainOnly);
    const value = (o as Obj).value;
    if (values.has(value))
      c.fail(`option value "${String(value)}" is not unique`, `${path}/${i}/value`, SOURCES.option);
    values.add(value);
  });
}

/** Option group object: a plain_text label ≤ 75 and 1–100 options; at most 100 groups. */
export function optionGroups(c: Checker, v: unknown, path: string, source: string): void {
  if (!Array.isArray(v) || v.length === 0 || v.length > 100)
    c.fail('option_groups: 1–100 groups', path, source);
  v.forEach((g, i) => {
    const p = `${path}/${i}`;
    if (!isObj(g)) c.fail('option group must be an object', p, SOURCES.optionGroup);
    text(c, g.label, `${p}/label`, {
      max: 75,
      plainOnly: true,
      what: 'option group label',
      source: SOURCES.optionGroup,
    });
    if (!Array.isArray(g.options) || g.options.length === 0) {
      c.fail('an option group needs 1–100 options', `${p}/options`, SOURCES.optionGroup);
    }
    options(c, g.options, `${p}/options`, 100, SOURCES.optionGroup);
  });
}

/** initial_option of a static menu or radio group must be one of its options (same value and text). */
function initialOption(c: Checker, v: Obj, path: string, plainOnly: boolean, source: string): void {
  if (v.initial_option === undefined) return;
  option(c, v.initial_option, `${path}/initial_option`, plainOnly);
  const init = v.initial_option as Obj;
  const all = Array.isArray(v.options)
    ? v.options
    : Array.isArray(v.option_groups)
      ? (v.option_groups as Obj[]).flatMap((g) => (Array.isArray(g.options) ? g.options : []))
      : [];
  const same = (o: unknown) =>
    isObj(o) && o.value === init.value && JSON.stringify(o.text) === JSON.stringify(init.text);
  if (!all.some(same)) c.fail('initial_option must be one of the options', `${path}/initial_option`, source);
}

/** plain_text_input: min_length 0–3000, max_length 1–3000, min ≤ max, initial_value within max. */
function textInput(c: Checker, v: Obj, path: string): void {
  placeholder(c, v.placeholder, path, SOURCES.textInput);
  const bounds = { min_length: [0, 3000], max_length: [1, 3000] } as const;
  for (const k of ['min_length', 'max_length'] as const) {
    const n = v[k];
    const [lo, hi] = bounds[k];
    if (n !== undefined && (typeof n !== 'number' || !Number.isInteger(n) || n < lo || n > hi)) {
      c.fail(`${k} is ${lo}–${hi}`, `${path}/${k}`, SOURCES.textInput);
    }
  }
  const min = typeof v.min_length === 'number' ? v.min_length : 0;
  const max = typeof v.max_length === 'number' ? v.max_length : 3000;
  if (min > max) c.fail(`min_length (${min}) > max_length (${max})`, `${path}/min_length`, SOURCES.textInput);
  if (v.initial_value !== undefined && len(v.initial_value) > max) {
    c.fail(`initial_value longer than max_length (${max})`, `${path}/initial_value`, SOURCES.textInput);
  }
}

export function element(c: Checker, v: unknown, path: string): void {
  if (!isObj(v)) c.fail('element must be an object', path, SOURCES.blocks);
  id(c, v.action_id, `${path}/action_id`, 'action_id', SOURCES.button);
  if (v.focus_on_load === true) {
    // "Only one element can be set to true" (each focusable element's reference).
    if (c.focused)
      c.fail('only one element may set focus_on_load', `${path}/focus_on_load`, SOURCES.textInput);
    c.focused = true;
  }
  switch (v.type) {
    case 'button':
      text(c, v.text, `${path}/text`, {
        max: 75,
        plainOnly: true,
        what: 'button text',
        source: SOURCES.button,
      });
      if (v.value !== undefined && len(v.value) > 2000) {
        c.fail(`button value ≤ 2000 characters (got ${len(v.value)})`, `${path}/value`, SOURCES.button);
      }
      if (v.url !== undefined && len(v.url) > 3000)
        c.fail('button url ≤ 3000 characters', `${path}/url`, SOURCES.button);
      if (v.style !== undefined && v.style !== 'primary' && v.style !== 'danger') {
        c.fail('button style is primary or danger', `${path}/style`, SOURCES.button);
      }
      if (v.accessibility_label !== undefined && len(v.accessibility_label) > 75) {
        c.fail('button accessibility_label ≤ 75 characters', `${path}/accessibility_label`, SOURCES.button);
      }
      confirm(c, v.confirm, `${path}/confirm`);
      return;
    case 'radio_buttons':
      options(c, v.options, `${path}/options`, 10, SOURCES.radio, false);
      initialOption(c, v, path, false, SOURCES.radio);
      confirm(c, v.confirm, `${path}/confirm`);
      return;
    case 'external_select':
      placeholder(c, v.placeholder, path, SOURCES.externalSelect);
      // Its options come from the app at typing time: initial_option is not checked against a list.
      if (v.initial_option !== undefined) option(c, v.initial_option, `${path}/initial_option`, true);
      confirm(c, v.confirm, `${path}/confirm`);
      return;
    case 'static_select':
      placeholder(c, v.placeholder, path, SOURCES.staticSelect);
      if (v.option_groups !== undefined)
        optionGroups(c, v.option_groups, `${path}/option_groups`, SOURCES.staticSelect);
      else options(c, v.options, `${path}/options`, 100, SOURCES.staticSelect);
      initialOption(c, v, path, true, SOURCES.staticSelect);
      confirm(c, v.confirm, `${path}/confirm`);
      return;
    case 'plain_text_input':
      textInput(c, v, path);
      return;
    case 'image':
      return;
    default:
      c.fail(`unknown element type ${String(v.type)}`, `${path}/type`, SOURCES.blocks);
  }
}
