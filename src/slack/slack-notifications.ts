import { WebClient } from '@slack/web-api';
import type { SlackDeps } from './deps.ts';
import { SlackMessageStore } from './message-store.ts';
import { SlackNotifier } from './slack-notifier.ts';
import { type OutboxClient, SlackOutbox } from './slack-outbox.ts';

export interface SlackNotifications {
  notifier: SlackNotifier;
  outbox: SlackOutbox;
  store: SlackMessageStore;
  /** Starts the slack-outbox worker (worker role); uses `client` or a WebClient on SLACK_API_URL. */
  startWorker(client?: OutboxClient): void;
  close(): Promise<void>;
}

/** The WebClient the outbox worker uses: no built-in retries, 429s rejected so the job is delayed. */
export function createOutboxClient(config: SlackDeps['config']): WebClient {
  return new WebClient(config.SLACK_BOT_TOKEN, {
    slackApiUrl: config.SLACK_API_URL,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
  });
}

/** Notifier + outbox + message store, wired from the shared deps. */
export function createSlackNotifications(
  deps: Pick<SlackDeps, 'config' | 'redis' | 'prefix' | 'logger' | 'metrics'>,
  options: {
    coalesceMs?: number;
    settleMs?: number;
    backoffMs?: number;
    updatesPerMinute?: number;
    /** Several connections configured: messages name the connection a request belongs to. */
    severalConnections?: boolean;
  } = {},
): SlackNotifications {
  const store = new SlackMessageStore(deps.redis, deps.prefix);
  const outbox = new SlackOutbox({
    connection: deps.redis,
    prefix: deps.prefix,
    store,
    logger: deps.logger,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    ...options,
  });
  const notifier = new SlackNotifier({
    outbox,
    store,
    approvalsChannel: deps.config.SLACK_APPROVALS_CHANNEL,
    notifyChannel: deps.config.SLACK_NOTIFY_CHANNEL,
    logger: deps.logger,
    ...(options.severalConnections ? { severalConnections: true } : {}),
  });
  return {
    notifier,
    outbox,
    store,
    startWorker: (client) => {
      outbox.startWorker(client ?? createOutboxClient(deps.config));
    },
    close: () => outbox.close(),
  };
}
