import {
  type ConnectionStatus,
  type ConnectionStatusKind,
  connectionLine,
  waitingFor,
} from '../../connections/connection-status.ts';
import type { RequestRecord } from '../../intake/types.ts';
import { escapeText, plainText } from '../escape.ts';

/** The same marks as the request's own states (STATE_EMOJI), so a line reads like the status above it. */
const STATUS_EMOJI: Record<ConnectionStatusKind, string> = {
  pending: ':hourglass:',
  running: ':gear:',
  waiting: ':warning:',
  verified: ':white_check_mark:',
  unverifiable: ':grey_question:',
  failed: ':x:',
  no_account: ':heavy_minus_sign:',
};

/** Lines longer than this are cut even when there is room: ten connections must each keep their line. */
const MAX_LINE = 300;
/** Room kept for the "…and N more" line when not every connection fits. */
const MORE_ROOM = 40;
/** The longest status mark with its space (`:heavy_minus_sign: `). */
const MARK_ROOM = Math.max(...Object.values(STATUS_EMOJI).map((e) => e.length + 1));

/** "Waiting for okta, google (retrying)", raw; undefined when no connection is being waited for. */
export function waitingPlain(connections: readonly ConnectionStatus[] | undefined): string | undefined {
  const ids = waitingFor(connections ?? []);
  return ids.length > 0 ? `Waiting for ${ids.join(', ')} (retrying)` : undefined;
}

/**
 * One mrkdwn line per connection of a fanned-out user revocation (issue 22), led by which connections are
 * being waited for; '' when the request has no `connections` (a single-connection request reads as
 * before). Outside text (each `why`) is sanitised, escaped and cut by grapheme so that the whole text is at
 * most `max` characters escaped: every connection keeps a line (each cut to its share), and only when even
 * that cannot fit does an "…and N more" line replace the rest.
 */
export function connectionLines(r: Pick<RequestRecord, 'connections'>, max = 2900): string {
  const connections = r.connections ?? [];
  if (connections.length === 0) return '';
  const waiting = waitingPlain(connections);
  const head = waiting
    ? `:hourglass_flowing_sand: ${escapeText(waiting, Math.min(300, Math.floor(max / 4)))}`
    : '';
  const room = max - head.length - (head ? 1 : 0);
  // Each line's share of the room: its newline and status mark come off before the text is cut to it.
  const share = Math.max(80, Math.min(MAX_LINE, Math.floor(room / connections.length) - 1 - MARK_ROOM));
  const lines: string[] = head ? [head] : [];
  let used = head.length;
  for (const [i, s] of connections.entries()) {
    const line = `${STATUS_EMOJI[s.status]} ${escapeText(connectionLine(s), share)}`;
    const left = connections.length - i - 1;
    const reserve = left > 0 ? MORE_ROOM : 0;
    if (used + 1 + line.length + reserve > max) {
      lines.push(`…and ${connections.length - i} more connection${connections.length - i === 1 ? '' : 's'}`);
      break;
    }
    lines.push(line);
    used += 1 + line.length;
  }
  return lines.join('\n');
}

/** The waiting summary for a message's notification text (plain_text-like: sanitised and cut). */
export function waitingSuffix(r: Pick<RequestRecord, 'connections'>): string {
  const waiting = waitingPlain(r.connections);
  return waiting ? ` — ${plainText(waiting, 300)}` : '';
}
