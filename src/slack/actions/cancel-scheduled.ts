import { z } from 'zod';
import { asCodedError, ForbiddenError } from '../../domain/errors.ts';
import { explainError } from '../confirm-flow.ts';
import type { ListenerDeps } from '../deps.ts';
import { escapeText } from '../escape.ts';
import { buildCancelledNotice } from '../messages/notify-messages.ts';
import { BlockActionsSchema } from '../payloads.ts';
import type { RespondFn } from '../slack-client.ts';

export interface CancelScheduledArgs {
  ack: () => Promise<void>;
  body: unknown;
  action: unknown;
  respond: RespondFn;
}

const ButtonSchema = z.object({ value: z.string().min(1).max(128) });

/**
 * Cancel on a scheduled HR/SCIM revocation's notice: only those `mayCancel` accepts (admins and
 * approvers) may call it off, and only while it has not started; the notice then says who cancelled.
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
    if (!(await deps.mayCancel?.(user.id))) {
      throw new ForbiddenError('only Revoker admins and approvers may cancel a scheduled revocation');
    }
    const name = user.name ?? user.username;
    const cancelled = await deps.intake.cancel(
      requestId,
      { source: 'slack', id: user.id, ...(name ? { name: name.slice(0, 256) } : {}) },
      'cancelled from Slack during the grace window',
    );
    await args.respond({ replace_original: true, ...buildCancelledNotice(cancelled, user.id) });
  } catch (err) {
    deps.logger.info({ code: asCodedError(err).code, user: user.id }, 'slack: cancel refused');
    await args.respond({
      response_type: 'ephemeral',
      replace_original: false,
      text: `:no_entry: ${escapeText(explainError(err))}`,
    });
  }
}
