import { CONNECTION_ID } from '../../connections/connection.ts';
import { asCodedError } from '../../domain/errors.ts';
import type { Scope } from '../../domain/target.ts';
import type { RequestRecord } from '../../intake/types.ts';
import { gate, refuse } from '../access.ts';
import { explainError, showConfirmation } from '../confirm-flow.ts';
import type { ListenerDeps } from '../deps.ts';
import { escapeText } from '../escape.ts';
import { connectionLines } from '../messages/connection-lines.ts';
import { statusLine, targetText } from '../messages/request-summary.ts';
import { SlashCommandSchema } from '../payloads.ts';
import { echoable, type Resolution, resolveTarget } from '../resolve-target.ts';
import { type ListenerClient, type RespondFn, withinDeadline } from '../slack-client.ts';
import {
  chosenConnection,
  connectionsOf,
  connectionsOffering,
  scopeModalFor,
  severalConnections,
} from '../slack-connections.ts';
import { buildLoadingModal, buildNoticeModal } from '../views/modal-views.ts';
import { CONNECTION_USAGE, parseRevokeCommand, USAGE } from './parse-revoke-command.ts';

export interface RevokeCommandArgs {
  command: unknown;
  ack: (response?: { response_type: 'ephemeral'; text: string }) => Promise<void>;
  respond: RespondFn;
  client: ListenerClient;
}

/** How long we wait for a look-up before spending the trigger_id on a loading modal. */
export const LOOKUP_BUDGET_MS = 1200;

/** The usage; with several connections, how to name one. */
function usage(deps: ListenerDeps): string {
  return severalConnections(deps) ? `${USAGE}\n${CONNECTION_USAGE}` : USAGE;
}

function resolutionText(r: Extract<Resolution, { ok: false }>, deps: ListenerDeps): string {
  const matches = r.matches.length
    ? `\n*Closest matches*\n${r.matches.map((m) => `• ${escapeText(m, 300)}`).join('\n')}`
    : '';
  return `${escapeText(r.message, 500)}${matches}\n\n${usage(deps)}`;
}

/**
 * The connection `--idp` names for `scope` (default: the primary, or the first offering it), or why not:
 * the configured ones are named; what was typed is repeated only when it can be a connection id.
 */
function commandConnection(
  deps: ListenerDeps,
  scope: Scope,
  id: string | undefined,
): { idp: ListenerDeps['idp']; connection?: string } | { refusal: string } {
  const all = connectionsOf(deps);
  // One connection: naming it changes nothing; naming another is refused as with several.
  const chosen =
    all.length === 1
      ? id === undefined || id === all[0]!.id
        ? { idp: deps.idp }
        : undefined
      : chosenConnection(deps, scope, id);
  if (chosen) return chosen;
  const named = id !== undefined && CONNECTION_ID.test(id) ? `“${id}”` : 'that name';
  const offering = connectionsOffering(deps, scope).map((c) => c.id);
  const configured = all.map((c) => c.id).join(', ');
  return {
    refusal: all.some((c) => c.id === id)
      ? `The connection ${named} cannot revoke this (offered by: ${offering.join(', ') || 'none'}).`
      : `No connection ${named} (configured: ${configured}).`,
  };
}

/** Request ids as the intake makes them (`req_` + 20 base64url characters). */
const REQUEST_ID = /^req_[A-Za-z0-9_-]{20}$/;

export function statusText(r: RequestRecord | undefined, requestId: string): string {
  // Unknown, not yours and malformed answer alike; what was typed is repeated only if it cannot be a token.
  if (!r)
    return echoable(requestId) ? `No request \`${escapeText(requestId, 128)}\`.` : 'No request has that id.';
  const lines = connectionLines(r, 2900);
  return `Request \`${escapeText(r.id, 128)}\` — ${targetText(r)}\n${statusLine(r)}${lines ? `\n${lines}` : ''}`;
}

/**
 * `/revoke [token|user|app|api|status|help] …`. Acks first; look-ups happen after the ack, and the
 * modal opens with the trigger_id while it is still valid (loading view, then views.update).
 */
