/**
 * What Slack refuses, written from its documented Block Kit limits, so a stand-in of Slack (the tests'
 * and the demo's) can answer as Slack would: `checkSlackPayload` returns the first rule a payload breaks
 * and where (a JSON pointer, as Slack's `response_metadata.messages` gives it), or undefined.
 *
 * Pure and dependency-free: the tests' stand-ins (test/helpers/block-kit-contract.ts) and the demo's
 * stand-in (src/demo/slack-stand-in.ts) share it. Each rule cites its reference page.
 */

const DOCS = 'https://docs.slack.dev/reference';
export const SOURCES = {
  modal: `${DOCS}/views/modal-views`,
  home: `${DOCS}/views/home-tab-views`,
  blocks: `${DOCS}/block-kit/blocks`,
  section: `${DOCS}/block-kit/blocks/section-block`,
  header: `${DOCS}/block-kit/blocks/header-block`,
  context: `${DOCS}/block-kit/blocks/context-block`,
  actions: `${DOCS}/block-kit/blocks/actions-block`,
  input: `${DOCS}/block-kit/blocks/input-block`,
  text: `${DOCS}/block-kit/composition-objects/text-object`,
  option: `${DOCS}/block-kit/composition-objects/option-object`,
  confirm: `${DOCS}/block-kit/composition-objects/confirmation-dialog-object`,
  button: `${DOCS}/block-kit/block-elements/button-element`,
  radio: `${DOCS}/block-kit/block-elements/radio-button-group-element`,
  externalSelect: `${DOCS}/block-kit/block-elements/select-menu-element#external_select`,
  textInput: `${DOCS}/block-kit/block-elements/plain-text-input-element`,
  postMessage: `${DOCS}/methods/chat.postMessage`,
  update: `${DOCS}/methods/chat.update`,
  viewsUpdate: `${DOCS}/methods/views.update#errors`,
  modalErrors: 'https://docs.slack.dev/surfaces/modals#displaying_errors',
  escaping: 'https://docs.slack.dev/messaging/formatting-message-text#escaping',
  responseUrl: 'https://docs.slack.dev/interactivity/handling-user-interaction#message_responses',
  utf16: 'https://datatracker.ietf.org/doc/html/rfc8259#section-8.2',
} as const;

export interface Violation {
  /** Human rule, e.g. "section text ≤ 3000 characters". */
  rule: string;
  /** JSON pointer into the payload, e.g. `/blocks/1/fields/3/text`. */
  path: string;
  /** Reference page the rule comes from. */
  source: string;
  /**
   * What Slack answers: `invalid_blocks` for messages, `invalid_arguments` for views and bad args. Slack
   * accepts what only Revoker's own rules refuse (an update identical to the message, a reused block_id):
   * those carry `revoker_rule`, never a Slack error name, and no stand-in answers them as Slack would.
   */
  error: 'invalid_blocks' | 'invalid_arguments' | 'no_text' | 'msg_too_long' | 'revoker_rule';
}

/** Which payload this is: a Web API method, a response_url post, or an answer in an HTTP/socket ack. */
export type PayloadKind =
  | 'views.open'
  | 'views.update'
  | 'views.push'
  | 'views.publish'
  | 'chat.postMessage'
  | 'chat.update'
  | 'chat.postEphemeral'
  | 'response_url'
  | 'command_ack'
  | 'options'
  | 'view_ack';

/** The Web API methods whose payloads the contract checks (the others carry no Block Kit). */
export const CHECKED_METHODS: readonly PayloadKind[] = [
  'views.open',
  'views.update',
  'views.push',
  'views.publish',
  'chat.postMessage',
  'chat.update',
  'chat.postEphemeral',
];

