import { z } from 'zod';
import { asCodedError, ErrorCode } from '../../domain/errors.ts';
import type { Scope } from '../../domain/target.ts';
import type { RequestRecord } from '../../intake/types.ts';
import { gate } from '../access.ts';
import type { ModalView } from '../block-kit.ts';
import { explainError, showConfirmation } from '../confirm-flow.ts';
import type { ListenerDeps } from '../deps.ts';
import { escapeText, plainText, slackInput } from '../escape.ts';
import { ActionId, BlockId, targetBlockId } from '../ids.ts';
import { statusLine, targetText } from '../messages/request-summary.ts';
import {
  ConfirmMetadataSchema,
  DenyMetadataSchema,
  parseMetadata,
  ScopeMetadataSchema,
  ViewSubmissionSchema,
  viewValue,
} from '../payloads.ts';
import { resolveTarget } from '../resolve-target.ts';
import { withinDeadline } from '../slack-client.ts';
import { chosenConnection, scopeModalFor } from '../slack-connections.ts';
import { buildLoadingModal, buildNoticeModal } from '../views/modal-views.ts';
import { verifiedEmail } from './cancel-scheduled.ts';
import { handleLeakedSubmission } from './leaked-token.ts';
import { actorOf, SUBMIT_BUDGET_MS, type ViewAck, type ViewSubmissionArgs } from './view-submission-args.ts';

// Kept importable from here (register.ts, tests); defined in view-submission-args.ts so that
// leaked-token.ts needs nothing from this module (no import circle).
export { actorOf, SUBMIT_BUDGET_MS, type ViewAck, type ViewSubmissionArgs };

import { UserTokensMetadataSchema, userTokensView } from './modal-actions.ts';

const TextValue = z.object({ value: z.string().nullish() });
const SelectValue = z.union([
  z.object({ selected_option: z.object({ value: z.string().min(1) }) }),
  z.object({ value: z.string().min(1) }),
]);

/**
 * "Next" on the scope modal. Token scope: the picked user's tokens, each with its own Revoke button.
 * User, application, API: resolve, then confirm.
 */
export async function handleScopeSubmission(args: ViewSubmissionArgs, deps: ListenerDeps): Promise<void> {
  const body = ViewSubmissionSchema.safeParse(args.body);
  if (!body.success) return args.ack();
  const { view } = body.data;
  const meta = parseMetadata(ScopeMetadataSchema, view.private_metadata);
  const choice = meta?.scope;
  if (choice === 'leaked') {
    // A leaked token is one token: only someone who may request the token scope gets past the gate.
    const refused = await gate(deps, body.data.user.id, 'token', 'submit.leaked');
    if (refused)
      return args.ack({ response_action: 'update', view: buildNoticeModal('Not allowed', refused) });
    return handleLeakedSubmission(args, deps);
  }
  const scope: Scope | undefined = choice;
  if (!scope) return args.ack({ response_action: 'update', view: scopeModalFor(deps) });
  // The caller first (deny by default), then what they submitted.
  const refused = await gate(deps, body.data.user.id, scope, `submit.${scope}`);
  if (refused) return args.ack({ response_action: 'update', view: buildNoticeModal('Not allowed', refused) });
  // The connection the picker was shown for (several connections); gone from the configuration: ask again.
  const chosen = chosenConnection(deps, scope, scope === 'user' ? undefined : meta?.connection);
  if (!chosen) return args.ack({ response_action: 'update', view: scopeModalFor(deps, scope) });
  const block = targetBlockId(scope, chosen.connection);
  const selected = viewValue(view.state.values, block, ActionId.TargetSelect, SelectValue);
  if (!selected) {
    return args.ack({ response_action: 'errors', errors: { [block]: 'Pick what to revoke.' } });
  }
  const ref = 'selected_option' in selected ? selected.selected_option.value : selected.value;
  if (scope === 'token') {
    const tokens = userTokensView(deps, ref, 0, chosen.connection);
    const ready = await withinDeadline(tokens, SUBMIT_BUDGET_MS);
    if (ready.settled && 'value' in ready) return args.ack({ response_action: 'update', view: ready.value });
    await args.ack({ response_action: 'update', view: buildLoadingModal() });
    await args.client.views.update({ view_id: view.id, view: await tokens });
    return;
  }
  const lookup = resolveTarget(chosen.idp, scope, ref);
  const early = await withinDeadline(lookup, SUBMIT_BUDGET_MS);
  if (early.settled && 'value' in early && !early.value.ok) {
    const r = early.value;
    const hint = r.matches.length ? ` Closest: ${r.matches.slice(0, 3).join('; ')}` : '';
    return args.ack({
      response_action: 'errors',
      errors: { [block]: plainText(`${r.message}${hint}`, 500) },
    });
  }
  if (early.settled && 'error' in early) {
    return args.ack({
      response_action: 'errors',
      errors: { [block]: plainText(explainError(early.error), 500) },
    });
  }
  await args.ack({ response_action: 'update', view: buildLoadingModal() });
  try {
    const r = await lookup;
    if (!r.ok) {
      await args.client.views.update({
        view_id: view.id,
        view: buildNoticeModal('Not found', escapeText(r.message)),
      });
      return;
    }
    await showConfirmation(args.client, view.id, deps, r.target, r.label, chosen.connection);
  } catch (err) {
    await args.client.views.update({
      view_id: view.id,
      view: buildNoticeModal('Cannot revoke', escapeText(explainError(err))),
    });
  }
}

