import { SCOPE_LABELS, SCOPES, type Scope } from '../../domain/target.ts';
import type { Capabilities } from '../../identity/port.ts';
import type { KnownBlock, ModalView } from '../block-kit.ts';
import { context, mrkdwn, plain, section } from '../block-kit.ts';
import { escapeText, plainText } from '../escape.ts';
import { ActionId, BlockId, CallbackId, targetBlockId } from '../ids.ts';
import type { Choice, ScopeMetadata } from '../payloads.ts';

/** The radio label of the leaked-token choice (also what the README calls it). */
/** Shown under the paste field: what to do with a token longer than Slack allows in one input. */
export const LEAKED_TOO_LONG_HINT =
  'Slack accepts at most 3,000 characters here. For a longer token, run `revoker revoke leaked` on a shell (it reads the token from standard input).';

export const LEAKED_LABEL = 'A leaked token (paste it)';

const PICKER_LABEL: Record<Scope, string> = {
  token: 'User whose token to revoke',
  user: 'User',
  application: 'Application',
  resourceServer: 'Resource server (API)',
};

/**
 * The first step of the console's "Revoke Tokens" dialog: which scope, then which target. Scopes the
 * IdP cannot revoke are not offered, and the modal says why.
 */
export function buildScopeModal(input: {
  idpName: string;
  capabilities: Capabilities;
  scope?: Choice;
  /** The IdP can revoke a token by its value (introspection + revocation): offer "A leaked token". */
  leaked?: boolean;
  /**
   * Several connections, and a scope that belongs to one (application, API, token): the connections that
   * offer it (`label`: id and kind) and the one chosen, whose picker is shown. Absent: no choice (as before).
   */
  connections?: { offered: { id: string; label: string }[]; chosen: string };
  /** Several connections, user scope: where it runs ("every connected system: …") and where the person is picked. */
  everywhere?: { text: string; pickedIn: string };
  /** Whether the picker can search (the chosen connection's); default `capabilities.search`. */
  search?: boolean;
}): ModalView {
  const { capabilities, scope } = input;
  const chosen = input.connections?.chosen;
  const offered: Choice[] = [
    ...SCOPES.filter((s) => capabilities.scopes[s]),
    ...(input.leaked ? ['leaked' as const] : []),
  ];
  const blocks: KnownBlock[] = [section('*What do you want to revoke?*')];
  if (offered.length > 0) {
    const label = (c: Choice) => (c === 'leaked' ? LEAKED_LABEL : SCOPE_LABELS[c]);
    const options = offered.map((s) => ({ text: plain(label(s)), value: s }));
    blocks.push({
      type: 'actions',
      block_id: BlockId.Scope,
      elements: [
        {
          type: 'radio_buttons',
          action_id: ActionId.ScopeSelect,
          options,
          ...(scope && offered.includes(scope) ? { initial_option: options[offered.indexOf(scope)]! } : {}),
        },
      ],
    });
  }
  const missing = SCOPES.filter((s) => !capabilities.scopes[s]);
  for (const s of missing) {
    const why = capabilities.unsupportedReasons[s] ?? `${input.idpName} cannot do this.`;
    blocks.push(context(`:no_entry_sign: Not offered: ${SCOPE_LABELS[s]}. ${escapeText(why, 500)}`));
  }
  if (scope === 'leaked' && input.leaked) {
    blocks.push(
      {
        type: 'input',
        block_id: BlockId.LeakedToken,
        label: plain('The leaked token'),
        // Slack lets nobody type or paste more than 3,000 characters into one input, and a JWT with many
        // claims is longer (Revoker accepts up to 16,384): say so, and where such a token can go instead.
        hint: plain(LEAKED_TOO_LONG_HINT),
        element: {
          type: 'plain_text_input',
          action_id: ActionId.LeakedToken,
          multiline: true,
          // Slack's limit for plain_text_input (Block Kit reference: plain_text_input max_length ≤ 3000).
          max_length: 3000,
          placeholder: plain('Paste the access or refresh token'),
        },
      },
      context(
        'Revoker asks the identity provider whose token it is (introspection) and shows you that before anything happens. It never shows, stores or logs the token itself.',
      ),
    );
  }
  if (scope && scope !== 'leaked' && capabilities.scopes[scope]) {
    if (input.connections) blocks.push(connectionSelect(input.connections));
    if (scope === 'user' && input.everywhere) {
      blocks.push(
        context(
          `:globe_with_meridians: Runs in ${escapeText(input.everywhere.text, 1000)}. The person is picked in ${escapeText(input.everywhere.pickedIn, 100)}.`,
        ),
      );
    }
    // Picking a user shows their tokens (token scope needs it; user scope shows what will die).
    const dispatch = scope === 'token' || scope === 'user';
    blocks.push({
      type: 'input',
      block_id: targetBlockId(scope, chosen),
      label: plain(PICKER_LABEL[scope]),
      dispatch_action: dispatch,
      element:
        (input.search ?? capabilities.search)
          ? {
              type: 'external_select',
              action_id: ActionId.TargetSelect,
              placeholder: plain('Start typing to search'),
              min_query_length: 1,
            }
          : {
              type: 'plain_text_input',
              action_id: ActionId.TargetSelect,
              placeholder: plain(scope === 'user' || scope === 'token' ? 'User id or email' : 'Id or name'),
              ...(dispatch
                ? { dispatch_action_config: { trigger_actions_on: ['on_enter_pressed' as const] } }
                : {}),
            },
    });
  }
  // Every scope with a picker can be submitted: Slack refuses a view with an input block and no submit.
  // For token and user scope "Next" shows the user's tokens (as picking does, with dispatch_action).
  const canSubmit =
    scope === 'leaked' ? input.leaked === true : scope !== undefined && capabilities.scopes[scope];
  return {
    type: 'modal',
    callback_id: CallbackId.Scope,
    title: plain('Revoke Tokens'),
    close: plain('Cancel'),
    ...(canSubmit ? { submit: plain('Next') } : {}),
    private_metadata: JSON.stringify({
      scope,
      ...(chosen ? { connection: chosen } : {}),
    } satisfies ScopeMetadata),
    blocks,
  };
}

/** Which connection the target belongs to: changing it re-renders the dialog with that connection's picker. */
function connectionSelect(c: NonNullable<Parameters<typeof buildScopeModal>[0]['connections']>): KnownBlock {
  // Option texts are plain_text of at most 75 characters (Block Kit option object).
  const options = c.offered.map((o) => ({ text: plain(plainText(o.label)), value: o.id }));
  const initial = options.find((o) => o.value === c.chosen);
  return {
    type: 'section',
    block_id: BlockId.Connection,
    text: mrkdwn('*In which connected system?*'),
    accessory: {
      type: 'static_select',
      action_id: ActionId.ConnectionSelect,
      options,
      ...(initial ? { initial_option: initial } : {}),
    },
  };
}