export interface CheckContext {
  /** For a `view_ack`: the view that was submitted (to check `errors` keys name its input blocks). */
  submittedView?: unknown;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const len = (v: unknown): number => (typeof v === 'string' ? v.length : 0);

class Found extends Error {
  constructor(readonly violation: Violation) {
    super(violation.rule);
  }
}

/** Collects nothing: throws the first violation (Slack reports the first error it meets). */
class Checker {
  constructor(private readonly error: Violation['error']) {}

  fail(rule: string, path: string, source: string, error: Violation['error'] = this.error): never {
    throw new Found({ rule, path, source, error });
  }

  /** A text object: type, 1..max characters, emoji only on plain_text, mrkdwn `<…>` only as controls. */
  text(
    v: unknown,
    path: string,
    opts: { max: number; plainOnly?: boolean; what: string; source: string },
  ): void {
    if (!isObj(v)) this.fail(`${opts.what} must be a text object`, path, SOURCES.text);
    const type = v.type;
    if (type !== 'plain_text' && type !== 'mrkdwn') {
      this.fail(`${opts.what}: text object type must be plain_text or mrkdwn`, `${path}/type`, SOURCES.text);
    }
    if (opts.plainOnly && type !== 'plain_text') {
      this.fail(`${opts.what} must be plain_text`, `${path}/type`, opts.source);
    }
    if (typeof v.text !== 'string' || v.text.length < 1) {
      this.fail(`${opts.what}: text must be at least 1 character`, `${path}/text`, SOURCES.text);
    }
    if (v.text.length > opts.max) {
      this.fail(`${opts.what} ≤ ${opts.max} characters (got ${v.text.length})`, `${path}/text`, opts.source);
    }
    if (type === 'mrkdwn' && 'emoji' in v) {
      this.fail('emoji is only allowed on plain_text', `${path}/emoji`, SOURCES.text);
    }
    if (type === 'mrkdwn') this.mrkdwn(v.text, `${path}/text`);
  }

  /**
   * `<…>` in mrkdwn is a link, mention or special command: Slack parses it, so user text must arrive
   * escaped (`&lt;`). Anything else between angle brackets renders as a broken link.
   */
  mrkdwn(s: string, path: string): void {
    for (const m of s.matchAll(/<([^>]*)>?/g)) {
      const inner = m[1] ?? '';
      const closed = m[0].endsWith('>');
      const control =
        /^(@[UW][A-Z0-9]+|#[CG][A-Z0-9]+|![a-z]+(\^[^|>]*)?|!subteam\^S[A-Z0-9]+|(https?|mailto|slack):[^\s<>]+)(\|[^<>]*)?$/.test(
          inner,
        );
      if (!closed || !control) {
        this.fail(
          `mrkdwn: "<${inner.slice(0, 40)}${closed ? '>' : ''}" is parsed as a link or mention; escape & < > as &amp; &lt; &gt;`,
          path,
          SOURCES.escaping,
        );
      }
    }
  }

  id(v: unknown, path: string, what: string, source: string): void {
    if (v === undefined) return;
    if (typeof v !== 'string' || v.length === 0 || v.length > 255) {
      this.fail(`${what} must be 1–255 characters`, path, source);
    }
  }

  confirm(v: unknown, path: string): void {
    if (v === undefined) return;
    if (!isObj(v)) this.fail('confirm must be a confirmation dialog object', path, SOURCES.confirm);
    const o = { plainOnly: true, source: SOURCES.confirm };
    this.text(v.title, `${path}/title`, { ...o, max: 100, what: 'confirm title' });
    // The current reference describes `text` as plain_text only, ≤ 300.
    this.text(v.text, `${path}/text`, { ...o, max: 300, what: 'confirm text' });
    this.text(v.confirm, `${path}/confirm`, { ...o, max: 30, what: 'confirm button' });
    this.text(v.deny, `${path}/deny`, { ...o, max: 30, what: 'confirm deny button' });
  }

