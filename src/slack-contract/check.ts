import { Checker } from './checker.ts';
import { optionGroups, options } from './element-rules.ts';
import { requiredArguments } from './method-rules.ts';
import {
  type CheckContext,
  isObj,
  type Obj,
  type PayloadKind,
  parseJson,
  SOURCES,
  type Violation,
} from './sources.ts';
import { message, view, viewAck } from './view-rules.ts';
import { ViolationFound } from './violation-found.ts';

/** Any lone UTF-16 surrogate (half an emoji) anywhere in the payload: Slack cannot decode it. */
function loneSurrogate(v: unknown, path: string): string | undefined {
  if (typeof v === 'string') return v.isWellFormed() ? undefined : path;
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

/**
 * The first rule `payload` breaks as `kind` that Slack enforces, else the first Revoker-only rule it breaks
 * (`error: 'revoker_rule'`), else undefined. Web API args may carry `view`/`blocks` as JSON strings.
 */
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
        view(c, args.view, '/view');
        if (isObj(args.view) && args.view.type !== 'modal')
          c.fail('views.open/update/push take a modal', '/view/type', SOURCES.modal);
        break;
      case 'views.publish':
        view(c, args.view, '/view');
        if (isObj(args.view) && args.view.type !== 'home')
          c.fail('views.publish takes a home view', '/view/type', SOURCES.home);
        break;
      case 'chat.postMessage':
      case 'chat.update':
      case 'chat.postEphemeral':
        message(c, args, '');
        break;
      case 'response_url':
        if (args.delete_original !== true) message(c, args, '');
        break;
      case 'command_ack':
        // An empty ack is fine; an ack with a body is a message.
        if (Object.keys(args).length > 0) message(c, args, '');
        break;
      case 'options':
        if (args.option_groups !== undefined)
          optionGroups(c, args.option_groups, '/option_groups', SOURCES.externalSelect);
        else options(c, args.options, '/options', 100, SOURCES.externalSelect);
        break;
      case 'view_ack':
        viewAck(c, args, ctx.submittedView);
        break;
    }
    // After the payload's own rules (their findings name the field), the method's required arguments.
    requiredArguments(c, kind, args);
  } catch (err) {
    if (err instanceof ViolationFound) return err.violation;
    throw err;
  }
  return c.notes[0];
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
