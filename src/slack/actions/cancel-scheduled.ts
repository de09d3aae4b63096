import { z } from 'zod';
import { asCodedError, ForbiddenError } from '../../domain/errors.ts';
import { refuse } from '../access.ts';
import { explainError } from '../confirm-flow.ts';
import type { ListenerDeps } from '../deps.ts';
import { escapeText, slackInput } from '../escape.ts';
import { buildCancelledNotice } from '../messages/notify-messages.ts';
import { BlockActionsSchema } from '../payloads.ts';
import type { ListenerClient, RespondFn } from '../slack-client.ts';

export interface CancelScheduledArgs {
  ack: () => Promise<void>;
  body: unknown;
  action: unknown;
  respond: RespondFn;
  client: ListenerClient;
}

/**
 * The clicker's Slack email, only when Slack says it is confirmed (`is_email_confirmed`, users.info:
 * https://api.slack.com/methods/users.info), so the intake can find them at the IdP and tell them apart
 * from the person being offboarded. Unconfirmed or missing: undefined, and the intake refuses the vote.
 */
export async function verifiedEmail(client: ListenerClient, userId: string): Promise<string | undefined> {
  const info = await client.users?.info({ user: userId }).catch(() => undefined);
  if (info?.user?.is_email_confirmed !== true) return undefined;
  return info.user.profile?.email || undefined;
}

const ButtonSchema = z.object({ value: z.string().min(1).max(128) });

/**
 * Cancel on a scheduled HR/SCIM revocation's notice: only admins and approvers may ask, never the person
 * being offboarded, and only while it has not started; it is called off once the workflow's number of
 * people (default two) have asked, and the notice then says who cancelled.
 */
export async function handleCancelScheduledButton(
  args: CancelScheduledArgs,
  deps: ListenerDeps,
): Promise<void> {
  await args.ack();
  const body = BlockActionsSchema.safeParse(args.body);
  const action = ButtonSchema.safeParse(args.action);
  if (!body.success || !action.success) return;
  const { user } = body.data;
  const requestId = action.data.value;
  try {
    if (!(await deps.access.isStaff(user.id))) {
      refuse(deps, user.id, 'cancel');
      throw new ForbiddenError('only Revoker admins and approvers may cancel a scheduled revocation');
    }
    const name = user.name ?? user.username;
    const email = await verifiedEmail(args.client, user.id);
    const vote = await deps.intake.requestCancel(requestId, {
      source: 'slack',
      id: user.id,
      ...(name ? { name: slackInput(name, 256) } : {}),
      ...(email ? { email } : {}),
    });
    if (vote.cancelled) {
      await args.respond({ replace_original: true, ...buildCancelledNotice(vote.request, user.id) });
      return;
    }
    await args.respond({
      response_type: 'ephemeral',
      replace_original: false,
      text:
        `Your cancel is recorded (${vote.votes} of ${vote.required}). A second admin or approver must ` +
        'click Cancel to confirm before the revocation starts.',
    });
  } catch (err) {
    deps.logger.info({ code: asCodedError(err).code, user: user.id }, 'slack: cancel refused');
    await args.respond({
      response_type: 'ephemeral',
      replace_original: false,
      text: `:no_entry: ${escapeText(explainError(err))}`,
    });
  }
}
