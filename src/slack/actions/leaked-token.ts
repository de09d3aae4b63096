import { z } from 'zod';
import { asCodedError } from '../../domain/errors.ts';
import { type LeakedTokenReport, NOT_VISIBLE } from '../../intake/leaked-token-service.ts';
import type { ModalView } from '../block-kit.ts';
import { explainError } from '../confirm-flow.ts';
import type { ListenerDeps } from '../deps.ts';
import { escapeText, slackInput } from '../escape.ts';
import { ActionId, BlockId } from '../ids.ts';
import { parseMetadata, ViewSubmissionSchema, viewValue } from '../payloads.ts';
import { withinDeadline } from '../slack-client.ts';
import { buildLeakedConfirmModal } from '../views/leaked-modal.ts';
import { buildLoadingModal, buildNoticeModal } from '../views/modal-views.ts';
import { actorOf, SUBMIT_BUDGET_MS, type ViewSubmissionArgs } from './view-submission-args.ts';

const TextValue = z.object({ value: z.string().nullish() });
const LeakedMetadataSchema = z.object({ handle: z.string().min(16).max(64) });

/**
 * "Next" with a pasted token: introspect, hold the value in memory, show what was found. The value is
 * never part of an answer to Slack, a log line or an error text (errors name the rule, not the input).
 */
export async function handleLeakedSubmission(args: ViewSubmissionArgs, deps: ListenerDeps): Promise<void> {
  const body = ViewSubmissionSchema.safeParse(args.body);
  const leaked = deps.leaked;
  if (!body.success || !leaked) return args.ack();
  const { view, user } = body.data;
  const value = viewValue(
    view.state.values,
    BlockId.LeakedToken,
    ActionId.LeakedToken,
    TextValue,
  )?.value?.trim();
  const fieldError = (text: string) =>
    args.ack({ response_action: 'errors', errors: { [BlockId.LeakedToken]: text.slice(0, 500) } });
  if (!value) return fieldError('Paste the token.');
  const inspection = leaked.service.inspect(value, actorOf(user));
  const early = await withinDeadline(inspection, SUBMIT_BUDGET_MS);
  if (early.settled && 'error' in early) return fieldError(explainError(early.error));
  // Inactive to every configured client is not "nothing to revoke" (RFC 7662 §2.2): the confirmation says
  // so, and the revocation runs with each client anyway.
  const next = (r: LeakedTokenReport): ModalView =>
    buildLeakedConfirmModal(r, leaked.hold.put(value, user.id));
  if (early.settled) return args.ack({ response_action: 'update', view: next(early.value) });
  await args.ack({ response_action: 'update', view: buildLoadingModal('Asking the identity provider…') });
  try {
    await args.client.views.update({ view_id: view.id, view: next(await inspection) });
  } catch (err) {
    deps.logger.warn({ err: asCodedError(err).code }, 'slack: leaked token introspection failed');
    await args.client.views.update({
      view_id: view.id,
      view: buildNoticeModal('Cannot revoke', escapeText(explainError(err))),
    });
  }
}

/** "Revoke" on the leaked-token confirmation: revoke by value at once, verified, audited by hash. */
export async function handleLeakedConfirmSubmission(
  args: ViewSubmissionArgs,
  deps: ListenerDeps,
): Promise<void> {
  const body = ViewSubmissionSchema.safeParse(args.body);
  const leaked = deps.leaked;
  if (!body.success || !leaked) return args.ack();
  const { view, user } = body.data;
  const reasonError = (text: string) =>
    args.ack({ response_action: 'errors', errors: { [BlockId.Reason]: text.slice(0, 500) } });
  const reason = viewValue(view.state.values, BlockId.Reason, ActionId.Reason, TextValue)?.value?.trim();
  if (!reason) return reasonError('A reason is required.');
  const meta = parseMetadata(LeakedMetadataSchema, view.private_metadata);
  const value = meta && leaked.hold.take(meta.handle, user.id);
  if (!value)
    return reasonError(
      'This dialog expired (the token is kept 15 minutes, in one place); run /revoke leaked and paste it again.',
    );
  const revocation = leaked.service.revoke(value, {
    requestedBy: actorOf(user),
    reason: slackInput(reason, 2000),
  });
  const done = (o: Awaited<typeof revocation>): ModalView => {
    const id = `\`${escapeText(o.report.tokenId, 64)}\``;
    if (o.outcome === 'revoked')
      return buildNoticeModal(
        'Token revoked',
        `${id} is revoked: the identity provider now says it is inactive. Recorded in the audit log.`,
      );
    if (o.outcome === 'still_active')
      return buildNoticeModal(
        'Revoked, not verified',
        `${id} was revoked, but the identity provider still says it is active. Check with its administrators.`,
      );
    return buildNoticeModal(
      'Could not confirm',
      `${id}: could not confirm: ${NOT_VISIBLE}. It was revoked with each configured client anyway. Recorded in the audit log.`,
    );
  };
  const early = await withinDeadline(revocation, SUBMIT_BUDGET_MS);
  if (early.settled && 'error' in early) return reasonError(explainError(early.error));
  if (early.settled) return args.ack({ response_action: 'update', view: done(early.value) });
  await args.ack({ response_action: 'update', view: buildLoadingModal('Revoking…') });
  try {
    await args.client.views.update({ view_id: view.id, view: done(await revocation) });
  } catch (err) {
    await args.client.views.update({
      view_id: view.id,
      view: buildNoticeModal('Not revoked', escapeText(explainError(err))),
    });
  }
}
