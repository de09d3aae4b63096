import type { Logger } from '../log.ts';
import type { Notifier, PipelineEvent } from './notifier.ts';

/** The notifier when Slack is not configured: one structured log line per event (ids, never tokens). */
export class LogNotifier implements Notifier {
  constructor(private readonly logger: Logger) {}

  async notify(event: PipelineEvent): Promise<void> {
    if ('request' in event) {
      const r = event.request;
      this.logger.info(
        {
          event: event.type,
          requestId: r.id,
          state: r.state,
          target: r.target,
          progress: r.progress,
          result: r.result,
        },
        `request ${r.id}: ${event.type}`,
      );
      return;
    }
    this.logger.warn({ ...event, event: event.type }, event.type);
  }
}
