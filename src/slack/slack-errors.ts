/**
 * Which Slack Web API errors no retry will fix, per method, from each method's page
 * (https://docs.slack.dev/reference/methods/<method> → Errors; the common errors every method lists are in
 * COMMON). An error Slack documents for the method and that is not in TRANSIENT is permanent: the outbox
 * stops retrying and says so. An error Slack does not document is retried (it may be new and passing).
 */

/** Errors every method page lists (auth, token, request shape, workspace policy). */
const COMMON = [
  'access_denied',
  'accesslimited',
  'account_inactive',
  'deprecated_endpoint',
  'ekm_access_denied',
  'enterprise_is_restricted',
  'invalid_arg_name',
  'invalid_array_arg',
  'invalid_auth',
  'invalid_charset',
  'invalid_form_data',
  'invalid_post_type',
  'is_bot',
  'method_deprecated',
  'missing_post_type',
  'missing_scope',
  'no_permission',
  'not_allowed_token_type',
  'not_authed',
  'org_login_required',
  'team_access_not_granted',
  'token_expired',
  'token_revoked',
  'two_factor_setup_required',
  'unknown_method',
  'invalid_arguments',
] as const;

/** Documented errors that say "try again later": retried with back-off. */
export const TRANSIENT_SLACK_ERRORS: ReadonlySet<string> = new Set([
  'fatal_error',
  'internal_error',
  'ratelimited',
  'rate_limited',
  'request_timeout',
  'service_unavailable',
  // chat.postMessage/update: "Members on this team are sending too many messages".
  'message_limit_exceeded',
  // The workspace is being migrated into an Enterprise Grid org: "try again later".
  'team_added_to_org',
  'external_channel_migrating',
  // chat.update: "Internal update failure".
  'update_failed',
]);

/** Per method, beyond COMMON (https://docs.slack.dev/reference/methods/<method>). */
const METHOD_ERRORS: Record<string, readonly string[]> = {
  // https://docs.slack.dev/reference/methods/chat.postMessage
  'chat.postMessage': [
    'as_user_not_supported',
    'attachment_payload_limit_exceeded',
    'cannot_reply_to_message',
    'channel_not_found',
    'duplicate_channel_not_found',
    'duplicate_message_not_found',
    'invalid_blocks',
    'invalid_blocks_format',
    'invalid_metadata_format',
    'invalid_metadata_schema',
    'is_archived',
    'markdown_text_conflict',
    'messages_tab_disabled',
    'metadata_must_be_sent_from_app',
    'metadata_too_large',
    'missing_file_data',
    'msg_blocks_too_long',
    'msg_too_long',
    'no_text',
    'not_in_channel',
    'restricted_action',
    'restricted_action_non_threadable_channel',
    'restricted_action_read_only_channel',
    'restricted_action_thread_locked',
    'restricted_action_thread_only_channel',
    'send_on_behalf_not_allowed',
    'slack_connect_canvas_sharing_blocked',
    'slack_connect_file_link_sharing_blocked',
    'slack_connect_lists_sharing_blocked',
    'team_not_found',
    'too_many_attachments',
    'too_many_contact_cards',
    // DMs (conversations to a user id): https://docs.slack.dev/reference/methods/chat.postMessage#channels
    'user_not_found',
    'cannot_dm_bot',
  ],
  // https://docs.slack.dev/reference/methods/chat.update
  'chat.update': [
    'as_user_not_supported',
    'block_mismatch',
    'cant_broadcast_message',
    'cant_update_message',
    'channel_not_found',
    'edit_window_closed',
    'invalid_attachments',
    'invalid_blocks',
    'invalid_blocks_format',
    'invalid_metadata_format',
    'invalid_metadata_schema',
    'is_inactive',
    'markdown_text_conflict',
    'message_not_found',
    'metadata_must_be_sent_from_app',
    'metadata_too_large',
    'msg_blocks_too_long',
    'msg_too_long',
    'no_dual_broadcast_content_update',
    'no_text',
    'posting_to_channel_denied',
    'team_not_found',
    'too_many_attachments',
  ],
  // https://docs.slack.dev/reference/methods/chat.postEphemeral
  'chat.postEphemeral': [
    'cannot_reply_to_message',
    'channel_not_found',
    'invalid_attachments',
    'invalid_blocks',
    'invalid_blocks_format',
    'is_archived',
    'markdown_text_conflict',
    'messages_tab_disabled',
    'msg_too_long',
    'no_text',
    'not_in_channel',
    'restricted_action',
    'too_many_attachments',
    'user_not_in_channel',
  ],
  // https://docs.slack.dev/reference/methods/views.update (hash_conflict: someone updated it first)
  'views.update': ['duplicate_external_id', 'hash_conflict', 'not_found', 'view_too_large', 'invalid_blocks'],
  // https://docs.slack.dev/reference/methods/views.open
  'views.open': [
    'duplicate_external_id',
    'exchanged_trigger_id',
    'expired_trigger_id',
    'invalid_trigger_id',
    'view_too_large',
    'invalid_blocks',
  ],
  // https://docs.slack.dev/reference/methods/views.push
  'views.push': [
    'duplicate_external_id',
    'exchanged_trigger_id',
    'expired_trigger_id',
    'invalid_trigger_id',
    'not_found',
    'push_limit_reached',
    'view_too_large',
    'invalid_blocks',
  ],
  // https://docs.slack.dev/reference/methods/views.publish
  'views.publish': [
    'duplicate_external_id',
    'hash_conflict',
    'missing_profile_id',
    'not_enabled',
    'not_implemented',
    'view_too_large',
    'invalid_blocks',
  ],
  // https://docs.slack.dev/reference/methods/usergroups.users.list
  'usergroups.users.list': ['invalid_cursor', 'no_such_subteam', 'plan_upgrade_required'],
};

/** Is `error` from `method` one that no retry will fix? */
export function isPermanentSlackError(method: string, error: string): boolean {
  if (TRANSIENT_SLACK_ERRORS.has(error)) return false;
  return (COMMON as readonly string[]).includes(error) || (METHOD_ERRORS[method] ?? []).includes(error);
}

/** Errors about the bot's own token or installation: a DM about them would be refused the same way. */
export const TOKEN_ERRORS: ReadonlySet<string> = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'not_allowed_token_type',
  'team_access_not_granted',
  'ekm_access_denied',
  'enterprise_is_restricted',
  'org_login_required',
  'two_factor_setup_required',
]);
