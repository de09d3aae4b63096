import type { Checker } from './checker.ts';
import { DOCS, type Obj, type PayloadKind, SOURCES } from './sources.ts';

const isId = (v: unknown): boolean => typeof v === 'string' && v.trim() !== '';

/**
 * Each method's required arguments, from its page (Arguments → Required): Slack answers a call without
 * them `invalid_arguments`.
 */
export function requiredArguments(c: Checker, kind: PayloadKind, args: Obj): void {
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
      if (typeof args.external_id === 'string') {
        need(
          args.external_id.length <= 255,
          'external_id ≤ 255 characters',
          '/external_id',
          SOURCES.viewsUpdate,
        );
      }
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