  option(v: unknown, path: string, plainOnly: boolean): void {
    if (!isObj(v)) this.fail('option must be an option object', path, SOURCES.option);
    this.text(v.text, `${path}/text`, { max: 75, plainOnly, what: 'option text', source: SOURCES.option });
    if (typeof v.value !== 'string' || v.value.length < 1 || v.value.length > 150) {
      this.fail('option value must be 1–150 characters', `${path}/value`, SOURCES.option);
    }
    if (v.description !== undefined) {
      this.text(v.description, `${path}/description`, {
        max: 75,
        plainOnly: true,
        what: 'option description',
        source: SOURCES.option,
      });
    }
  }

  options(v: unknown, path: string, max: number, source: string, plainOnly = true): void {
    if (!Array.isArray(v)) this.fail('options must be an array', path, source);
    if (v.length > max) this.fail(`at most ${max} options (got ${v.length})`, path, source);
    v.forEach((o, i) => {
      this.option(o, `${path}/${i}`, plainOnly);
    });
  }

  placeholder(v: unknown, path: string, source: string): void {
    if (v === undefined) return;
    this.text(v, `${path}/placeholder`, { max: 150, plainOnly: true, what: 'placeholder', source });
  }

  element(v: unknown, path: string): void {
    if (!isObj(v)) this.fail('element must be an object', path, SOURCES.blocks);
    this.id(v.action_id, `${path}/action_id`, 'action_id', SOURCES.button);
    switch (v.type) {
      case 'button':
        this.text(v.text, `${path}/text`, {
          max: 75,
          plainOnly: true,
          what: 'button text',
          source: SOURCES.button,
        });
        if (v.value !== undefined && len(v.value) > 2000) {
          this.fail(`button value ≤ 2000 characters (got ${len(v.value)})`, `${path}/value`, SOURCES.button);
        }
        if (v.url !== undefined && len(v.url) > 3000) {
          this.fail('button url ≤ 3000 characters', `${path}/url`, SOURCES.button);
        }
        if (v.style !== undefined && v.style !== 'primary' && v.style !== 'danger') {
          this.fail('button style is primary or danger', `${path}/style`, SOURCES.button);
        }
        this.confirm(v.confirm, `${path}/confirm`);
        return;
      case 'radio_buttons':
        this.options(v.options, `${path}/options`, 10, SOURCES.radio, false);
        if (v.initial_option !== undefined) this.option(v.initial_option, `${path}/initial_option`, false);
        this.confirm(v.confirm, `${path}/confirm`);
        return;
      case 'external_select':
      case 'static_select':
        this.placeholder(v.placeholder, path, SOURCES.externalSelect);
        if (v.type === 'static_select')
          this.options(v.options, `${path}/options`, 100, SOURCES.externalSelect);
        this.confirm(v.confirm, `${path}/confirm`);
        return;
      case 'plain_text_input':
        this.placeholder(v.placeholder, path, SOURCES.textInput);
        for (const k of ['min_length', 'max_length'] as const) {
          const n = v[k];
          if (n !== undefined && (typeof n !== 'number' || n < 0 || n > 3000)) {
            this.fail(`${k} is 0–3000`, `${path}/${k}`, SOURCES.textInput);
          }
        }
        return;
      case 'image':
        return;
      default:
        this.fail(`unknown element type ${String(v.type)}`, `${path}/type`, SOURCES.blocks);
    }
  }

  blocks(v: unknown, path: string, max: number, surface: 'message' | 'modal' | 'home'): void {
    if (!Array.isArray(v)) this.fail('blocks must be an array', path, SOURCES.blocks);
    if (v.length > max) {
      this.fail(`at most ${max} blocks in a ${surface} (got ${v.length})`, path, SOURCES.blocks);
    }
    const ids = new Set<string>();
    v.forEach((b, i) => {
      const p = `${path}/${i}`;
      if (!isObj(b)) this.fail('block must be an object', p, SOURCES.blocks);
      if (b.block_id !== undefined) {
        this.id(b.block_id, `${p}/block_id`, 'block_id', SOURCES.blocks);
        const id = String(b.block_id);
        if (ids.has(id))
          this.fail(`block_id "${id}" is not unique in this ${surface}`, `${p}/block_id`, SOURCES.blocks);
        ids.add(id);
      }
      this.block(b, p, surface);
    });
  }

