import type { RefusalRecorder } from '../audit/refusal-log.ts';
import type { AuditAction, AuditLog } from '../audit/types.ts';
import { ForbiddenError } from '../domain/errors.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Notifier, RequestEventType } from './notifier.ts';
import type { RequestRecord, SubmitInput } from './types.ts';

export type AuditDetail = Record<string, string | number | boolean | null>;

/** May someone decide: yes, or no with a stable code (for the refusal log) and the reason to show. */
export type Decision = { ok: true } | { ok: false; code: string; reason: string };

export type AuditActor = { source: string; id: string; name?: string | undefined };

export const systemActor = { source: 'system', id: 'revoker' } as const;

export function actorOf(actor: { source: string; id: string; name?: string | undefined }) {
  return { source: actor.source, id: actor.id, ...(actor.name ? { name: actor.name } : {}) };
}

export interface RequestChronicleOptions {
  audit: AuditLog;
  notifier: Notifier;
  metrics: Metrics;
  logger: Logger;
  refusals?: RefusalRecorder | undefined;
}

/**
 * What the intake tells the world about a request: the audit log (each state change exactly once), the
 * notifier, and refusals (counted, not logged per click).
 */
export class RequestChronicle {
  constructor(private readonly o: RequestChronicleOptions) {}

  /** A state change: audited once per request and action, however often it is retried. */
  record(action: AuditAction, rec: RequestRecord, actor: AuditActor, detail: AuditDetail) {
    return this.audit(action, actor, rec, detail, `${rec.id}:${action}`);
  }

  async audit(
    action: AuditAction,
    actor: AuditActor,
    rec: RequestRecord,
    detail: AuditDetail,
    dedupeKey?: string,
  ): Promise<void> {
    const entry = { action, actor: actorOf(actor), requestId: rec.id, target: rec.target, detail };
    await this.o.audit.append(entry, dedupeKey ? { dedupeKey } : undefined);
  }

  async announce(type: RequestEventType, request: RequestRecord): Promise<void> {
    try {
      await this.o.notifier.notify({ type, request });
    } catch (err) {
      // A notice never blocks a revocation.
      this.o.logger.warn({ requestId: request.id, err: (err as Error).message }, 'notifier failed');
    }
  }

  /**
   * Refuses `actor` at `attempted`: counted per minute in the refusal log (one audit entry per actor,
   * reason and minute, however many clicks), then a ForbiddenError with the reason.
   */
  async refuse(
    actor: AuditActor,
    rec: RequestRecord,
    refusal: Extract<Decision, { ok: false }>,
    attempted: string,
  ): Promise<never> {
    this.o.metrics.rejections.inc({ source: actor.source, reason: 'forbidden' });
    if (this.o.refusals) {
      this.o.refusals.record({
        action: 'request.rejected',
        actor: { source: actor.source, id: actor.id.slice(0, 64) },
        reason: `${attempted}:${refusal.code}`,
      });
    } else {
      await this.audit('request.rejected', actor, rec, { reason: refusal.reason, attempted });
    }
    throw new ForbiddenError(refusal.reason);
  }

  /** A submission no workflow allows: counted (or audited), and announced as rejected. */
  async reject(input: SubmitInput, reason: string): Promise<void> {
    this.o.metrics.rejections.inc({ source: input.source, reason: 'forbidden' });
    if (this.o.refusals) {
      // Counted per requester, reason and minute: a loop of refused submissions cannot grow the log.
      this.o.refusals.record({
        action: 'request.rejected',
        actor: { source: input.requestedBy.source, id: input.requestedBy.id.slice(0, 64) },
        reason: 'submit:not_allowed',
      });
    } else {
      await this.o.audit.append({
        action: 'request.rejected',
        actor: actorOf(input.requestedBy),
        target: input.target,
        detail: { reason, source: input.source },
      });
    }
    await this.o.notifier.notify({
      type: 'intake.rejected',
      source: input.source,
      reason,
      actorId: input.requestedBy.id,
    });
  }
}
