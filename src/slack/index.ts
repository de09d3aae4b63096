/**
 * Slack entry point of Revoker.
 *
 * ```ts
 * const deps: SlackDeps = { config, intake, idp, redis, prefix: config.REVOKER_PREFIX, logger, metrics };
 * const slack = createSlackApp(deps);              // web role
 * server.use('/slack/events', slack.handler);       // no body parser before it
 * await slack.start?.();                           // Socket Mode only
 * const notifications = createSlackNotifications(deps);
 * notifier = new CompositeNotifier([logNotifier, notifications.notifier]);  // give to the intake/workers
 * notifications.startWorker();                     // worker role: sends the queued Slack messages
 * ```
 */

export { parseRevokeCommand, type RevokeCommand, USAGE } from './commands/parse-revoke-command.ts';
export { handleRevokeCommand } from './commands/revoke-command.ts';
export type { ListenerDeps, SlackDeps } from './deps.ts';
export { escapeMrkdwn, escapeText, mention, plainText } from './escape.ts';
export { buildHomeView } from './home/home-view.ts';
export { ActionId, BlockId, CallbackId } from './ids.ts';
export { type MessageRef, SlackMessageStore } from './message-store.ts';
export { buildApprovalMessage } from './messages/approval-message.ts';
export { buildOutcomeDm } from './messages/outcome-message.ts';
export { register } from './register.ts';
export {
  checkSlackShape,
  checkSlackSignature,
  SIGNATURE_WINDOW_SECONDS,
  slackRequestGuard,
} from './request-guard.ts';
export { type Resolution, resolveTarget } from './resolve-target.ts';
export { createSlackApp, type SlackApp } from './slack-app.ts';
export { interactiveConnections, type SlackConnection } from './slack-connections.ts';
export {
  createOutboxClient,
  createSlackNotifications,
  type SlackNotifications,
} from './slack-notifications.ts';
export { SlackNotifier, type SlackNotifierOptions } from './slack-notifier.ts';
export {
  jobId,
  type OutboxClient,
  type OutboxJob,
  SLACK_OUTBOX_QUEUE,
  SlackOutbox,
  type SlackOutboxOptions,
} from './slack-outbox.ts';
export { buildConfirmModal } from './views/confirm-modal.ts';
export { buildDenyModal } from './views/deny-modal.ts';
export { buildLoadingModal, buildNoticeModal } from './views/modal-views.ts';
export { buildScopeModal } from './views/scope-modal.ts';
export { buildUserTokensModal } from './views/user-tokens-modal.ts';
