import { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { HttpResponse } from 'msw';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../../src/metrics.ts';
import {
  createSlackNotifications,
  SLACK_OUTBOX_QUEUE,
  type SlackNotifications,
} from '../../../src/slack/index.ts';
import { FakeSlackIdp } from '../../helpers/fake-intake-slack.ts';
import { connectRedis, deleteKeys, randomPrefix } from '../../helpers/redis.ts';
import { SlackApiStub } from '../../helpers/slack.ts';
import { slackTestPipeline } from '../../helpers/slack-intake.ts';

const config = {
  SLACK_SIGNING_SECRET: 's',
  SLACK_BOT_TOKEN: 'xoxb-test',
  SLACK_APP_TOKEN: undefined,
  SLACK_API_URL: 'http://slack-outbox.test/api/',
  SLACK_APPROVALS_CHANNEL: 'C0APPROVALS',
  SLACK_NOTIFY_CHANNEL: 'C0NOTIFY',
};

const stub = new SlackApiStub(config.SLACK_API_URL);
let redis: Redis;
let prefix: string;
let n: SlackNotifications;
const metrics = createMetrics();
/** What the outbox logs, as pino writes it. */
const logLines: Record<string, unknown>[] = [];
const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line)) });

beforeAll(async () => {
  stub.listen();
  redis = connectRedis();
  prefix = randomPrefix('slack-outbox');
  n = createSlackNotifications({ config, redis, prefix, logger, metrics }, { backoffMs: 50, settleMs: 50 });
  n.startWorker();
});

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  stub.reset();
  for (const c of cleanups.splice(0)) await c();
});

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
    await n.outbox.post('C0NOTIFY', { text: 'hello', blocks: [] }, 'rate-limit-test');
    // notify()/post() only enqueue: they return before Slack has the message, whatever Slack is doing.
    expect(stub.calls.filter((c) => c.method === 'chat.postMessage')).toEqual([]);
    expect(await n.outbox.queue.getJob('rate-limit-test')).toBeDefined();
    const call = await stub.next('chat.postMessage', (c) => c.args.text === 'hello');
    expect(rejectedAt).toHaveLength(1);
    expect(Date.now() - rejectedAt[0]!).toBeGreaterThanOrEqual(950);
    expect(stub.calls.filter((c) => c.method === 'chat.postMessage')).toHaveLength(1);
    expect(call.args.channel).toBe('C0NOTIFY');
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
    await n.outbox.post('C0NOTIFY', { text: 'after outage', blocks: [] });
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

  it.each([
    ['invalid_blocks', 'C0APPROVALS', 'Slack refused the message'],
    ['not_in_channel', 'C0APPROVALS', 'bot may need `/invite`'],
  ])(
    'a post refused with %s is logged with the rule, counted, and told to the requester',
    async (error, channel, says) => {
      stub.overrides.set('chat.postMessage', (c) =>
        c.args.channel === channel
          ? HttpResponse.json({
              ok: false,
              error,
              response_metadata: {
                messages: [
                  '[ERROR] must be less than 2001 characters [json-pointer:/blocks/1/fields/3/text]',
                ],
              },
            })
          : undefined,
      );
      // The real intake over the Slack test workflow, its events going to the notifier under test.
      const pipe = await slackTestPipeline({ idp: new FakeSlackIdp(), alsoNotify: n.notifier });
      cleanups.push(() => pipe.close());
      const before =
        (await metrics.slackRefusals.get()).values.find((v) => v.labels.error === error)?.value ?? 0;
      const { request } = await pipe.intake.submit({
        target: { kind: 'user', userId: 'usr_alice' },
        reason: 'r',
        source: 'slack',
        requestedBy: { source: 'slack', id: 'U0REQUESTER' },
      });
      const dm = await stub.next(
        'chat.postMessage',
        (c) => c.args.channel === 'U0REQUESTER' && String(c.args.text).includes(request.id),
      );
      expect(String(dm.args.text)).toContain(says);
      expect(String(dm.args.text)).toContain('Approvers were not notified');
      const after =
        (await metrics.slackRefusals.get()).values.find((v) => v.labels.error === error)?.value ?? 0;
      expect(after).toBe(before + 1);
      const line = logLines.find((l) => l.error === error && l.requestId === request.id);
      expect(line).toMatchObject({
        level: 50,
        method: 'chat.postMessage',
        channel,
        rule: expect.stringContaining('json-pointer:/blocks/1/fields/3/text'),
      });
    },
  );

  // Issue 20 item 10: these were retried 10 times (~8.5 minutes) and the requester never heard of it.
  it.each([
    'restricted_action',
    'no_permission',
    'team_access_not_granted',
    'not_allowed_token_type',
    'ekm_access_denied',
    'invalid_blocks_format',
  ])('%s (documented for chat.postMessage, permanent) is not retried', async (error) => {
    let calls = 0;
    stub.overrides.set('chat.postMessage', () => {
      calls++;
      return HttpResponse.json({ ok: false, error });
    });
    const id = `permanent-${error}`;
    await n.outbox.post('C0NOTIFY', { text: 'x', blocks: [] }, id);
    const events = new QueueEvents(SLACK_OUTBOX_QUEUE, { connection: connectRedis(), prefix });
    try {
      await events.waitUntilReady();
      const job = await n.outbox.queue.getJob(id);
      await expect(job!.waitUntilFinished(events)).rejects.toThrow(new RegExp(error));
      expect(calls).toBe(1);
    } finally {
      await events.close();
    }
  });

  it.each(['restricted_action', 'no_permission'])(
    'an approval post refused with %s is told to the requester',
    async (error) => {
      stub.overrides.set('chat.postMessage', (c) =>
        c.args.channel === 'C0APPROVALS' ? HttpResponse.json({ ok: false, error }) : undefined,
      );
      const pipe = await slackTestPipeline({ idp: new FakeSlackIdp(), alsoNotify: n.notifier });
      cleanups.push(() => pipe.close());
      const { request } = await pipe.intake.submit({
        target: { kind: 'user', userId: 'usr_alice' },
        reason: 'r',
        source: 'slack',
        requestedBy: { source: 'slack', id: 'U0REQUESTER' },
      });
      const dm = await stub.next(
        'chat.postMessage',
        (c) => c.args.channel === 'U0REQUESTER' && String(c.args.text).includes(request.id),
      );
      expect(String(dm.args.text)).toContain(`\`${error}\``);
      expect(
        stub.calls.filter((c) => c.method === 'chat.postMessage' && c.args.channel === 'C0APPROVALS'),
      ).toEqual([]);
    },
  );
});
