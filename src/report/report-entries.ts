import { archiveFiles, readArchive } from '../audit/audit-archive.ts';
import type { AuditEntry, AuditLog } from '../audit/types.ts';
import { ValidationError } from '../domain/errors.ts';

export interface ReadEntriesOptions {
  /** AUDIT_ARCHIVE_DIR: read when the period starts before the oldest entry still in Redis. */
  archiveDir?: string;
  /** Start of the report's period. */
  since: Date;
  /** Stop after this seq (a report is rebuilt from the chain exactly as far as it read). */
  upToSeq?: number;
}

/**
 * The audit entries a report is built from, in chain order: the stream in Redis, preceded by the archive
 * files' entries when the period reaches back before what Redis still holds (AUDIT_RETENTION_DAYS moved
 * the rest there). Every entry is read, not only the period's: a request created before the period can
 * take effect in it, and one effective in it is verified after it.
 */
export async function readReportEntries(audit: AuditLog, options: ReadEntriesOptions): Promise<AuditEntry[]> {
  const stream: AuditEntry[] = [];
  for await (const e of audit.entries()) {
    if (options.upToSeq !== undefined && e.seq > options.upToSeq) break;
    stream.push(e);
  }
  const first = stream[0];
  const needArchive =
    options.archiveDir !== undefined &&
    (first === undefined ? true : first.seq > 1 && Date.parse(first.at) > options.since.getTime());
  if (!needArchive) return stream;
  const archived: AuditEntry[] = [];
  for (const file of await archiveFiles(options.archiveDir!)) {
    for await (const line of readArchive(file)) {
      if (line.kind === 'bad') throw new ValidationError(`${file} line ${line.line}: ${line.error}`);
      if (line.kind !== 'entry') continue;
      // Archive lines are entries exactly as the stream held them; `audit verify --archive` proves them.
      const e = line.value as AuditEntry;
      if (first !== undefined && e.seq >= first.seq) break;
      if (options.upToSeq !== undefined && e.seq > options.upToSeq) break;
      archived.push(e);
    }
  }
  return [...archived, ...stream];
}
