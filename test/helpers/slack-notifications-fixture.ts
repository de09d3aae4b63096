import type { Redis } from 'ioredis';
import { silentLogger } from '../../src/log.ts';
import { createSlackNotifications, type SlackNotifications } from '../../src/slack/index.ts';
import { connectRedis, deleteKeys, randomPrefix } from './redis.ts';
import { SlackApiStub } from './slack.ts';

/** The Slack notifier with its outbox worker on the real Redis, posting to the Slack Web API stand-in. */
export interface SlackNotificationsFixture {
  stub: SlackApiStub;
  redis: Redis;
  prefix: string;
  n: SlackNotifications;
  close(): Promise<void>;
}

/**
 * Starts the stand-in at `http://<host>/api/`, the notifications (short coalescing, so tests await real
 * updates quickly) and their worker, under a random prefix; `close` stops them and deletes the keys.
 */
export function startSlackNotifications(host: string, label: string): SlackNotificationsFixture {
  const config = {
    SLACK_SIGNING_SECRET: 's',
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_APP_TOKEN: undefined,
    SLACK_API_URL: `http://${host}/api/`,
    SLACK_APPROVALS_CHANNEL: 'C0APPROVALS',
    SLACK_NOTIFY_CHANNEL: 'C0NOTIFY',
  };
  const stub = new SlackApiStub(config.SLACK_API_URL);
  stub.listen();
  const redis = connectRedis();
  const prefix = randomPrefix(label);
  const n = createSlackNotifications(
    { config, redis, prefix, logger: silentLogger },
    { coalesceMs: 100, settleMs: 20, backoffMs: 50 },
  );
  n.startWorker();
  return {
    stub,
    redis,
    prefix,
    n,
    async close() {
      await n.close();
      await deleteKeys(redis, prefix);
      await redis.quit();
      stub.close();
    },
  };
}
