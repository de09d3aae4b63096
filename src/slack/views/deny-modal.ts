import type { ModalView } from '../block-kit.ts';
import { plain, section } from '../block-kit.ts';
import { escapeText } from '../escape.ts';
import { ActionId, BlockId, CallbackId } from '../ids.ts';
import type { DenyMetadata } from '../payloads.ts';

export function buildDenyModal(input: DenyMetadata): ModalView {
  return {
    type: 'modal',
    callback_id: CallbackId.Deny,
    title: plain('Deny revocation'),
    submit: plain('Deny'),
    close: plain('Cancel'),
    private_metadata: JSON.stringify(input),
    blocks: [
      section(`Deny request \`${escapeText(input.requestId, 128)}\`?`),
      {
        type: 'input',
        block_id: BlockId.DenyReason,
        label: plain('Reason'),
        element: {
          type: 'plain_text_input',
          action_id: ActionId.DenyReason,
          multiline: true,
          max_length: 2000,
        },
      },
    ],
  };
}