  block(b: Obj, p: string, surface: 'message' | 'modal' | 'home'): void {
    switch (b.type) {
      case 'section': {
        if (b.text === undefined && b.fields === undefined) {
          this.fail('section needs text or fields', p, SOURCES.section);
        }
        if (b.text !== undefined) {
          this.text(b.text, `${p}/text`, { max: 3000, what: 'section text', source: SOURCES.section });
        }
        if (b.fields !== undefined) {
          if (!Array.isArray(b.fields))
            this.fail('section fields must be an array', `${p}/fields`, SOURCES.section);
          if (b.fields.length > 10) {
            this.fail(`section fields: at most 10 (got ${b.fields.length})`, `${p}/fields`, SOURCES.section);
          }
          b.fields.forEach((f, i) => {
            this.text(f, `${p}/fields/${i}`, { max: 2000, what: 'section field', source: SOURCES.section });
          });
        }
        if (b.accessory !== undefined) this.element(b.accessory, `${p}/accessory`);
        return;
      }
      case 'header':
        this.text(b.text, `${p}/text`, {
          max: 150,
          plainOnly: true,
          what: 'header text',
          source: SOURCES.header,
        });
        return;
      case 'context': {
        if (!Array.isArray(b.elements) || b.elements.length === 0) {
          this.fail('context needs 1–10 elements', `${p}/elements`, SOURCES.context);
        }
        if (b.elements.length > 10) {
          this.fail(
            `context: at most 10 elements (got ${b.elements.length})`,
            `${p}/elements`,
            SOURCES.context,
          );
        }
        b.elements.forEach((e, i) => {
          if (isObj(e) && e.type === 'image') return;
          this.text(e, `${p}/elements/${i}`, { max: 3000, what: 'context element', source: SOURCES.context });
        });
        return;
      }
      case 'actions': {
        if (!Array.isArray(b.elements) || b.elements.length === 0 || b.elements.length > 25) {
          this.fail('actions needs 1–25 elements', `${p}/elements`, SOURCES.actions);
        }
        const actionIds = new Set<string>();
        b.elements.forEach((e, i) => {
          this.element(e, `${p}/elements/${i}`);
          const id = isObj(e) ? e.action_id : undefined;
          if (typeof id === 'string') {
            if (actionIds.has(id)) {
              this.fail(
                `action_id "${id}" is not unique in its block`,
                `${p}/elements/${i}/action_id`,
                SOURCES.actions,
              );
            }
            actionIds.add(id);
          }
        });
        return;
      }
      case 'input':
        if (surface === 'message') this.fail('input blocks are for modals and Home', p, SOURCES.input);
        this.text(b.label, `${p}/label`, {
          max: 2000,
          plainOnly: true,
          what: 'input label',
          source: SOURCES.input,
        });
        if (b.hint !== undefined) {
          this.text(b.hint, `${p}/hint`, {
            max: 2000,
            plainOnly: true,
            what: 'input hint',
            source: SOURCES.input,
          });
        }
        this.element(b.element, `${p}/element`);
        return;
      case 'divider':
        return;
      default:
        this.fail(`unknown block type ${String(b.type)}`, `${p}/type`, SOURCES.blocks);
    }
  }

