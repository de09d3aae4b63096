/** Callback and action ids: the contract between view builders, listeners and tests. */
export const CallbackId = {
  /** Scope choice + target picker ("Revoke Tokens" dialog). */
  Scope: 'revoke_scope',
  /** A user's OIDC and OAuth tokens, one Revoke button each. */
  UserTokens: 'revoke_user_tokens',
  /** What will happen + required reason; submitting calls intake.submit. */
  Confirm: 'revoke_confirm',
  /** A leaked token's introspection (owner, client, expiry; never the value) + required reason. */
  LeakedConfirm: 'revoke_leaked_confirm',
  /** Reason for a denial. */
  Deny: 'revoke_deny',
  Loading: 'revoke_loading',
  Notice: 'revoke_notice',
} as const;

export const ActionId = {
  ScopeSelect: 'scope_select',
  /** Which connection an application, API or single token belongs to (only with several connections). */
  ConnectionSelect: 'connection_select',
  LeakedToken: 'leaked_token_input',
  TargetSelect: 'target_select',
  RevokeToken: 'revoke_token',
  RevokeAllForUser: 'revoke_all_for_user',
  Approve: 'approval_approve',
  Deny: 'approval_deny',
  Reason: 'reason_input',
  DenyReason: 'deny_reason_input',
  /** Previous / Next on a user's token list (value: the page to show). */
  TokensPage: 'tokens_page',
  /** Cancel on the notice of a scheduled HR/SCIM revocation (grace window). */
  CancelScheduled: 'scheduled_cancel',
} as const;

import type { Scope } from '../domain/target.ts';

export const BlockId = {
  Scope: 'scope_block',
  Connection: 'connection_block',
  Target: 'target_block',
  LeakedToken: 'leaked_token_block',
  Reason: 'reason_block',
  DenyReason: 'deny_reason_block',
  Approval: 'approval_actions',
  Scheduled: 'scheduled_actions',
  TokensPager: 'tokens_pager',
} as const;

/**
 * The target picker's block id names the scope: Slack keeps an input's state across `views.update` only
 * for an identical block_id and action_id (modal view reference, "Preserving input entry"), so a user
 * picked under one scope is never carried over into another scope's picker. With several connections it
 * names the connection too: what was picked in one is never submitted as another's (and a search knows
 * which connection its picker belongs to).
 */
export function targetBlockId(scope: Scope, connection?: string): string {
  return connection === undefined ? `${BlockId.Target}.${scope}` : `${BlockId.Target}.${scope}.${connection}`;
}

/** The connection a picker's block id names (see targetBlockId); undefined when it names none. */
export function connectionOfBlock(blockId: string | undefined): string | undefined {
  const m = /^target_block\.[A-Za-z]+\.([a-z][a-z0-9-]{0,31})$/.exec(blockId ?? '');
  return m?.[1];
}
