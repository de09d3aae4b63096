import type { App } from '@slack/bolt';
import { handleApproveButton, handleDenyButton } from './actions/approval-buttons.ts';
import { handleCancelScheduledButton } from './actions/cancel-scheduled.ts';
import { handleLeakedConfirmSubmission } from './actions/leaked-token.ts';
import {
  handleConnectionSelect,
  handleRevokeTokenButton,
  handleScopeSelect,
  handleTargetSelect,
  handleTokensPage,
} from './actions/modal-actions.ts';
import { handleTargetOptions } from './actions/target-options.ts';
import {
  handleConfirmSubmission,
  handleDenySubmission,
  handleScopeSubmission,
  handleUserTokensSubmission,
  type ViewAck,
} from './actions/view-submissions.ts';
import { handleRevokeCommand } from './commands/revoke-command.ts';
import type { ListenerDeps } from './deps.ts';
import { handleAppHomeOpened } from './home/app-home-opened.ts';
import { ActionId, CallbackId } from './ids.ts';
import type { ListenerClient } from './slack-client.ts';

/**
 * Wires every listener. Bolt's argument types are wider than our handlers need; the casts below only
 * narrow Bolt's `client` (a WebClient) to the slice we call, and its ack/respond to the shapes we use.
 */
export function register(app: App, deps: ListenerDeps): void {
  const asClient = (client: unknown) => client as ListenerClient;
  // app.view's ack is typed for view_closed too; our callback ids only ever receive view_submission.
  const asViewAck = (ack: unknown) => ack as ViewAck;

  app.command('/revoke', async ({ command, ack, respond, client }) => {
    await handleRevokeCommand({ command, ack, respond, client: asClient(client) }, deps);
  });

  app.action(ActionId.ScopeSelect, async ({ ack, body, action, client }) => {
    await handleScopeSelect({ ack, body, action, client: asClient(client) }, deps);
  });
  app.action(ActionId.ConnectionSelect, async ({ ack, body, action, client }) => {
    await handleConnectionSelect({ ack, body, action, client: asClient(client) }, deps);
  });
  app.action(ActionId.TargetSelect, async ({ ack, body, action, client }) => {
    await handleTargetSelect({ ack, body, action, client: asClient(client) }, deps);
  });
  app.action(ActionId.RevokeToken, async ({ ack, body, action, client }) => {
    await handleRevokeTokenButton({ ack, body, action, client: asClient(client) }, deps);
  });
  // Previous and Next share one handler (their action ids differ: one block may not repeat an action id).
  app.action(
    new RegExp(`^${ActionId.TokensPage}_(previous|next)$`),
    async ({ ack, body, action, client }) => {
      await handleTokensPage({ ack, body, action, client: asClient(client) }, deps);
    },
  );
  app.action(ActionId.Approve, async ({ ack, body, action, client, respond }) => {
    await handleApproveButton({ ack, body, action, respond, client: asClient(client) }, deps);
  });
  app.action(ActionId.CancelScheduled, async ({ ack, body, action, respond, client }) => {
    await handleCancelScheduledButton({ ack, body, action, respond, client: asClient(client) }, deps);
  });
  app.action(ActionId.Deny, async ({ ack, body, action, client, respond }) => {
    await handleDenyButton({ ack, body, action, respond, client: asClient(client) }, deps);
  });

  app.options(ActionId.TargetSelect, async ({ ack, body }) => {
    await handleTargetOptions({ ack, body }, deps);
  });

  app.view(CallbackId.Scope, async ({ ack, body, client }) => {
    await handleScopeSubmission({ ack: asViewAck(ack), body, client: asClient(client) }, deps);
  });
  app.view(CallbackId.UserTokens, async ({ ack, body, client }) => {
    await handleUserTokensSubmission({ ack: asViewAck(ack), body, client: asClient(client) }, deps);
  });
  app.view(CallbackId.Confirm, async ({ ack, body, client }) => {
    await handleConfirmSubmission({ ack: asViewAck(ack), body, client: asClient(client) }, deps);
  });
  app.view(CallbackId.LeakedConfirm, async ({ ack, body, client }) => {
    await handleLeakedConfirmSubmission({ ack: asViewAck(ack), body, client: asClient(client) }, deps);
  });
  app.view(CallbackId.Deny, async ({ ack, body, client }) => {
    await handleDenySubmission({ ack: asViewAck(ack), body, client: asClient(client) }, deps);
  });

  app.event('app_home_opened', async ({ event, client }) => {
    await handleAppHomeOpened({ event, client: asClient(client) }, deps);
  });

  app.error(async (error) => {
    deps.logger.warn({ code: error.code, err: error.message }, 'slack: listener error');
  });
}
