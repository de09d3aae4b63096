import type { RequestRecord } from '../../intake/types.ts';
import type { KnownBlock, MessageBody } from '../block-kit.ts';
import { context, mrkdwn, plain, slackDate } from '../block-kit.ts';
import { escapeText, plainText } from '../escape.ts';
import { BlockId } from '../ids.ts';
import { connectionLines, waitingSuffix } from './connection-lines.ts';
import {
  approvalButtons,
  connectionSuffix,
  impactSummary,
  requesterText,
  statusLine,
  targetText,
} from './request-summary.ts';

/**
 * The approval request in SLACK_APPROVALS_CHANNEL, rendered from the request alone: the same function
 * renders the first post and every in-place update, so buttons disappear once the request is decided.
 */
export function buildApprovalMessage(
  r: RequestRecord,
  /** Several connections configured: the target names the connection it belongs to ("… in okta"). */
  options: { severalConnections?: boolean } = {},
): MessageBody {
  const blocks: KnownBlock[] = [
    { type: 'header', text: plain('Token revocation request') },
    {
      type: 'section',
      fields: [
        mrkdwn(`*Requester*\n${requesterText(r)}`),
        mrkdwn(`*Target*\n${targetText(r)}${connectionSuffix(r, options.severalConnections)}`),
        mrkdwn(`*Impact*\n${impactSummary(r)}`),
        mrkdwn(`*Reason*\n${escapeText(r.reason || '—', 1800)}`),
      ],
    },
    { type: 'section', text: mrkdwn(statusLine(r)) },
  ];
  // A fanned-out user revocation: one line per connection, re-rendered with every update.
  const lines = connectionLines(r, 2900);
  if (lines) blocks.push({ type: 'section', text: mrkdwn(`*Connections*\n${lines}`) });
  if (r.state === 'pending_approval') {
    // A new block_id per iteration: "If a message is updated, use a new block_id" (section block reference).
    blocks.push(approvalButtons(`${BlockId.Approval}.${r.approvals.length}`, r.id));
    if (r.approvalExpiresAt) blocks.push(context(`Open until ${slackDate(r.approvalExpiresAt)}`));
  }
  blocks.push(context(`Request \`${escapeText(r.id, 128)}\` · workflow ${escapeText(r.workflow, 100)}`));
  return {
    text: plainText(
      `Revocation request from ${r.requestedBy.source}: ${statusLine(r)}${waitingSuffix(r)}`,
      3000,
    ),
    blocks,
  };
}
