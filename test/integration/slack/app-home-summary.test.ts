import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.ts';
import { offboardingSummarySource } from '../../../src/report/report-summary-source.ts';
import { createSlackApp } from '../../../src/slack/index.ts';
import { FakeSlackIdp } from '../../helpers/fake-intake-slack.ts';
import { connectRedis, deleteKeys, randomPrefix } from '../../helpers/redis.ts';
import { appHomeOpenedBody, postSlack, SlackApiStub } from '../../helpers/slack.ts';
import {
  SLACK_TEST_APPROVERS,
  type SlackTestPipeline,
  slackTestPipeline,
} from '../../helpers/slack-intake.ts';

const SECRET = 'test-signing-secret';
const config = {
  SLACK_SIGNING_SECRET: SECRET,
  SLACK_BOT_TOKEN: 'xoxb-test',
  SLACK_APP_TOKEN: undefined,
  SLACK_API_URL: 'http://slack.test/api/',
  SLACK_APPROVALS_CHANNEL: 'C0APPROVALS',
  SLACK_NOTIFY_CHANNEL: 'C0NOTIFY',
};

const stub = new SlackApiStub(config.SLACK_API_URL);
let redis: Redis;
let prefix: string;
let server: Server;
let url: string;
let pipe: SlackTestPipeline;

beforeAll(async () => {
  stub.listen();
  redis = connectRedis();
  prefix = randomPrefix('home-summary');
  pipe = await slackTestPipeline({ idp: new FakeSlackIdp() });
  await pipe.startWorkers();
  // One offboarding in the audit chain: an HR termination of alice, verified.
  const rec = await pipe.submitAndWait({
    target: { kind: 'user', userId: 'usr_alice' },
    source: 'hr',
    requestedBy: { source: 'hr', id: 'standard' },
    reason: 'HR offboarding',
  });
  expect(rec.state).toBe('verified');
  const slack = createSlackApp({
    config,
    intake: pipe.intake,
    idp: pipe.idp,
    redis,
    prefix,
    logger: silentLogger,
    access: pipe.access,
    reportSummary: offboardingSummarySource({ audit: pipe.audit, slaMs: 3_600_000 }),
  });
  const app = express();
  app.use('/slack/events', slack.handler);
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
}, 30_000);

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await pipe.close();
  await deleteKeys(redis, prefix);
  await redis.quit();
  stub.close();
});

async function openHome(userId: string): Promise<string> {
  const since = stub.calls.length;
  const res = await postSlack(url, appHomeOpenedBody(userId), {
    secret: SECRET,
    contentType: 'application/json',
  });
  expect(res.status).toBe(200);
  const publish = await stub.next('views.publish', (c) => c.args.user_id === userId, since);
  return JSON.stringify(publish.args.view);
}

describe('App Home: the last 30 days’ offboarding summary', () => {
  it('an approver sees the count, p95 and SLA breaches from the audit log', async () => {
    const view = await openHome(SLACK_TEST_APPROVERS[0]!);
    expect(view).toContain('Offboarding, last 30 days');
    expect(view).toContain('*Offboardings*\\n1');
    expect(view).toMatch(/\*p95 effective → verified\*\\n\d+s/);
    expect(view).toContain('*Over the 1h 00m SLA*\\n0');
  });

  it('a user in no workflow, and a requester who is not an admin or approver, see none of it', async () => {
    for (const user of ['U0NOBODY', 'U0REQ']) {
      const view = await openHome(user);
      expect(view).toContain('Waiting for my approval');
      expect(view).not.toContain('Offboarding, last 30 days');
      expect(view).not.toContain('Offboardings');
    }
  });
});