  view(v: unknown, path: string): void {
    if (!isObj(v)) this.fail('view must be an object', path, SOURCES.modal);
    if (v.type === 'home') {
      this.blocks(v.blocks, `${path}/blocks`, 100, 'home');
      if (len(v.private_metadata) > 3000) {
        this.fail('private_metadata ≤ 3000 characters', `${path}/private_metadata`, SOURCES.home);
      }
      this.id(v.callback_id, `${path}/callback_id`, 'callback_id', SOURCES.home);
      return;
    }
    if (v.type !== 'modal') this.fail('view type must be modal or home', `${path}/type`, SOURCES.modal);
    const o = { plainOnly: true, max: 24, source: SOURCES.modal };
    this.text(v.title, `${path}/title`, { ...o, what: 'modal title' });
    if (v.submit !== undefined) this.text(v.submit, `${path}/submit`, { ...o, what: 'modal submit' });
    if (v.close !== undefined) this.text(v.close, `${path}/close`, { ...o, what: 'modal close' });
    if (len(v.private_metadata) > 3000) {
      this.fail(
        `private_metadata ≤ 3000 characters (got ${len(v.private_metadata)})`,
        `${path}/private_metadata`,
        SOURCES.modal,
      );
    }
    this.id(v.callback_id, `${path}/callback_id`, 'callback_id', SOURCES.modal);
    this.blocks(v.blocks, `${path}/blocks`, 100, 'modal');
    const hasInput = (v.blocks as Obj[]).some((b) => b.type === 'input');
    if (hasInput && v.submit === undefined) {
      this.fail('submit is required when the view has an input block', `${path}/submit`, SOURCES.modal);
    }
  }

  /** chat.postMessage / update / postEphemeral / response_url / command ack: a `text` fallback and ≤ 50 blocks. */
  message(args: Obj, path: string, needsText: boolean): void {
    // Slack needs text or blocks: with blocks, `text` is only the notification fallback (recommended,
    // accepted without: https://docs.slack.dev/reference/methods/chat.postMessage#text-blocks-attachments).
    const hasBlocks =
      Array.isArray(parseJsonValue(args.blocks)) && (parseJsonValue(args.blocks) as unknown[]).length > 0;
    if (needsText && !hasBlocks && (typeof args.text !== 'string' || args.text.trim() === '')) {
      this.fail(
        'a message needs a non-empty `text` or blocks',
        `${path}/text`,
        SOURCES.postMessage,
        'no_text',
      );
    }
    if (typeof args.text === 'string') {
      // Over 40,000 characters Slack truncates the text and answers ok with a warning
      // (https://docs.slack.dev/reference/methods/chat.postMessage#truncating): not a refusal.
      // Top-level `text` is mrkdwn unless `mrkdwn: false`.
      if (args.mrkdwn !== false) this.mrkdwn(args.text, `${path}/text`);
    }
    if (args.blocks !== undefined) this.blocks(args.blocks, `${path}/blocks`, 50, 'message');
  }
}

/** Any lone UTF-16 surrogate (half an emoji) anywhere in the payload: Slack cannot decode it. */
function loneSurrogate(v: unknown, path: string): string | undefined {
  if (typeof v === 'string') {
    return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(v)
      ? path
      : undefined;
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const p = loneSurrogate(v[i], `${path}/${i}`);
      if (p) return p;
    }
  } else if (isObj(v)) {
    for (const [k, x] of Object.entries(v)) {
      const p = loneSurrogate(x, `${path}/${k}`);
      if (p) return p;
    }
  }
  return undefined;
}

const parseJson = (v: unknown): unknown => {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
};

/**
 * The first rule `payload` breaks as `kind`, or undefined when Slack would accept it. Web API args may
 * carry `view`/`blocks` as JSON strings (form encoding); they are parsed first.
 */
const isId = (v: unknown): boolean => typeof v === 'string' && v.trim() !== '';

/**
 * Each method's required arguments, from its page (Arguments → Required): Slack answers a call without
 * them `invalid_arguments`.
 */
