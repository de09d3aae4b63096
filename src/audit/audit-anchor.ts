import { appendFile, mkdir, open, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../log.ts';
import type { AuditKeys } from './audit-keys.ts';

/**
 * The chain's head written outside Redis now and then: one JSON line per anchor in
 * `AUDIT_ARCHIVE_DIR/anchors.<prefix>.jsonl` and, when set, `AUDIT_ANCHOR_FILE` (another volume or host mount).
 * `audit verify` then catches what a hash chain held only in Redis cannot: entries deleted at the tail
 * (with the head moved back) before the last anchor, and a chain recomputed from an earlier point.
 */
/** The anchor file's name in the archive directory: one per REVOKER_PREFIX, so deployments sharing a directory never mix. */
export const anchorFileName = (prefix: string) => `anchors.${prefix.replace(/[^A-Za-z0-9_.-]/g, '_')}.jsonl`;

export const AnchorSchema = z
  .object({
    seq: z.number().int().min(0),
    hash: z.string().regex(/^[0-9a-f]{64}$/),
    id: z.string(),
    at: z.string(),
    kid: z.string().optional(),
    mac: z.string().optional(),
  })
  .strict();
export type Anchor = z.infer<typeof AnchorSchema>;

/** Where anchors go: the archive directory's file and, optionally, one more. */
export function anchorPaths(archiveDir: string, prefix: string, extraFile?: string): string[] {
  return [join(archiveDir, anchorFileName(prefix)), ...(extraFile ? [extraFile] : [])];
}

/** Appends `anchor` (with its MAC when keys are given) to every path, durably (fsync). */
export async function writeAnchor(paths: readonly string[], anchor: Anchor): Promise<void> {
  const line = `${JSON.stringify(anchor)}\n`;
  for (const path of paths) {
    await mkdir(dirname(path), { recursive: true });
    await appendFile(path, line, { mode: 0o600 });
    const handle = await open(path, 'r');
    await handle.sync();
    await handle.close();
  }
}

/** Every anchor in `paths` (missing files are empty); a malformed line is reported, not skipped. */
export async function readAnchors(
  paths: readonly string[],
): Promise<{ ok: true; anchors: Anchor[] } | { ok: false; reason: string }> {
  const anchors: Anchor[] = [];
  for (const path of paths) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    for (const [i, line] of text.split('\n').entries()) {
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        return { ok: false, reason: `${path} line ${i + 1}: not JSON` };
      }
      const parsed = AnchorSchema.safeParse(value);
      if (!parsed.success) return { ok: false, reason: `${path} line ${i + 1}: not an anchor` };
      anchors.push(parsed.data);
    }
  }
  return { ok: true, anchors };
}

export interface AnchoringOptions {
  /** Reads the chain head (seq, hash, id) from Redis. */
  head(): Promise<{ seq: number; hash: string; id: string }>;
  paths: string[];
  keys?: AuditKeys | undefined;
  logger: Logger;
  /** How often the head is anchored (only when it moved). Default 60,000 ms. */
  intervalMs?: number;
  clock?: () => Date;
}

/** Anchors the head now and every interval while it moves; `runOnce` for tests and shutdown. */
export function startAuditAnchoring(o: AnchoringOptions): { runOnce(): Promise<boolean>; stop(): void } {
  let lastSeq = -1;
  const runOnce = async (): Promise<boolean> => {
    const head = await o.head();
    if (head.seq === lastSeq || head.seq === 0) return false;
    const at = (o.clock?.() ?? new Date()).toISOString();
    await writeAnchor(o.paths, {
      ...head,
      at,
      ...(o.keys ? o.keys.sign(`anchor:${head.seq}:${head.hash}`) : {}),
    });
    lastSeq = head.seq;
    return true;
  };
  const run = () =>
    runOnce().catch((err: unknown) => {
      o.logger.error({ err: String(err) }, 'audit anchoring failed');
      return false;
    });
  void run();
  const timer = setInterval(run, o.intervalMs ?? 60_000);
  timer.unref();
  return { runOnce, stop: () => clearInterval(timer) };
}
