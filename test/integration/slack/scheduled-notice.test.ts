import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.ts';
import { jobIds } from '../../../src/queue/names.ts';
import { createSlackNotifications, type SlackNotifications } from '../../../src/slack/index.ts';
import { fireNow } from '../../helpers/delayed-jobs.ts';
import { FakeSlackIdp } from '../../helpers/fake-intake-slack.ts';
import { connectRedis, deleteKeys, randomPrefix } from '../../helpers/redis.ts';
import { SlackApiStub, type SlackCall } from '../../helpers/slack.ts';
import { type SlackTestPipeline, slackTestPipeline } from '../../helpers/slack-intake.ts';

/**
 * Issue 20 item 6: the notify channel's notice of a scheduled HR offboarding is one message, updated in
 * place (chat.update on its stored ts) when it is rescheduled, when it starts (the Cancel button goes)
 * and with its outcome. Before, a reschedule posted a second notice and nothing was ever updated: the
 * old date and a working Cancel button stayed after the revocation ran.
 */
const config = {
  SLACK_SIGNING_SECRET: 's',
  SLACK_BOT_TOKEN: 'xoxb-test',
  SLACK_APP_TOKEN: undefined,
  SLACK_API_URL: 'http://slack-notice.test/api/',
  SLACK_APPROVALS_CHANNEL: 'C0APPROVALS',
  SLACK_NOTIFY_CHANNEL: 'C0NOTIFY',
};
const stub = new SlackApiStub(config.SLACK_API_URL);
let redis: Redis;
let prefix: string;
let n: SlackNotifications;
let pipe: SlackTestPipeline;

beforeAll(async () => {
  stub.listen();
  redis = connectRedis();
  prefix = randomPrefix('slack-notice');
  n = createSlackNotifications(
    { config, redis, prefix, logger: silentLogger },
    { coalesceMs: 100, settleMs: 20, backoffMs: 50 },
  );
  n.startWorker();
  pipe = await slackTestPipeline({ idp: new FakeSlackIdp(), alsoNotify: n.notifier });
  await pipe.startWorkers();
});
afterAll(async () => {
  await pipe?.close();
  await n.close();
  await deleteKeys(redis, prefix);
  await redis.quit();
  stub.close();
});

const text = (c: SlackCall) => JSON.stringify(c.args);

describe('the scheduled-offboarding notice', () => {
  it('is posted once and updated in place on reschedule, start and outcome; Cancel goes when it starts', async () => {
    const first = new Date(Date.now() + 3_600_000).toISOString();
    const { request } = await pipe.intake.submit({
      target: { kind: 'user', userId: 'usr_alice' },
      reason: 'terminated',
      source: 'hr',
      requestedBy: { source: 'hr', id: 'bamboohr' },
      effectiveAt: first,
    });
    expect(request.state).toBe('scheduled');
    const post = await stub.next(
      'chat.postMessage',
      (c) => c.args.channel === 'C0NOTIFY' && text(c).includes(request.id),
    );
    expect(text(post)).toContain(first);
    expect(text(post)).toContain('scheduled_cancel');
    const ts = post.answer!.ts;
    const onNotice = (c: SlackCall) => c.args.channel === 'C0NOTIFY' && c.args.ts === ts;

    const second = new Date(Date.now() + 7_200_000).toISOString();
    await pipe.intake.reschedule(request.id, second, { source: 'hr', id: 'bamboohr' });
    const moved = await stub.next('chat.update', (c) => onNotice(c) && text(c).includes(second));
    expect(text(moved)).not.toContain(first);
    expect(text(moved)).toContain('scheduled_cancel');

    await fireNow(pipe.queues.revocations, jobIds.start(request.id));
    const done = await stub.next('chat.update', (c) => onNotice(c) && /verified/i.test(text(c)), 0, 15_000);
    expect(text(done)).not.toContain('scheduled_cancel');
    // One notice: no second post about this request's schedule.
    const posts = stub.calls.filter(
      (c) =>
        c.method === 'chat.postMessage' && c.args.channel === 'C0NOTIFY' && text(c).includes('scheduled for'),
    );
    expect(posts).toHaveLength(1);
    // Every update after the start is without the Cancel button.
    const started = stub.calls.findIndex(
      (c) => c.method === 'chat.update' && onNotice(c) && !text(c).includes('scheduled_cancel'),
    );
    expect(
      stub.calls.slice(started).filter((c) => onNotice(c) && text(c).includes('scheduled_cancel')),
    ).toEqual([]);
  });
});
