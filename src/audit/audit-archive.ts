import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { AuditEntry } from './types.ts';

/**
 * Audit entries moved out of Redis by the retention job: JSON Lines files named by the sequence
 * numbers they hold (`audit-000000000001-000000000500.jsonl`, so name order is chain order), each entry
 * exactly as it was in the stream (hash and prevHash included), then one closing line carrying the
 * chain head at that point (`{"head":{"seq","hash","id"}}`). The live stream's first entry chains to
 * the last file's head, so `audit verify` proves archive and stream as one chain.
 */
export interface ArchiveHead {
  seq: number;
  hash: string;
  id: string;
}

const NAME = /^audit-(\d{12})-(\d{12})\.jsonl$/;
const pad = (n: number) => String(n).padStart(12, '0');

/** Writes `entries` (consecutive, non-empty) as one archive file; durable (fsync, then rename) before it returns. */
export async function writeArchive(dir: string, entries: readonly AuditEntry[]): Promise<string> {
  const first = entries[0]!;
  const last = entries[entries.length - 1]!;
  await mkdir(dir, { recursive: true });
  const file = join(dir, `audit-${pad(first.seq)}-${pad(last.seq)}.jsonl`);
  const tmp = `${file}.tmp`;
  const out = createWriteStream(tmp);
  for (const e of entries) {
    if (!out.write(`${JSON.stringify(e)}\n`)) await once(out, 'drain');
  }
  const head: ArchiveHead = { seq: last.seq, hash: last.hash, id: last.id };
  out.end(`${JSON.stringify({ head })}\n`);
  await once(out, 'finish');
  const handle = await open(tmp, 'r');
  await handle.sync();
  await handle.close();
  await rename(tmp, file);
  return file;
}

/** Archive files in chain order (none when the directory does not exist). */
export async function archiveFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .filter((n) => NAME.test(n))
    .sort()
    .map((n) => join(dir, n));
}

export type ArchiveLine =
  | { kind: 'entry'; line: number; value: unknown }
  | { kind: 'head'; line: number; head: ArchiveHead }
  | { kind: 'bad'; line: number; error: string };

/** The lines of one archive file, parsed. */
export async function* readArchive(file: string): AsyncGenerator<ArchiveLine> {
  const lines = createInterface({
    input: createReadStream(file, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let n = 0;
  for await (const text of lines) {
    n++;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      yield { kind: 'bad', line: n, error: 'not JSON' };
      continue;
    }
    const head = (value as { head?: ArchiveHead } | null)?.head;
    if (head && typeof head === 'object') yield { kind: 'head', line: n, head };
    else yield { kind: 'entry', line: n, value };
  }
}