export async function handleRevokeCommand(args: RevokeCommandArgs, deps: ListenerDeps): Promise<void> {
  const parsed = SlashCommandSchema.safeParse(args.command);
  if (!parsed.success) {
    await args.ack({ response_type: 'ephemeral', text: 'That command payload was not understood.' });
    return;
  }
  const command = parsed.data;
  const cmd = parseRevokeCommand(command.text);
  switch (cmd.kind) {
    case 'help':
      await args.ack({ response_type: 'ephemeral', text: usage(deps) });
      return;
    case 'invalid':
      await args.ack({ response_type: 'ephemeral', text: `${escapeText(cmd.message)}\n\n${usage(deps)}` });
      return;
    case 'modal':
    case 'leaked': {
      const refused = await gate(deps, command.user_id, cmd.kind === 'leaked' ? 'token' : 'any', 'command');
      if (refused) return args.ack({ response_type: 'ephemeral', text: refused });
      const ignored =
        cmd.kind === 'leaked' && cmd.ignored
          ? 'The text after `/revoke leaked` was ignored (never paste a token into a command): paste it into the dialog.'
          : undefined;
      await args.ack(ignored ? { response_type: 'ephemeral', text: ignored } : undefined);
      await args.client.views.open({
        trigger_id: command.trigger_id,
        view: scopeModalFor(deps, cmd.kind === 'leaked' && deps.leaked ? 'leaked' : undefined),
      });
      return;
    }
    case 'status': {
      await args.ack();
      try {
        // Outsiders are refused before anything is read; for the others, unknown and not theirs answer
        // alike, so ids cannot be probed.
        const user = command.user_id;
        if ((await deps.access.requestableScopes(user)).length === 0 && !(await deps.access.isStaff(user))) {
          refuse(deps, user, 'status');
          await args.respond({ response_type: 'ephemeral', text: deps.access.refusal });
          return;
        }
        // Only a well-formed id is looked up; anything else gets the same answer as an unknown one.
        const found = REQUEST_ID.test(cmd.requestId) ? await deps.intake.get(cmd.requestId) : undefined;
        const r = found && (await deps.access.maySee(user, found)) ? found : undefined;
        await args.respond({ response_type: 'ephemeral', text: statusText(r, cmd.requestId) });
      } catch (err) {
        await args.respond({ response_type: 'ephemeral', text: escapeText(explainError(err)) });
      }
      return;
    }
    default: {
      const scope: Scope = cmd.kind;
      const refused = await gate(deps, command.user_id, scope, `command.${scope}`);
      if (refused) return args.ack({ response_type: 'ephemeral', text: refused });
      // The user scope runs in every connection (the person is found in the primary); the others in one.
      const picked = commandConnection(deps, scope, cmd.kind === 'user' ? undefined : cmd.connection);
      if ('refusal' in picked) {
        return args.ack({
          response_type: 'ephemeral',
          text: `${escapeText(picked.refusal)}\n\n${usage(deps)}`,
        });
      }
      await args.ack();
      const ref = cmd.kind === 'token' ? cmd.tokenId : cmd.ref;
      const userRef = cmd.kind === 'token' ? cmd.user : undefined;
      const lookup = resolveTarget(picked.idp, scope, ref, userRef);
      const early = await withinDeadline(lookup, LOOKUP_BUDGET_MS);
      if (early.settled && 'value' in early && !early.value.ok) {
        await args.respond({ response_type: 'ephemeral', text: resolutionText(early.value, deps) });
        return;
      }
      if (early.settled && 'error' in early) {
        deps.logger.warn({ err: asCodedError(early.error).code }, 'slack: /revoke look-up failed');
        await args.respond({ response_type: 'ephemeral', text: escapeText(explainError(early.error)) });
        return;
      }
      // Resolved, or still resolving: spend the trigger_id now, fill the modal in afterwards.
      const opened = await args.client.views.open({
        trigger_id: command.trigger_id,
        view: buildLoadingModal(),
      });
      const viewId = opened.view?.id;
      if (!viewId) return;
      let resolution: Resolution;
      try {
        resolution = await lookup;
      } catch (err) {
        await args.client.views.update({
          view_id: viewId,
          view: buildNoticeModal('Cannot revoke', escapeText(explainError(err))),
        });
        return;
      }
      if (!resolution.ok) {
        await args.client.views.update({
          view_id: viewId,
          view: buildNoticeModal('Not found', resolutionText(resolution, deps)),
        });
        return;
      }
      await showConfirmation(
        args.client,
        viewId,
        deps,
        resolution.target,
        resolution.label,
        picked.connection,
      );
    }
  }
}
