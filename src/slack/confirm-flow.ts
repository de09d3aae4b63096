import { asCodedError } from '../domain/errors.ts';
import type { Target } from '../domain/target.ts';
import { asInteractive } from '../identity/idp-call-context.ts';
import type { ListenerDeps } from './deps.ts';
import { escapeText } from './escape.ts';
import type { ListenerClient } from './slack-client.ts';
import { everywhereText, severalConnections } from './slack-connections.ts';
import { buildConfirmModal } from './views/confirm-modal.ts';
import { buildNoticeModal } from './views/modal-views.ts';

/** A coded error as one line a person can act on: never a stack trace, never a token value. */
export function explainError(err: unknown): string {
  const e = asCodedError(err);
  if (e.code.startsWith('idp_')) {
    return `The identity provider could not answer (${e.code}). Try again in a minute.`;
  }
  if (e.code === 'revoker_unknown_error') return 'Something went wrong on our side; it has been logged.';
  return e.message;
}

/**
 * Replaces an open (loading) modal with the confirmation for `target`, after a dry run through the
 * intake (in `connection`, when the target belongs to one). Any failure becomes a notice in the same modal.
 */
export async function showConfirmation(
  client: ListenerClient,
  viewId: string,
  deps: ListenerDeps,
  target: Target,
  label: string,
  connection?: string,
): Promise<void> {
  try {
    // Someone is looking at the dialog: the dry run draws from the budget's reserved share.
    const plan = await asInteractive(() =>
      connection === undefined ? deps.intake.preview(target) : deps.intake.preview(target, connection),
    );
    // Several connections: say where it runs (a user named in no connection runs in every one).
    const where =
      connection !== undefined
        ? { connection }
        : target.kind === 'user' && severalConnections(deps)
          ? { everywhere: everywhereText(deps) }
          : {};
    await client.views.update({
      view_id: viewId,
      view: buildConfirmModal({ target, label, plan, ...where }),
    });
  } catch (err) {
    deps.logger.warn({ err: asCodedError(err).code, target: target.kind }, 'slack: preview failed');
    await client.views
      .update({ view_id: viewId, view: buildNoticeModal('Cannot revoke', escapeText(explainError(err))) })
      .catch((e: unknown) => deps.logger.warn({ err: asCodedError(e).code }, 'slack: views.update failed'));
  }
}
