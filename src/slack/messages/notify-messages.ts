import { describeInZone } from '../../domain/dates.ts';
import { TERMINAL_STATES } from '../../domain/request.ts';
import type { RequestRecord } from '../../intake/types.ts';
import type { KnownBlock, MessageBody } from '../block-kit.ts';
import { context, plain, section, slackDate } from '../block-kit.ts';
import { escapeText, mention, plainText } from '../escape.ts';
import { ActionId, BlockId } from '../ids.ts';
import { connectionLines, waitingSuffix } from './connection-lines.ts';
import { impactSummary, requesterText, statusLine, targetPlain, targetText } from './request-summary.ts';

const SOURCE_WORDS: Record<string, string> = {
  hr: 'HR offboarding',
  scim: 'SCIM deprovisioning',
  cli: 'CLI',
  slack: 'Slack',
  system: 'System',
};

/**
 * The notify channel's notice of an HR/SCIM-driven revocation, in whatever state it is: posted when it is
 * accepted and updated in place (its `ts` is stored with the request) on reschedule, start, cancel and
 * outcome. The Cancel button is there only while it is scheduled (it cannot be called off once started).
 */
export function buildAutomatedRequestNotice(r: RequestRecord): MessageBody {
  const what = SOURCE_WORDS[r.source] ?? escapeText(r.source, 50);
  // Slack shows <!date> in the reader's zone; the company's zone and UTC follow, as HR meant them.
  const zoned = describeInZone(r.effectiveAt, r.context?.timeZone);
  const when =
    r.state === 'scheduled'
      ? `scheduled for ${slackDate(r.effectiveAt)}${zoned ? ` (${escapeText(zoned, 120)})` : ''}`
      : r.state === 'pending_approval'
        ? // A protected person's offboarding waits for approval: "revoking now" would be untrue.
          'waiting for approval before anything is revoked'
        : r.state === 'cancelled'
          ? 'cancelled; nothing was revoked'
          : TERMINAL_STATES.includes(r.state)
            ? statusLine(r)
            : 'revoking now';
  const text = plainText(`${what}: ${targetText(r)} — ${when}${waitingSuffix(r)}`, 3000);
  const lines = connectionLines(r, 2900);
  return {
    text,
    blocks: [
      section(`:robot_face: *${what}* by ${requesterText(r)}: *${targetText(r)}*, ${when}.`),
      ...(lines ? [section(lines)] : []),
      section(`Reason: ${escapeText(r.reason || '—', 1800)}\nImpact: ${impactSummary(r)}`),
      ...(r.state === 'scheduled' ? [cancelButton(r)] : []),
      context(`Request \`${escapeText(r.id, 128)}\``),
    ],
  };
}

/** Until it starts, a scheduled offboarding can be called off (a mistaken termination). */
function cancelButton(r: RequestRecord): KnownBlock {
  return {
    type: 'actions',
    // A new block_id when the notice is updated for a new date ("use a new block_id", section block reference).
    block_id: `${BlockId.Scheduled}.${Math.floor(Date.parse(r.effectiveAt ?? '') / 1000) || 0}`,
    elements: [
      {
        type: 'button',
        action_id: ActionId.CancelScheduled,
        text: plain('Cancel'),
        style: 'danger',
        value: r.id,
        confirm: {
          title: plain('Cancel this revocation?'),
          // plain_text, ≤ 300 (confirmation dialog object): a long display name is cut, not refused.
          text: plain(plainText(`The tokens of ${targetPlain(r)} will stay valid.`, 300)),
          confirm: plain('Cancel it'),
          deny: plain('Keep it'),
        },
      },
    ],
  };
}

/** The scheduled notice once someone cancelled it from Slack. */
export function buildCancelledNotice(r: RequestRecord, by: string): MessageBody {
  const what = SOURCE_WORDS[r.source] ?? escapeText(r.source, 50);
  return {
    text: `${what}: ${targetText(r)} — cancelled`,
    blocks: [
      section(
        `:no_entry_sign: *${what}* of *${targetText(r)}* was cancelled by ${mention(by)}; nothing was revoked.`,
      ),
      context(`Request \`${escapeText(r.id, 128)}\``),
    ],
  };
}

/** Outcome of an automated request, or a failure of any request. */
export function buildOutcomeNotice(r: RequestRecord): MessageBody {
  const what = SOURCE_WORDS[r.source] ?? escapeText(r.source, 50);
  const line = statusLine(r);
  const lines = connectionLines(r, 2900);
  return {
    text: plainText(`${what} revocation of ${targetText(r)}: ${line}`, 3000),
    blocks: [
      section(`*${what}* revocation of *${targetText(r)}*\n${line}`),
      ...(lines ? [section(lines)] : []),
      context(`Request \`${escapeText(r.id, 128)}\``),
    ],
  };
}

export function buildDeadLetterNotice(r: RequestRecord): MessageBody {
  return {
    text: `Dead letter: revocation ${r.id} gave up after retries`,
    blocks: [
      section(
        `:rotating_light: *Revocation gave up after retries* — ${targetText(r)}\nIt needs a person: check the IdP, then retry it from the queue dashboard.`,
      ),
      context(`Request \`${escapeText(r.id, 128)}\` · ${escapeText(r.source, 50)}`),
    ],
  };
}

/** An HR event Revoker could not complete: credentials refused by the vendor, or out of retries. */
export function buildHrEventFailedNotice(e: {
  source: string;
  employeeId: string;
  eventId: string;
  reason: string;
  final: boolean;
}): MessageBody {
  const what = e.final
    ? 'failed for good: nothing was revoked. Fix the cause and ask the vendor to resend it.'
    : 'is waiting: Revoker keeps retrying while the vendor would, and acts once this is fixed.';
  return {
    text: `HR event from ${escapeText(e.source, 50)} ${e.final ? 'failed' : 'is blocked'}: ${escapeText(e.reason, 200)}`,
    blocks: [
      section(
        `:warning: A termination event from *${escapeText(e.source, 50)}* for employee ${escapeText(e.employeeId, 200)} ${what}\n${escapeText(e.reason, 300)}`,
      ),
      context(`Event \`${escapeText(e.eventId, 200)}\``),
    ],
  };
}

export function buildUnknownEmployeeNotice(e: {
  source: string;
  employeeId: string;
  email?: string;
  eventId: string;
}): MessageBody {
  const who = `${escapeText(e.employeeId, 200)}${e.email ? ` (${escapeText(e.email, 200)})` : ''}`;
  return {
    text: `HR event for an employee the IdP does not know: ${who}`,
    blocks: [
      section(
        `:question: *${escapeText(e.source, 50)}* reported a termination for ${who}, but the identity provider has no such user. Nothing was revoked.`,
      ),
      context(`Event \`${escapeText(e.eventId, 200)}\``),
    ],
  };
}
