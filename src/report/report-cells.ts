import { formatDurationShort, type ReportRow } from './offboarding-report.ts';

/**
 * The report's columns, one definition for the terminal table, CSV and HTML. Each cell is a string, so a
 * row read back from any format is compared with the row rebuilt from the chain cell by cell.
 */
export interface Cell {
  /** Machine name: CSV header, HTML `data-f`. */
  key: string;
  /** Column heading for people. */
  title: string;
  value(row: ReportRow): string;
}

const decisions = (list: { by: string; at: string }[]) => list.map((d) => `${d.by} ${d.at}`).join('; ');

export const CELLS: readonly Cell[] = [
  { key: 'request', title: 'Request', value: (r) => r.requestId },
  {
    key: 'person',
    title: 'Person',
    value: (r) => (r.person === r.userId ? r.userId : `${r.person} [${r.userId}]`),
  },
  { key: 'source', title: 'Source', value: (r) => r.source },
  { key: 'event', title: 'Event', value: (r) => r.event },
  { key: 'time_zone', title: 'Time zone', value: (r) => r.timeZone },
  { key: 'effective', title: 'Effective (UTC)', value: (r) => r.effectiveAt },
  { key: 'created', title: 'Created', value: (r) => r.createdAt },
  { key: 'approvals', title: 'Approvals', value: (r) => decisions(r.approvals) },
  { key: 'denials', title: 'Denials', value: (r) => decisions(r.denials) },
  { key: 'cancel_votes', title: 'Cancellation votes', value: (r) => decisions(r.cancelVotes) },
  { key: 'started', title: 'Started', value: (r) => r.startedAt ?? '' },
  { key: 'verified', title: 'Verified', value: (r) => r.verifiedAt ?? '' },
  {
    key: 'connections',
    title: 'Per connection',
    value: (r) =>
      r.connections
        .map((c) => `${c.connection}: ${c.outcome}${c.why ? ` (${c.why})` : ''}${c.at ? ` ${c.at}` : ''}`)
        .join('; '),
  },
  { key: 'outcome', title: 'Outcome', value: (r) => r.outcome },
  {
    key: 'time_to_verified_s',
    title: 'Effective → verified (s)',
    value: (r) => (r.timeToVerifiedMs === undefined ? '' : String(Math.round(r.timeToVerifiedMs / 1000))),
  },
  {
    key: 'time_to_verified',
    title: 'Effective → verified',
    value: (r) => (r.timeToVerifiedMs === undefined ? '' : formatDurationShort(r.timeToVerifiedMs)),
  },
  { key: 'flags', title: 'Flags', value: (r) => r.flags.join(' ') },
  { key: 'audit_entries', title: 'Audit entries', value: (r) => r.entryIds.join(' ') },
];

/** The row as `key → cell` strings. */
export function cellsOf(row: ReportRow): Record<string, string> {
  return Object.fromEntries(CELLS.map((c) => [c.key, c.value(row)]));
}
