import type { Target } from '../../domain/target.ts';
import type { RevocationPlan } from '../../identity/port.ts';
import type { KnownBlock, ModalView } from '../block-kit.ts';
import { context, plain, section } from '../block-kit.ts';
import { escapeText, jsonText } from '../escape.ts';
import { ActionId, BlockId, CallbackId } from '../ids.ts';
import type { ConfirmMetadata } from '../payloads.ts';

const WHAT_HAPPENS: Record<Target['kind'], string> = {
  token: 'This token stops working at once',
  user: 'Every access and refresh token of this user stops working at once',
  application: 'Every access and refresh token issued to this application stops working at once',
  resourceServer: 'Every access and refresh token issued for this API stops working at once',
};

export function impactText(plan: Pick<RevocationPlan, 'tokenCount' | 'userCount'>): string {
  const tokens =
    plan.tokenCount === undefined
      ? 'an unknown number of tokens (the identity provider cannot count them in advance)'
      : `*${plan.tokenCount}* token${plan.tokenCount === 1 ? '' : 's'}`;
  return `${tokens} of *${plan.userCount}* user${plan.userCount === 1 ? '' : 's'}`;
}

/** The required reason of a confirmation (audited; 3–2000 characters). */
export function reasonInput(placeholder: string): KnownBlock {
  return {
    type: 'input',
    block_id: BlockId.Reason,
    label: plain('Reason'),
    element: {
      type: 'plain_text_input',
      action_id: ActionId.Reason,
      multiline: true,
      min_length: 3,
      max_length: 2000,
      placeholder: plain(placeholder),
    },
  };
}

/** The last step: what will happen, how far it reaches, and a required reason. */
export function buildConfirmModal(input: {
  target: Target;
  label: string;
  plan: RevocationPlan;
  /** The connection the target belongs to (several connections): named, and submitted with it. */
  connection?: string;
  /** A user revocation with several connections: where it runs ("every connected system: …"). */
  everywhere?: string;
}): ModalView {
  const { tokenCount, userCount } = input.plan;
  const where = input.connection
    ? ` in *${escapeText(input.connection, 40)}*`
    : input.everywhere
      ? ` in ${escapeText(input.everywhere, 1000)}`
      : '';
  const metadata: ConfirmMetadata = {
    target: input.target,
    label: jsonText(input.label, 500),
    ...(input.connection ? { connection: input.connection } : {}),
    // The impact the requester was shown travels with the submission: the intake need not plan again.
    impact: { userCount, ...(tokenCount !== undefined ? { tokenCount } : {}) },
  };
  return {
    type: 'modal',
    callback_id: CallbackId.Confirm,
    title: plain('Revoke Tokens'),
    submit: plain('Revoke'),
    close: plain('Cancel'),
    private_metadata: JSON.stringify(metadata),
    blocks: [
      section(`You are about to revoke *${escapeText(input.label, 500)}*${where}.`),
      section(
        `:warning: ${WHAT_HAPPENS[input.target.kind]}: UserInfo calls and refreshes fail, and the user must sign in again.`,
      ),
      section(`This reaches ${impactText(input.plan)}.`),
      reasonInput('Why? (kept in the audit log)'),
      context('Your workflow may require approvals before anything is revoked.'),
    ],
  };
}
