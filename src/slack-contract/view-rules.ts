import { blocks, combinedBlockText } from './block-rules.ts';
import type { Checker } from './checker.ts';
import { isObj, len, type Obj, parseJson, SOURCES } from './sources.ts';
import { id, mrkdwn, text } from './text-rules.ts';

export function view(c: Checker, v: unknown, path: string): void {
  if (!isObj(v)) c.fail('view must be an object', path, SOURCES.modal);
  c.focused = false;
  // Modal and Home views: external_id is unique per workspace, ≤ 255 characters.
  id(
    c,
    v.external_id,
    `${path}/external_id`,
    'external_id',
    v.type === 'home' ? SOURCES.home : SOURCES.modal,
  );
  if (v.type === 'home') {
    blocks(c, v.blocks, `${path}/blocks`, 100, 'home');
    if (len(v.private_metadata) > 3000)
      c.fail('private_metadata ≤ 3000 characters', `${path}/private_metadata`, SOURCES.home);
    id(c, v.callback_id, `${path}/callback_id`, 'callback_id', SOURCES.home);
    return;
  }
  if (v.type !== 'modal') c.fail('view type must be modal or home', `${path}/type`, SOURCES.modal);
  const o = { plainOnly: true, max: 24, source: SOURCES.modal };
  text(c, v.title, `${path}/title`, { ...o, what: 'modal title' });
  if (v.submit !== undefined) text(c, v.submit, `${path}/submit`, { ...o, what: 'modal submit' });
  if (v.close !== undefined) text(c, v.close, `${path}/close`, { ...o, what: 'modal close' });
  if (len(v.private_metadata) > 3000) {
    c.fail(
      `private_metadata ≤ 3000 characters (got ${len(v.private_metadata)})`,
      `${path}/private_metadata`,
      SOURCES.modal,
    );
  }
  id(c, v.callback_id, `${path}/callback_id`, 'callback_id', SOURCES.modal);
  blocks(c, v.blocks, `${path}/blocks`, 100, 'modal');
  const hasInput = (v.blocks as Obj[]).some((b) => b.type === 'input');
  if (hasInput && v.submit === undefined) {
    c.fail('submit is required when the view has an input block', `${path}/submit`, SOURCES.modal);
  }
}

/** chat.postMessage / update / postEphemeral / response_url / command ack: text or blocks, ≤ 50 blocks. */
export function message(c: Checker, args: Obj, path: string): void {
  // Slack needs text or blocks: with blocks, `text` is only the notification fallback (recommended,
  // accepted without: https://docs.slack.dev/reference/methods/chat.postMessage#text-blocks-attachments).
  const parsed = parseJson(args.blocks);
  const hasBlocks = Array.isArray(parsed) && parsed.length > 0;
  if (!hasBlocks && (typeof args.text !== 'string' || args.text.trim() === '')) {
    c.fail('a message needs a non-empty `text` or blocks', `${path}/text`, SOURCES.postMessage, 'no_text');
  }
  // Over 40,000 characters Slack truncates the text and answers ok with a warning
  // (https://docs.slack.dev/reference/methods/chat.postMessage#truncating): not a refusal.
  // Top-level `text` is mrkdwn unless `mrkdwn: false`.
  if (typeof args.text === 'string' && args.mrkdwn !== false) mrkdwn(c, args.text, `${path}/text`);
  if (args.blocks !== undefined) {
    blocks(c, args.blocks, `${path}/blocks`, 50, 'message');
    combinedBlockText(c, args.blocks, `${path}/blocks`);
  }
}

/** A view_submission's ack: clear, update/push a modal, or errors naming input blocks of the submitted view. */
export function viewAck(c: Checker, args: Obj, submitted: unknown): void {
  if (Object.keys(args).length === 0) return;
  switch (args.response_action) {
    case 'clear':
      return;
    case 'update':
    case 'push':
      view(c, args.view, '/view');
      // Only a modal answers a modal's submission (modals page, "Updating a modal" / "Pushing").
      if (isObj(args.view) && args.view.type !== 'modal') {
        c.fail(
          `response_action ${String(args.response_action)} takes a modal`,
          '/view/type',
          SOURCES.modalErrors,
        );
      }
      return;
    case 'errors': {
      if (!isObj(args.errors) || Object.keys(args.errors).length === 0) {
        c.fail('errors must map input block ids to messages', '/errors', SOURCES.modalErrors);
      }
      const all =
        isObj(submitted) && Array.isArray(submitted.blocks) ? (submitted.blocks as unknown[]) : undefined;
      const inputs = new Set(
        (all ?? []).filter((b): b is Obj => isObj(b) && b.type === 'input').map((b) => String(b.block_id)),
      );
      for (const [key, msg] of Object.entries(args.errors)) {
        if (all && !inputs.has(key)) {
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
