import { z } from 'zod';
import { CONNECTION_ID } from '../../connections/connection.ts';
import { asCodedError } from '../../domain/errors.ts';
import { gate } from '../access.ts';
import type { ModalView } from '../block-kit.ts';
import { explainError, showConfirmation } from '../confirm-flow.ts';
import type { ListenerDeps } from '../deps.ts';
import { escapeText } from '../escape.ts';
import { BlockActionsSchema, CHOICES, parseMetadata, ScopeMetadataSchema } from '../payloads.ts';
import { resolveTarget } from '../resolve-target.ts';
import { type ListenerClient, updateClickedView } from '../slack-client.ts';
import { chosenConnection, scopeModalFor } from '../slack-connections.ts';
import { buildLoadingModal, buildNoticeModal } from '../views/modal-views.ts';
import { buildUserTokensModal } from '../views/user-tokens-modal.ts';

export interface BlockActionArgs {
  ack: () => Promise<void>;
  body: unknown;
  action: unknown;
  client: ListenerClient;
}

const RadioActionSchema = z.object({ selected_option: z.object({ value: z.enum(CHOICES) }) });
/** external_select sends `selected_option`; plain_text_input (IdPs without search) sends `value`. */
const TargetActionSchema = z.union([
  z.object({ selected_option: z.object({ value: z.string().min(1).max(256) }) }),
  z.object({ value: z.string().min(1).max(256) }),
]);
const ButtonActionSchema = z.object({ value: z.string().min(1).max(256) });

/** Radio change in the scope modal: re-render with the picker for that scope. */
export async function handleScopeSelect(args: BlockActionArgs, deps: ListenerDeps): Promise<void> {
  await args.ack();
  const body = BlockActionsSchema.safeParse(args.body);
  const action = RadioActionSchema.safeParse(args.action);
  if (!body.success || !action.success || !body.data.view) return;
  const scope = action.data.selected_option.value;
  // A leaked token is one token: the token scope's requesters may paste one.
  const refused = await gate(deps, body.data.user.id, scope === 'leaked' ? 'token' : scope, `scope.${scope}`);
  if (refused) {
    await updateClickedView(args.client, body.data.view, buildNoticeModal('Not allowed', refused));
    return;
  }
  await updateClickedView(args.client, body.data.view, scopeModalFor(deps, scope));
}

const ConnectionActionSchema = z.object({ selected_option: z.object({ value: z.string().min(1).max(64) }) });

/**
 * Another connection chosen for an application, API or token (several connections): re-render with that
 * connection's picker (a new block id, so nothing picked in the other connection carries over).
 */
export async function handleConnectionSelect(args: BlockActionArgs, deps: ListenerDeps): Promise<void> {
  await args.ack();
  const body = BlockActionsSchema.safeParse(args.body);
  const action = ConnectionActionSchema.safeParse(args.action);
  if (!body.success || !action.success || !body.data.view) return;
  const scope = parseMetadata(ScopeMetadataSchema, body.data.view.private_metadata)?.scope;
  if (!scope || scope === 'leaked' || scope === 'user') return;
  const refused = await gate(deps, body.data.user.id, scope, `connection.${scope}`);
  if (refused) {
    await updateClickedView(args.client, body.data.view, buildNoticeModal('Not allowed', refused));
    return;
  }
  const connection = action.data.selected_option.value;
  await updateClickedView(args.client, body.data.view, scopeModalFor(deps, scope, connection));
}

/**
 * The user's tokens tab for a picked reference (an IdP user id, or what was typed), or a notice saying
 * why not. Shared by the picker's dispatch action and the scope modal's "Next".
 */