/** "Revoke all…" on a user's token list: confirm all tokens for that user. */
export async function handleUserTokensSubmission(
  args: ViewSubmissionArgs,
  deps: ListenerDeps,
): Promise<void> {
  const body = ViewSubmissionSchema.safeParse(args.body);
  if (!body.success) return args.ack();
  const meta = parseMetadata(UserTokensMetadataSchema, body.data.view.private_metadata);
  if (!meta) return args.ack();
  const refused = await gate(deps, body.data.user.id, 'user', 'submit.user_tokens');
  if (refused) return args.ack({ response_action: 'update', view: buildNoticeModal('Not allowed', refused) });
  await args.ack({ response_action: 'update', view: buildLoadingModal() });
  await showConfirmation(
    args.client,
    body.data.view.id,
    deps,
    { kind: 'user', userId: meta.userId },
    meta.label,
    // A user's tokens listed in one connection (token scope): "Revoke all" is theirs in that connection.
    meta.connection,
  );
}

export function submittedView(r: RequestRecord, connection?: string): ModalView {
  const where = connection ? ` in ${escapeText(connection, 40)}` : '';
  const next =
    r.state === 'pending_approval'
      ? 'It now waits for approval; you will get a DM with the outcome.'
      : 'You will get a DM with the outcome.';
  return buildNoticeModal(
    'Request submitted',
    `Request \`${escapeText(r.id, 128)}\` for *${targetText(r)}*${where}\n${statusLine(r)}\n${next}`,
  );
}

