import type { IdpUser, TokenInfo } from '../../identity/port.ts';
import type { KnownBlock, ModalView } from '../block-kit.ts';
import { context, mrkdwn, plain, section, slackDate } from '../block-kit.ts';
import { escapeText, jsonText } from '../escape.ts';
import { ActionId, BlockId, CallbackId } from '../ids.ts';
import { userLabel } from '../labels.ts';

/** Two blocks per token and Slack's 100-block cap (https://docs.slack.dev/surfaces/modals): a page holds this many. */
export const MAX_TOKENS_SHOWN = 40;

/** The user's "OIDC and OAuth Tokens" tab: one Revoke button per token, "Revoke all" as the submit. */
export function buildUserTokensModal(input: {
  user: IdpUser;
  tokens: TokenInfo[];
  canRevokeToken: boolean;
  canRevokeUser: boolean;
  /** False when the IdP cannot list tokens. */
  listed: boolean;
  /** Which page of MAX_TOKENS_SHOWN tokens (0-based; clamped). Default 0. */
  page?: number;
  /** The connection the user is in (several connections, token scope): its buttons act there. */
  connection?: string;
}): ModalView {
  const { user, tokens } = input;
  const pages = Math.max(1, Math.ceil(tokens.length / MAX_TOKENS_SHOWN));
  const page = Math.min(Math.max(0, Math.trunc(input.page ?? 0)), pages - 1);
  const first = page * MAX_TOKENS_SHOWN;
  const shown = tokens.slice(first, first + MAX_TOKENS_SHOWN);
  const where = input.connection ? ` in ${escapeText(input.connection, 40)}` : '';
  const blocks: KnownBlock[] = [
    section(`*OIDC and OAuth tokens of ${escapeText(userLabel(user), 500)}*${where}`),
  ];
  if (!input.listed) {
    blocks.push(context('This identity provider cannot list tokens; you can still revoke all of them.'));
  } else if (tokens.length === 0) {
    blocks.push(context('No active tokens.'));
  }
  for (const t of shown) {
    blocks.push({
      type: 'section',
      text: mrkdwn(
        `*${escapeText(t.id, 200)}* · ${t.type === 'refresh_token' ? 'refresh token' : 'access token'}`,
      ),
      fields: [
        mrkdwn(`*Application*\n${escapeText(t.applicationId ?? '—', 200)}`),
        mrkdwn(`*Resource server*\n${escapeText(t.resourceServerId ?? '—', 200)}`),
        mrkdwn(`*Scopes*\n${escapeText(t.scopes.join(' ') || '—', 300)}`),
        mrkdwn(`*Issued / expires*\n${slackDate(t.issuedAt)} / ${slackDate(t.expiresAt)}`),
      ],
      ...(input.canRevokeToken
        ? {
            accessory: {
              type: 'button' as const,
              action_id: ActionId.RevokeToken,
              text: plain('Revoke'),
              style: 'danger' as const,
              value: t.id,
            },
          }
        : {}),
    });
    blocks.push({ type: 'divider' });
  }
  if (pages > 1) {
    // Every token reachable, one page at a time (Previous / Next re-render this view).
    blocks.push(context(`Tokens ${first + 1}–${first + shown.length} of ${tokens.length}.`));
    const pager = (text: string, to: number) => ({
      type: 'button' as const,
      action_id: `${ActionId.TokensPage}_${to < page ? 'previous' : 'next'}`,
      text: plain(text),
      value: String(to),
    });
    blocks.push({
      type: 'actions',
      block_id: BlockId.TokensPager,
      elements: [
        ...(page > 0 ? [pager('◀ Previous', page - 1)] : []),
        ...(page < pages - 1 ? [pager('Next ▶', page + 1)] : []),
      ],
    });
  }
  return {
    type: 'modal',
    callback_id: CallbackId.UserTokens,
    title: plain('Revoke Tokens'),
    close: plain('Cancel'),
    ...(input.canRevokeUser ? { submit: plain('Revoke all…') } : {}),
    private_metadata: JSON.stringify({
      userId: user.id,
      label: jsonText(userLabel(user), 500),
      page,
      ...(input.connection ? { connection: input.connection } : {}),
    }),
    blocks,
  };
}
