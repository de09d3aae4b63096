import { z } from 'zod';
import { asCodedError, ConflictError, NotFoundError } from '../../domain/errors.ts';
import type { Actor } from '../../domain/request.ts';
import { explainError } from '../confirm-flow.ts';
import type { ListenerDeps } from '../deps.ts';
import { escapeText, slackInput } from '../escape.ts';
import { publishHome } from '../home/publish-home.ts';
import { BlockActionsSchema } from '../payloads.ts';
import type { ListenerClient, RespondFn } from '../slack-client.ts';
import { buildDenyModal } from '../views/deny-modal.ts';

export interface ApprovalButtonArgs {
  ack: () => Promise<void>;
  body: unknown;
  action: unknown;
  client: ListenerClient;
  respond: RespondFn;
}

const ButtonSchema = z.object({ value: z.string().min(1).max(128) });

function parse(args: ApprovalButtonArgs) {
  const body = BlockActionsSchema.safeParse(args.body);
  const action = ButtonSchema.safeParse(args.action);
  if (!body.success || !action.success) return undefined;
  const { user } = body.data;
  const name = user.name ?? user.username;
  const actor: Actor = { source: 'slack', id: user.id, ...(name ? { name: slackInput(name, 256) } : {}) };
  const fromHome = body.data.container?.type === 'view' && !body.data.response_url;
  return { body: body.data, requestId: action.data.value, actor, fromHome };
}

/** Tells only the clicker why nothing happened: ephemeral in the channel, a notice on Home. */
async function refuse(
  args: ApprovalButtonArgs,
  deps: ListenerDeps,
  ctx: NonNullable<ReturnType<typeof parse>>,
  err: unknown,
): Promise<void> {
  const text = `:no_entry: ${escapeText(explainError(err))}`;
  deps.logger.info({ code: asCodedError(err).code, user: ctx.actor.id }, 'slack: approval click refused');
  if (ctx.fromHome) return publishHome(args.client, ctx.actor.id, deps, explainError(err));
  if (ctx.body.response_url) {
    await args.respond({ response_type: 'ephemeral', replace_original: false, text });
  } else if (ctx.body.channel) {
    await args.client.chat.postEphemeral({ channel: ctx.body.channel.id, user: ctx.actor.id, text });
  }
}

/**
 * Approve: the intake and workflow decide (self-approval, outsiders, second click, expired); the
 * message itself is updated by the notifier when the approval is recorded.
 */
export async function handleApproveButton(args: ApprovalButtonArgs, deps: ListenerDeps): Promise<void> {
  await args.ack();
  const ctx = parse(args);
  if (!ctx) return;
  try {
    await deps.intake.approve(ctx.requestId, ctx.actor);
    if (ctx.fromHome) await publishHome(args.client, ctx.actor.id, deps);
  } catch (err) {
    await refuse(args, deps, ctx, err);
  }
}

/** Deny: ask for a reason first (deny modal); the decision happens on its submission. */
export async function handleDenyButton(args: ApprovalButtonArgs, deps: ListenerDeps): Promise<void> {
  await args.ack();
  const ctx = parse(args);
  if (!ctx?.body.trigger_id) return;
  try {
    // Refuse a decided or unknown request now, rather than after the approver typed a reason.
    const found = await deps.intake.get(ctx.requestId);
    // Someone who may not see it learns nothing about it, not even that it exists.
    const request = found && (await deps.access.maySee(ctx.actor.id, found)) ? found : undefined;
    if (!request) throw new NotFoundError(`No request ${ctx.requestId}.`);
    if (request.state !== 'pending_approval') {
      throw new ConflictError(`Request ${ctx.requestId} is already ${request.state.replace('_', ' ')}.`);
    }
    await args.client.views.open({
      trigger_id: ctx.body.trigger_id,
      view: buildDenyModal({
        requestId: ctx.requestId,
        ...(ctx.body.response_url ? { responseUrl: ctx.body.response_url } : {}),
      }),
    });
  } catch (err) {
    await refuse(args, deps, ctx, err);
  }
}
