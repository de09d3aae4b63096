import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.ts';
import { createSlackApp } from '../../../src/slack/index.ts';
import { FakeSlackIdp } from '../../helpers/fake-intake-slack.ts';
import { connectRedis } from '../../helpers/redis.ts';
import {
  interactivityBody,
  messageButtonPayload,
  postSlack,
  SlackApiStub,
  slashCommandBody,
} from '../../helpers/slack.ts';
import { type SlackTestPipeline, slackTestPipeline } from '../../helpers/slack-intake.ts';

/**
 * Bolt given a bot token without token verification calls auth.test before every listener, i.e. a
 * Slack round trip ahead of every ack (found by bench/slack.bench.ts). The app must not call Slack
 * before acking a command or a click, nor on start-up.
 */
const SECRET = 'test-signing-secret';
const config = {
  SLACK_SIGNING_SECRET: SECRET,
  SLACK_BOT_TOKEN: 'xoxb-test',
  SLACK_APP_TOKEN: undefined,
  SLACK_API_URL: 'http://slack.auth-test.test/api/',
  SLACK_APPROVALS_CHANNEL: 'C0APPROVALS',
  SLACK_NOTIFY_CHANNEL: 'C0NOTIFY',
};
const stub = new SlackApiStub(config.SLACK_API_URL);
const redis = connectRedis();
let server: Server;
let pipe: SlackTestPipeline;
let url: string;

beforeAll(async () => {
  stub.listen();
  const idp = new FakeSlackIdp();
  pipe = await slackTestPipeline({ idp });
  const slack = createSlackApp({
    config,
    intake: pipe.intake,
    idp,
    redis,
    prefix: 'no-auth-test',
    logger: silentLogger,
    access: pipe.access,
  });
  const app = express();
  app.use('/slack/events', slack.handler);
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  stub.close();
  await pipe.close();
  redis.disconnect();
});

it('acks commands and clicks without calling auth.test (and the listeners still get the bot token)', async () => {
  for (let i = 0; i < 3; i++) {
    const res = await postSlack(url, slashCommandBody({ text: 'help', userId: 'U0REQ' }), { secret: SECRET });
    expect(res.status).toBe(200);
  }
  const click = interactivityBody(
    messageButtonPayload({ userId: 'U0REQ', actionId: 'approval_deny', value: 'req_missing' }),
  );
  expect((await postSlack(url, click, { secret: SECRET })).status).toBe(200);
  // The modal path calls the Web API with the bot token from the config.
  const res = await postSlack(url, slashCommandBody({ text: '', userId: 'U0REQ' }), { secret: SECRET });
  expect(res.status).toBe(200);
  const opened = await stub.next('views.open');
  expect(opened.authorization).toBe('Bearer xoxb-test');
  expect(stub.calls.filter((c) => c.method === 'auth.test')).toEqual([]);
});
