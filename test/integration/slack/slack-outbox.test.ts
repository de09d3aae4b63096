import { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { HttpResponse } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.ts';
import {
  createSlackNotifications,
  SLACK_OUTBOX_QUEUE,
  type SlackNotifications,
} from '../../../src/slack/index.ts';
import { connectRedis, deleteKeys, randomPrefix } from '../../helpers/redis.ts';
import { SlackApiStub } from '../../helpers/slack.ts';

const config = {
  SLACK_SIGNING_SECRET: 's',
  SLACK_BOT_TOKEN: 'xoxb-test',
  SLACK_APP_TOKEN: undefined,
  SLACK_API_URL: 'http://slack-outbox.test/api/',
  SLACK_APPROVALS_CHANNEL: 'C_APPROVALS',
  SLACK_NOTIFY_CHANNEL: 'C_NOTIFY',
};

const stub = new SlackApiStub(config.SLACK_API_URL);
let redis: Redis;
let prefix: string;
let n: SlackNotifications;

beforeAll(async () => {
  stub.listen();
  redis = connectRedis();
  prefix = randomPrefix('slack-outbox');
  n = createSlackNotifications({ config, redis, prefix, logger: silentLogger }, { backoffMs: 50 });
  n.startWorker();
});

afterEach(() => stub.reset());

afterAll(async () => {
  await n.close();
  await deleteKeys(redis, prefix);
  await redis.quit();
  stub.close();
});

describe('slack-outbox on the real Redis', () => {
  it('waits the Retry-After of a Slack 429, then delivers once, without using up an attempt', async () => {
    const rejectedAt: number[] = [];
    stub.overrides.set('chat.postMessage', () => {
      if (rejectedAt.length > 0) return undefined;
      rejectedAt.push(Date.now());
      return HttpResponse.json(
        { ok: false, error: 'ratelimited' },
        { status: 429, headers: { 'Retry-After': '1' } },
      );
    });
    await n.outbox.post('C_NOTIFY', { text: 'hello', blocks: [] }, 'rate-limit-test');
    // notify()/post() only enqueue: they return before Slack has the message, whatever Slack is doing.
    expect(stub.calls.filter((c) => c.method === 'chat.postMessage')).toEqual([]);
    expect(await n.outbox.queue.getJob('rate-limit-test')).toBeDefined();
    const call = await stub.next('chat.postMessage', (c) => c.args.text === 'hello');
    expect(rejectedAt).toHaveLength(1);
    expect(Date.now() - rejectedAt[0]!).toBeGreaterThanOrEqual(950);
    expect(stub.calls.filter((c) => c.method === 'chat.postMessage')).toHaveLength(1);
    expect(call.args.channel).toBe('C_NOTIFY');
    const job = await n.outbox.queue.getJob('rate-limit-test');
    expect(job?.attemptsMade ?? 0).toBe(0);
  });

  it('retries a Slack 5xx with backoff and delivers', async () => {
    let failures = 0;
    stub.overrides.set('chat.postMessage', () => {
      if (failures >= 2) return undefined;
      failures++;
      return HttpResponse.text('upstream down', { status: 503 });
    });
    await n.outbox.post('C_NOTIFY', { text: 'after outage', blocks: [] });
    await stub.next('chat.postMessage', (c) => c.args.text === 'after outage');
    expect(failures).toBe(2);
  });

  it('drops a permanent Slack error instead of retrying', async () => {
    let calls = 0;
    stub.overrides.set('chat.postMessage', () => {
      calls++;
      return HttpResponse.json({ ok: false, error: 'channel_not_found' });
    });
    await n.outbox.post('C_GONE', { text: 'nowhere', blocks: [] }, 'permanent-test');
    const events = new QueueEvents(SLACK_OUTBOX_QUEUE, { connection: connectRedis(), prefix });
    try {
      await events.waitUntilReady();
      const job = await n.outbox.queue.getJob('permanent-test');
      await expect(job!.waitUntilFinished(events)).rejects.toThrow(/channel_not_found/);
      expect(calls).toBe(1);
    } finally {
      await events.close();
    }
  });
});
