import type { AuditEntry, AuditEntryInput, AuditLog, AuditVerifyResult } from '../../src/audit/types.ts';

/** In-memory AuditLog: keeps entries in order and honours `dedupeKey`; no hashing. */
export class MemoryAuditLog implements AuditLog {
  readonly list: AuditEntry[] = [];
  private readonly keys = new Set<string>();

  async append(entry: AuditEntryInput, options?: { dedupeKey?: string }): Promise<AuditEntry | undefined> {
    if (options?.dedupeKey) {
      if (this.keys.has(options.dedupeKey)) return undefined;
      this.keys.add(options.dedupeKey);
    }
    const full: AuditEntry = {
      ...entry,
      id: String(this.list.length + 1),
      seq: this.list.length + 1,
      at: new Date().toISOString(),
      prevHash: '',
      hash: '',
    };
    this.list.push(full);
    return full;
  }

  async *entries(): AsyncIterable<AuditEntry> {
    yield* this.list;
  }

  async verify(): Promise<AuditVerifyResult> {
    return { ok: true, count: this.list.length };
  }

  of(action: AuditEntry['action']): AuditEntry[] {
    return this.list.filter((e) => e.action === action);
  }
}
