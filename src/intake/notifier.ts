import type { Source } from '../domain/request.ts';
import type { RequestRecord } from './types.ts';

/** Lifecycle events the pipeline announces; Slack turns them into messages, the log notifier into lines. */
export type RequestEventType =
  | 'request.created'
  | 'request.approval_recorded'
  | 'request.approved'
  | 'request.denied'
  | 'request.expired'
  | 'request.cancelled'
  | 'request.scheduled'
  | 'request.queued'
  | 'request.started'
  | 'request.progress'
  | 'request.verified'
  | 'request.unverifiable'
  | 'request.failed'
  | 'request.dead_lettered';

export type PipelineEvent =
  | { type: RequestEventType; request: RequestRecord }
  | {
      type: 'hr.unknown_employee';
      source: Source | string;
      employeeId: string;
      email?: string;
      eventId: string;
    }
  | { type: 'intake.rejected'; source: Source | string; reason: string; actorId?: string }
  /**
   * An HR event could not be completed: the vendor refused Revoker's API credentials (retried until they
   * are fixed), or it failed for good after the vendor's redelivery span.
   */
  | {
      type: 'hr.event_failed';
      source: string;
      employeeId: string;
      eventId: string;
      reason: string;
      final: boolean;
    };

export interface Notifier {
  /** Must not throw for delivery problems: queue, retry, log. A notice never delays a revocation. */
  notify(event: PipelineEvent): Promise<void>;
}

/** Fans one event out to several notifiers. */
export class CompositeNotifier implements Notifier {
  constructor(private readonly notifiers: Notifier[]) {}
  async notify(event: PipelineEvent): Promise<void> {
    await Promise.all(this.notifiers.map((n) => n.notify(event)));
  }
}
