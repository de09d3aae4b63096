import type { RequestState } from '../domain/request.ts';
import { TERMINAL_STATES } from '../domain/request.ts';
import type { Notifier, PipelineEvent } from '../intake/notifier.ts';
import type { RequestRecord } from '../intake/types.ts';
import type { Logger } from '../log.ts';
import type { SlackMessageStore } from './message-store.ts';
import {
  buildDeadLetterNotice,
  buildHrEventFailedNotice,
  buildOutcomeNotice,
  buildUnknownEmployeeNotice,
} from './messages/notify-messages.ts';
import { buildOutcomeDm } from './messages/outcome-message.ts';
import { jobId, type SlackOutbox } from './slack-outbox.ts';

const AUTOMATED_SOURCES = new Set(['hr', 'scim', 'gtr']);
const isSlackUser = (id: string) => /^[UW][A-Z0-9]+$/.test(id);

/** What a refused post is about, and whom to tell (a Slack requester). */
function aboutOf(r: RequestRecord): { requestId: string; requester?: string } {
  const slackRequester = r.requestedBy.source === 'slack' && isSlackUser(r.requestedBy.id);
  return { requestId: r.id, ...(slackRequester ? { requester: r.requestedBy.id } : {}) };
}

export interface SlackNotifierOptions {
  outbox: SlackOutbox;
  store: SlackMessageStore;
  approvalsChannel?: string;
  notifyChannel?: string;
  logger: Logger;
  /** Several connections configured: messages name the connection a request belongs to. */
  severalConnections?: boolean;
}

/**
 * Turns pipeline events into Slack messages. `notify` only writes to Redis (the outbox queue and the
 * latest request state); it never calls Slack and never throws, so it cannot delay a revocation.
 */
export class SlackNotifier implements Notifier {
  constructor(private readonly options: SlackNotifierOptions) {}

  async notify(event: PipelineEvent): Promise<void> {
    try {
      await this.dispatch(event);
    } catch (err) {
      this.options.logger.warn(
        { event: event.type, err: err instanceof Error ? err.message : String(err) },
        'slack notifier: could not queue a message',
      );
    }
  }

  private async dispatch(event: PipelineEvent): Promise<void> {
    const { outbox, notifyChannel } = this.options;
    if (event.type === 'hr.unknown_employee') {
      if (notifyChannel) {
        await outbox.post(
          notifyChannel,
          buildUnknownEmployeeNotice(event),
          jobId('unknown', event.source, event.eventId),
        );
      }
      return;
    }
    if (event.type === 'hr.event_failed') {
      if (notifyChannel) {
        await outbox.post(
          notifyChannel,
          buildHrEventFailedNotice(event),
          jobId('hrfail', event.source, event.eventId, event.final ? 'final' : 'retrying'),
        );
      }
      return;
    }
    if (event.type === 'intake.rejected') return;
    const r = event.request;
    // A fanned-out revocation's part in one connection is shown through its parent's lines, never alone.
    if (r.parent !== undefined) return;
    await this.approvalMessage(event.type, r);
    const about = aboutOf(r);
    if (AUTOMATED_SOURCES.has(r.source) && notifyChannel) await this.notice(event.type, r);
    if (event.type === 'request.dead_lettered' && notifyChannel) {
      await outbox.post(notifyChannel, buildDeadLetterNotice(r), jobId('deadletter', r.id), about);
    }
    if (TERMINAL_STATES.includes(r.state) && event.type !== 'request.progress') {
      await this.outcome(r);
    }
  }

  /** Posts the approval message on creation; afterwards re-renders it in place (progress coalesced). */
  private async approvalMessage(type: string, r: RequestRecord): Promise<void> {
    const { outbox, store, approvalsChannel } = this.options;
    if (!approvalsChannel || r.requiredApprovals <= 0) return;
    if (type === 'request.created') {
      if (r.state !== 'pending_approval') return;
      await store.saveState(r);
      await outbox.postApproval(r.id, approvalsChannel, aboutOf(r).requester);
      return;
    }
    await store.saveState(r);
    const progress = type === 'request.progress';
    await outbox.updateApproval(r.id, {
      coalesce: progress,
      key: `${r.state}-${r.approvals.length}-${type}`,
      // Steps on the way (approved → queued → started) settle into one update; an outcome goes at once.
      settle: !TERMINAL_STATES.includes(r.state),
    });
  }

  /**
   * The notify channel's notice of an HR/SCIM request: posted once, then updated in place from the newest
   * state on reschedule (`request.scheduled`), start, approval, cancel and outcome.
   */
  private async notice(type: string, r: RequestRecord): Promise<void> {
    const { outbox, store, notifyChannel } = this.options;
    if (type === 'request.progress') return;
    await store.saveState(r);
    if (type === 'request.created') {
      await outbox.postNotice(r.id, notifyChannel!);
      return;
    }
    await outbox.updateNotice(r.id, `${type}-${r.state}-${r.effectiveAt ?? ''}`);
  }

  /** DMs a Slack requester; announces automated outcomes and every failure in the notify channel. */
  private async outcome(r: RequestRecord): Promise<void> {
    const { outbox, notifyChannel } = this.options;
    const state: RequestState = r.state;
    if (r.requestedBy.source === 'slack' && isSlackUser(r.requestedBy.id)) {
      await outbox.post(
        r.requestedBy.id,
        buildOutcomeDm(r, { severalConnections: this.options.severalConnections === true }),
        jobId('dm', r.id, state),
      );
    }
    // The workflow's notify steps, plus the notify channel for automated requests and every failure.
    const channels = new Set(r.notifyChannels ?? []);
    if (notifyChannel && (state === 'failed' || (AUTOMATED_SOURCES.has(r.source) && state !== 'cancelled'))) {
      channels.add(notifyChannel);
    }
    for (const channel of channels) {
      await outbox.post(channel, buildOutcomeNotice(r), jobId('outcome', r.id, state, channel), aboutOf(r));
    }
  }
}