/** The confirmation's "Revoke": hand the request to the intake; refusals show on the reason field. */
export async function handleConfirmSubmission(args: ViewSubmissionArgs, deps: ListenerDeps): Promise<void> {
  const body = ViewSubmissionSchema.safeParse(args.body);
  if (!body.success) return args.ack();
  const { view, user } = body.data;
  const meta = parseMetadata(ConfirmMetadataSchema, view.private_metadata);
  const reason = viewValue(view.state.values, BlockId.Reason, ActionId.Reason, TextValue)?.value?.trim();
  if (!meta) {
    return args.ack({
      response_action: 'errors',
      errors: { [BlockId.Reason]: 'This dialog expired; run /revoke again.' },
    });
  }
  const refused = await gate(deps, user.id, meta.target.kind, 'confirm');
  if (refused) return args.ack({ response_action: 'errors', errors: { [BlockId.Reason]: refused } });
  if (!reason)
    return args.ack({ response_action: 'errors', errors: { [BlockId.Reason]: 'A reason is required.' } });
  const submission = deps.intake.submit({
    target: meta.target,
    reason: slackInput(reason, 2000),
    source: 'slack',
    requestedBy: actorOf(user),
    idempotencyKey: `slack:${view.id}`,
    context: { user: user.id },
    ...(meta.impact ? { impact: meta.impact } : {}),
    // The connection the confirmation named; none: the primary, or every connection for a user.
    ...(meta.connection ? { connection: meta.connection } : {}),
  });
  const early = await withinDeadline(submission, SUBMIT_BUDGET_MS);
  if (early.settled) {
    if ('value' in early)
      return args.ack({
        response_action: 'update',
        view: submittedView(early.value.request, meta.connection),
      });
    const e = asCodedError(early.error);
    deps.logger.info({ code: e.code, user: user.id }, 'slack: submit refused');
    return args.ack({
      response_action: 'errors',
      errors: { [BlockId.Reason]: plainText(explainError(e), 500) },
    });
  }
  await args.ack({ response_action: 'update', view: buildLoadingModal('Submitting your request…') });
  try {
    const { request } = await submission;
    await args.client.views.update({ view_id: view.id, view: submittedView(request, meta.connection) });
  } catch (err) {
    const title = asCodedError(err).code === ErrorCode.Forbidden ? 'Not allowed' : 'Not submitted';
    await args.client.views.update({
      view_id: view.id,
      view: buildNoticeModal(title, escapeText(explainError(err))),
    });
  }
}

/** The deny modal's submit: `intake.deny`; refusals (not an approver, already decided) show on the field. */
export async function handleDenySubmission(args: ViewSubmissionArgs, deps: ListenerDeps): Promise<void> {
  const body = ViewSubmissionSchema.safeParse(args.body);
  if (!body.success) return args.ack();
  const { view, user } = body.data;
  const meta = parseMetadata(DenyMetadataSchema, view.private_metadata);
  const reason = viewValue(
    view.state.values,
    BlockId.DenyReason,
    ActionId.DenyReason,
    TextValue,
  )?.value?.trim();
  if (!meta) return args.ack();
  if (!reason)
    return args.ack({ response_action: 'errors', errors: { [BlockId.DenyReason]: 'A reason is required.' } });
  // Slack waits 3 s for this ack: past the budget, ack with a "working" view and report in it later.
  // An HR/SCIM request's Deny is a stop vote: the intake identifies the voter at the IdP by this email.
  const denial = verifiedEmail(args.client, user.id).then((email) =>
    deps.intake.deny(
      meta.requestId,
      { ...actorOf(user), ...(email ? { email } : {}) },
      slackInput(reason, 2000),
    ),
  );
  const early = await withinDeadline(denial, SUBMIT_BUDGET_MS);
  const requestText = `Request \`${escapeText(meta.requestId, 128)}\``;
  // A stop vote that still needs others: say so instead of "denied".
  const recorded = (r: {
    state: string;
    cancelVotes?: unknown[] | undefined;
    cancelApprovals?: number | undefined;
  }) =>
    buildNoticeModal(
      'Denial recorded',
      `${requestText}: your denial is recorded (${r.cancelVotes?.length ?? 1} of ${r.cancelApprovals ?? 2}). ` +
        'A second admin or approver must deny or cancel it too.',
    );
  if (early.settled) {
    if ('value' in early) {
      if (early.value.state !== 'pending_approval') return args.ack();
      return args.ack({ response_action: 'update', view: recorded(early.value) });
    }
    return args.ack({
      response_action: 'errors',
      errors: { [BlockId.DenyReason]: plainText(explainError(early.error), 500) },
    });
  }
  await args.ack({ response_action: 'update', view: buildLoadingModal('Recording your denial…') });
  const done = await denial.then(
    (r) =>
      r.state === 'pending_approval'
        ? recorded(r)
        : buildNoticeModal('Request denied', `${requestText} was denied.`),
    (err: unknown) => buildNoticeModal('Not denied', `${requestText}: ${escapeText(explainError(err))}`),
  );
  await args.client.views.update({ view_id: view.id, view: done });
}
