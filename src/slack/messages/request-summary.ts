import { describeInZone } from '../../domain/dates.ts';
import { truncateGraphemes } from '../../domain/outside-text.ts';
import type { RequestState } from '../../domain/request.ts';
import { describeTarget } from '../../domain/target.ts';
import { informativeParts } from '../../identity/part-outcomes.ts';
import type { RequestRecord } from '../../intake/types.ts';
import { type KnownBlock, plain } from '../block-kit.ts';
import { escapeMrkdwn, escapeText, mention } from '../escape.ts';
import { ActionId } from '../ids.ts';

/** Who asked, as mrkdwn: a Slack mention for Slack users, the escaped name or id otherwise. */
export function requesterText(r: RequestRecord): string {
  if (r.requestedBy.source === 'slack') return mention(r.requestedBy.id);
  return `${escapeText(r.requestedBy.name ?? r.requestedBy.id, 200)} (${r.requestedBy.source})`;
}

export function impactSummary(r: RequestRecord): string {
  if (!r.impact) return 'unknown';
  const t = r.impact.tokenCount === undefined ? 'unknown number of' : String(r.impact.tokenCount);
  return `${t} token${r.impact.tokenCount === 1 ? '' : 's'}, ${r.impact.userCount} user${r.impact.userCount === 1 ? '' : 's'}`;
}

export const STATE_EMOJI: Record<RequestState, string> = {
  pending_approval: ':hourglass:',
  approved: ':white_check_mark:',
  denied: ':no_entry:',
  expired: ':alarm_clock:',
  cancelled: ':heavy_multiplication_x:',
  scheduled: ':calendar:',
  queued: ':inbox_tray:',
  running: ':gear:',
  verified: ':white_check_mark:',
  unverifiable: ':grey_question:',
  failed: ':x:',
};

/** One line saying where the request is, from the record alone (so re-rendering is idempotent). */
export function statusLine(r: RequestRecord): string {
  const approvals = r.approvals.map((a) => mention(a.by)).join(', ');
  switch (r.state) {
    case 'pending_approval':
      return `${STATE_EMOJI[r.state]} ${r.approvals.length} of ${r.requiredApprovals} approvals${approvals ? `: ${approvals}` : ''}`;
    case 'approved':
    case 'queued':
      return `${STATE_EMOJI.approved} Approved${approvals ? ` by ${approvals}` : ''}; queued`;
    case 'scheduled':
      return `${STATE_EMOJI.scheduled} Scheduled for ${escapeText(describeInZone(r.effectiveAt, r.context?.timeZone) ?? 'later', 120)}`;
    case 'running':
      // Until the plan is made, the total is not known yet.
      return r.progress.total > 0
        ? `${STATE_EMOJI.running} Revoking: ${r.progress.done} of ${r.progress.total} calls${r.progress.tokens === undefined ? '' : `, ${r.progress.tokens} tokens`}`
        : `${STATE_EMOJI.running} Revoking: listing the tokens in scope…`;
    case 'verified':
      return `${STATE_EMOJI.verified} Done and verified: ${r.result?.revoked ?? r.progress.done} revoked, ${r.result?.remaining ?? 0} remaining${partsLine(r)}`;
    case 'unverifiable': {
      const parts = partsLine(r);
      return parts
        ? `${STATE_EMOJI.unverifiable} Done, unverifiable (${r.result?.revoked ?? r.progress.done} revoked)${parts}`
        : `${STATE_EMOJI.unverifiable} Done, unverifiable: ${escapeText(r.result?.unverifiable ?? 'the IdP cannot show the result', 500)} (${r.result?.revoked ?? r.progress.done} revoked)`;
    }
    case 'failed':
      return `${STATE_EMOJI.failed} Failed${r.result?.error ? `: ${escapeText(r.result.error, 500)}` : ''}${r.result ? ` (${r.result.revoked} revoked, ${r.result.remaining} still alive)` : ''}${partsLine(r)}`;
    case 'denied':
      return `${STATE_EMOJI.denied} Denied by ${r.denial ? mention(r.denial.by) : 'an approver'}${r.denial?.reason ? `: ${escapeText(r.denial.reason, 500)}` : ''}`;
    case 'expired':
      return `${STATE_EMOJI.expired} Expired before enough approvals (${r.approvals.length} of ${r.requiredApprovals})`;
    case 'cancelled':
      return `${STATE_EMOJI.cancelled} Cancelled`;
  }
}

/**
 * Each part of the scope with its outcome, on its own line ("verified: refresh tokens; unverifiable:
 * sessions (…)"), when the parts say more than the state; outside text sanitised and escaped, and cut to
 * 1,500 characters so the status line stays within a section's 3,000.
 */
function partsLine(r: RequestRecord): string {
  const parts = informativeParts(r.result?.parts);
  // Cut by grapheme, measured escaped (`&` grows to `&amp;`), then escaped: never half an emoji or entity.
  const cut = truncateGraphemes(parts ?? '', 1500, { measure: (t) => escapeMrkdwn(t).length });
  return parts ? `\n${escapeMrkdwn(cut)}` : '';
}

/** The target in words, with the IdP's display name when the intake found one; raw (for plain_text). */
export function targetPlain(r: RequestRecord): string {
  const base = describeTarget(r.target);
  return r.targetName ? `${base} (${r.targetName})` : base;
}

/** The target in words as mrkdwn (escaped: IdP data is input), at most 500 characters escaped. */
export function targetText(r: RequestRecord): string {
  return escapeText(targetPlain(r), 500);
}

/**
 * Where a request bound to one connection runs (" in okta", mrkdwn), said only when several connections
 * are configured; '' otherwise, and for a fanned-out user revocation (its lines name every connection).
 */
export function connectionSuffix(
  r: Pick<RequestRecord, 'connection' | 'connections'>,
  several: boolean | undefined,
): string {
  return several && r.connection && !r.connections?.length ? ` in ${escapeText(r.connection, 40)}` : '';
}

/** Approve / Deny for one request: the same buttons in the approvals channel and on App Home. */
export function approvalButtons(blockId: string, requestId: string): KnownBlock {
  return {
    type: 'actions',
    block_id: blockId,
    elements: [
      {
        type: 'button',
        action_id: ActionId.Approve,
        text: plain('Approve'),
        style: 'primary',
        value: requestId,
      },
      { type: 'button', action_id: ActionId.Deny, text: plain('Deny'), style: 'danger', value: requestId },
    ],
  };
}