export async function userTokensView(
  deps: ListenerDeps,
  ref: string,
  page = 0,
  /** The connection the user is looked up in (a token scope's choice); absent: the primary. */
  connection?: string,
): Promise<ModalView> {
  const chosen = connection === undefined ? undefined : chosenConnection(deps, 'token', connection);
  if (connection !== undefined && !chosen)
    return buildNoticeModal('Not found', 'That connection is not configured.');
  const idp = chosen?.idp ?? deps.idp;
  const { capabilities } = idp;
  try {
    const resolution = await resolveTarget(idp, 'user', ref);
    if (!resolution.ok || resolution.target.kind !== 'user') {
      return buildNoticeModal('Not found', resolution.ok ? '' : escapeText(resolution.message));
    }
    const user = await idp.getUser(resolution.target.userId);
    const tokens = capabilities.listTokens ? await idp.listUserTokens(user.id) : [];
    return buildUserTokensModal({
      user,
      tokens,
      listed: capabilities.listTokens,
      canRevokeToken: capabilities.scopes.token,
      canRevokeUser: capabilities.scopes.user,
      page,
      ...(chosen?.connection ? { connection: chosen.connection } : {}),
    });
  } catch (err) {
    deps.logger.warn({ err: asCodedError(err).code }, 'slack: user look-up failed');
    return buildNoticeModal('Cannot revoke', escapeText(explainError(err)));
  }
}

/** A user picked (token or user scope): show their tokens, each with a Revoke button. */
export async function handleTargetSelect(args: BlockActionArgs, deps: ListenerDeps): Promise<void> {
  await args.ack();
  const body = BlockActionsSchema.safeParse(args.body);
  const action = TargetActionSchema.safeParse(args.action);
  if (!body.success || !action.success || !body.data.view) return;
  const meta = parseMetadata(ScopeMetadataSchema, body.data.view.private_metadata);
  if (meta?.scope !== 'user' && meta?.scope !== 'token') return;
  const refused = await gate(deps, body.data.user.id, meta.scope, 'token_list');
  if (refused) {
    await updateClickedView(args.client, body.data.view, buildNoticeModal('Not allowed', refused));
    return;
  }
  const ref = 'selected_option' in action.data ? action.data.selected_option.value : action.data.value;
  const view = await userTokensView(deps, ref, 0, meta.scope === 'token' ? meta.connection : undefined);
  await updateClickedView(args.client, body.data.view, view);
}

export const UserTokensMetadataSchema = z.object({
  userId: z.string().min(1).max(256),
  label: z.string().max(500),
  page: z.number().int().min(0).max(10_000).optional(),
  /** The connection the user and tokens are in (several connections, token scope). */
  connection: z.string().regex(CONNECTION_ID).optional(),
});

/** Previous / Next on a user's token list: the same list, another page (re-read, so it is current). */
export async function handleTokensPage(args: BlockActionArgs, deps: ListenerDeps): Promise<void> {
  await args.ack();
  const body = BlockActionsSchema.safeParse(args.body);
  const action = ButtonActionSchema.safeParse(args.action);
  if (!body.success || !action.success || !body.data.view) return;
  const meta = parseMetadata(UserTokensMetadataSchema, body.data.view.private_metadata);
  const page = Number(action.data.value);
  if (!meta || !Number.isInteger(page) || page < 0) return;
  const refused = await gate(deps, body.data.user.id, 'token', 'token_list');
  if (refused) {
    await updateClickedView(args.client, body.data.view, buildNoticeModal('Not allowed', refused));
    return;
  }
  const view = await userTokensView(deps, meta.userId, page, meta.connection);
  await updateClickedView(args.client, body.data.view, view);
}

/** Revoke button on one token: push the confirmation on top of the token list. */
export async function handleRevokeTokenButton(args: BlockActionArgs, deps: ListenerDeps): Promise<void> {
  await args.ack();
  const body = BlockActionsSchema.safeParse(args.body);
  const action = ButtonActionSchema.safeParse(args.action);
  if (!body.success || !action.success || !body.data.trigger_id) return;
  const meta = parseMetadata(UserTokensMetadataSchema, body.data.view?.private_metadata);
  if (!meta) return;
  const refused = await gate(deps, body.data.user.id, 'token', 'revoke_token');
  if (refused) {
    await args.client.views.push({
      trigger_id: body.data.trigger_id,
      view: buildNoticeModal('Not allowed', refused),
    });
    return;
  }
  const pushed = await args.client.views.push({
    trigger_id: body.data.trigger_id,
    view: buildLoadingModal(),
  });
  if (!pushed.view?.id) return;
  await showConfirmation(
    args.client,
    pushed.view.id,
    deps,
    { kind: 'token', userId: meta.userId, tokenId: action.data.value },
    `token ${action.data.value} of ${meta.label}`,
    meta.connection,
  );
}