function required(c: Checker, kind: PayloadKind, args: Obj): void {
  const need = (ok: boolean, rule: string, path: string, source: string) => {
    if (!ok) c.fail(rule, path, source, 'invalid_arguments');
  };
  switch (kind) {
    case 'views.open':
    case 'views.push':
      // https://docs.slack.dev/reference/methods/views.open: trigger_id (or interactivity_pointer).
      need(
        isId(args.trigger_id) || isId(args.interactivity_pointer),
        'trigger_id is required',
        '/trigger_id',
        `${DOCS}/methods/${kind}`,
      );
      break;
    case 'views.update':
      // https://docs.slack.dev/reference/methods/views.update: view_id or external_id (≤ 255 characters).
      need(
        isId(args.view_id) || isId(args.external_id),
        'view_id or external_id is required',
        '/view_id',
        SOURCES.viewsUpdate,
      );
      if (typeof args.external_id === 'string')
        need(
          args.external_id.length <= 255,
          'external_id ≤ 255 characters',
          '/external_id',
          SOURCES.viewsUpdate,
        );
      break;
    case 'views.publish':
      need(isId(args.user_id), 'user_id is required', '/user_id', `${DOCS}/methods/views.publish`);
      break;
    case 'chat.postMessage':
      need(isId(args.channel), 'channel is required', '/channel', SOURCES.postMessage);
      break;
    case 'chat.postEphemeral':
      need(
        isId(args.channel) && isId(args.user),
        'channel and user are required',
        '/channel',
        `${DOCS}/methods/chat.postEphemeral`,
      );
      break;
    case 'chat.update':
      need(isId(args.channel) && isId(args.ts), 'channel and ts are required', '/ts', SOURCES.update);
      break;
    default:
      break;
  }
}

export function checkSlackPayload(
  kind: PayloadKind,
  payload: unknown,
  ctx: CheckContext = {},
): Violation | undefined {
  const isView = kind.startsWith('views.') || kind === 'view_ack';
  const c: Checker = new Checker(isView ? 'invalid_arguments' : 'invalid_blocks');
  try {
    if (!isObj(payload)) c.fail('payload must be an object', '', SOURCES.postMessage, 'invalid_arguments');
    const args: Obj = { ...payload };
    if (args.view !== undefined) args.view = parseJson(args.view);
    if (args.blocks !== undefined) args.blocks = parseJson(args.blocks);
    const lone = loneSurrogate(args, '');
    if (lone !== undefined)
      c.fail('well-formed UTF-16: no lone surrogate', lone, SOURCES.utf16, 'invalid_arguments');
    switch (kind) {
      case 'views.open':
      case 'views.update':
      case 'views.push':
        c.view(args.view, '/view');
        if (isObj(args.view) && args.view.type !== 'modal') {
          c.fail('views.open/update/push take a modal', '/view/type', SOURCES.modal);
        }
        break;
      case 'views.publish':
        c.view(args.view, '/view');
        if (isObj(args.view) && args.view.type !== 'home')
          c.fail('views.publish takes a home view', '/view/type', SOURCES.home);
        break;
      case 'chat.postMessage':
      case 'chat.update':
      case 'chat.postEphemeral':
        c.message(args, '', true);
        break;
      case 'response_url':
        if (args.delete_original === true) break;
        c.message(args, '', true);
        break;
      case 'command_ack':
        // An empty ack is fine; an ack with a body is a message.
        if (Object.keys(args).length > 0) c.message(args, '', true);
        break;
      case 'options':
        if (args.option_groups !== undefined) {
          if (!Array.isArray(args.option_groups) || args.option_groups.length > 100) {
            c.fail('at most 100 option groups', '/option_groups', SOURCES.externalSelect);
          }
        } else {
          c.options(args.options, '/options', 100, SOURCES.externalSelect);
        }
        break;
      case 'view_ack':
        checkViewAck(c, args, ctx.submittedView);
        break;
    }
    // After the payload's own rules (their findings name the field), the method's required arguments.
    required(c, kind, args);
  } catch (err) {
    if (err instanceof Found) return err.violation;
    throw err;
  }
  return undefined;
}

