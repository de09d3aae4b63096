import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { AuditEntry, AuditLog } from './types.ts';

export interface ExportOptions {
  format: 'jsonl' | 'csv';
  /** Only entries at or after this time; default: all. */
  since?: Date;
}

export const CSV_COLUMNS = [
  'seq',
  'id',
  'at',
  'action',
  'actor_source',
  'actor_id',
  'actor_name',
  'request_id',
  'target',
  'detail',
  'prev_hash',
  'hash',
] as const;

/** RFC 4180: quote a field containing a comma, quote, CR or LF; double the quotes inside. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function csvRow(e: AuditEntry): string {
  const cells = [
    String(e.seq),
    e.id,
    e.at,
    e.action,
    e.actor.source,
    e.actor.id,
    e.actor.name ?? '',
    e.requestId ?? '',
    e.target === undefined ? '' : JSON.stringify(e.target),
    e.detail === undefined ? '' : JSON.stringify(e.detail),
    e.prevHash,
    e.hash,
  ];
  // RFC 4180 records end in CRLF.
  return `${cells.map(csvField).join(',')}\r\n`;
}

function jsonLine(e: AuditEntry): string {
  // A stable, readable field order for auditors (the hash does not depend on it).
  const { seq, id, at, action, actor, requestId, target, detail, prevHash, hash } = e;
  return `${JSON.stringify({ seq, id, at, action, actor, requestId, target, detail, prevHash, hash })}\n`;
}

/**
 * Streams the log to `out` as JSON Lines or CSV (header row first), honouring back-pressure so a
 * large log never piles up in memory. Resolves with the number of entries written; does not end `out`.
 */
export async function exportAudit(log: AuditLog, options: ExportOptions, out: Writable): Promise<number> {
  const write = async (chunk: string) => {
    if (!out.write(chunk)) await once(out, 'drain');
  };
  if (options.format === 'csv') await write(`${CSV_COLUMNS.join(',')}\r\n`);
  const format = options.format === 'csv' ? csvRow : jsonLine;
  let count = 0;
  for await (const entry of log.entries(options.since ? { since: options.since } : {})) {
    await write(format(entry));
    count++;
  }
  return count;
}
