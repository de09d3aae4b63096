import type { ModalView } from '../block-kit.ts';
import { plain, section } from '../block-kit.ts';
import { escapeText, plainText } from '../escape.ts';
import { CallbackId } from '../ids.ts';

/** Shown while the IdP is asked something, so the `trigger_id` is used within its 3 seconds. */
export function buildLoadingModal(message = 'Asking the identity provider…'): ModalView {
  return {
    type: 'modal',
    callback_id: CallbackId.Loading,
    title: plain('Revoke Tokens'),
    close: plain('Close'),
    blocks: [section(`:hourglass_flowing_sand: ${escapeText(message)}`)],
  };
}

/** A closing notice (success, refusal, IdP unreachable). `mrkdwnText` must already be escaped. */
export function buildNoticeModal(title: string, mrkdwnText: string): ModalView {
  return {
    type: 'modal',
    callback_id: CallbackId.Notice,
    title: plain(plainText(title, 24)),
    close: plain('Close'),
    blocks: [section(mrkdwnText)],
  };
}