function checkViewAck(c: Checker, args: Obj, submitted: unknown): void {
  if (Object.keys(args).length === 0) return;
  switch (args.response_action) {
    case 'clear':
      return;
    case 'update':
    case 'push':
      c.view(args.view, '/view');
      return;
    case 'errors': {
      if (!isObj(args.errors) || Object.keys(args.errors).length === 0) {
        c.fail('errors must map input block ids to messages', '/errors', SOURCES.modalErrors);
      }
      const blocks =
        isObj(submitted) && Array.isArray(submitted.blocks) ? (submitted.blocks as unknown[]) : undefined;
      const inputs = new Set(
        (blocks ?? []).filter((b): b is Obj => isObj(b) && b.type === 'input').map((b) => String(b.block_id)),
      );
      for (const [key, msg] of Object.entries(args.errors)) {
        if (blocks && !inputs.has(key)) {
          c.fail(
            `errors key "${key}" is not an input block of the submitted view`,
            `/errors/${key}`,
            SOURCES.modalErrors,
          );
        }
        if (typeof msg !== 'string' || msg.length === 0) {
          c.fail('an error message is a non-empty string', `/errors/${key}`, SOURCES.modalErrors);
        }
      }
      return;
    }
    default:
      c.fail(
        'response_action must be errors, update, push or clear',
        '/response_action',
        SOURCES.modalErrors,
      );
  }
}

/** Slack's answer to a refused call: `{ok:false, error, response_metadata:{messages:[…]}}`. */
export function slackRefusal(v: Violation): Record<string, unknown> {
  return {
    ok: false,
    error: v.error,
    response_metadata: { messages: [`[ERROR] ${v.rule} [json-pointer:${v.path}]`] },
  };
}

/** One line for a test failure or a log: the rule, where, and the page it comes from. */
export function describeViolation(kind: string, v: Violation): string {
  return `${kind}: ${v.rule} at ${v.path || '/'} (${v.error}; ${v.source})`;
}

const blockIds = (blocks: unknown): string[] =>
  Array.isArray(blocks)
    ? blocks.filter(isObj).flatMap((b) => (typeof b.block_id === 'string' ? [b.block_id] : []))
    : [];

/**
 * Remembers each message's last iteration (by channel and ts) and finds what Slack's guidance warns
 * against on an update: a block_id reused from the previous iteration ("If a message is updated, use a
 * new block_id", section block reference), and an update identical to what the message already shows
 * (a wasted call on a Tier 3 method). Slack accepts both; the stand-ins report them.
 */
export class MessageIterations {
  private readonly last = new Map<string, string>();
  private readonly lastIds = new Map<string, string[]>();
  /** chat.update calls that resent exactly what the message already showed. */
  identicalUpdates = 0;
  updates = 0;

  record(
    method: string,
    args: Record<string, unknown>,
    answer: { channel?: unknown; ts?: unknown },
  ): Violation | undefined {
    if (method !== 'chat.postMessage' && method !== 'chat.update') return undefined;
    const key = `${String(answer.channel ?? args.channel)}/${String(answer.ts ?? args.ts)}`;
    const blocks = parseJson(args.blocks);
    const body = JSON.stringify({ text: args.text, blocks });
    const ids = blockIds(blocks);
    let violation: Violation | undefined;
    if (method === 'chat.update') {
      this.updates++;
      if (this.last.get(key) === body) {
        this.identicalUpdates++;
        violation = {
          rule: 'chat.update resends exactly what the message already shows (a wasted Tier 3 call)',
          path: '',
          source: `${DOCS}/methods/chat.update`,
          error: 'revoker_rule',
        };
      } else {
        const reused = ids.find((id) => this.lastIds.get(key)?.includes(id));
        if (reused) {
          violation = {
            rule: `block_id "${reused}" reused across iterations of one message; use a new block_id when updating`,
            path: '/blocks',
            source: SOURCES.section,
            error: 'revoker_rule',
          };
        }
      }
    }
    this.last.set(key, body);
    this.lastIds.set(key, ids);
    return violation;
  }
}

function parseJsonValue(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}
