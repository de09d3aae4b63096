/**
 * Slack ack latency (DESIGN §8: Slack needs its ack within 3 s; our target is p99 ≤ 50 ms), through the
 * whole service (role all: embedded IDaaS, HTTP, workers, real Redis) against a bare Bolt app that only
 * acks, at the same fixed rate in this process, each pair run back to back. Every request is signed
 * freshly as Slack signs it (v0, current timestamp).
 *
 * - Slash commands: `/revoke help` (answered in the ack) alternating with `/revoke status <id>` of a
 *   real pending request (acks, reads the request from Redis, answers through `response_url`).
 * - Button clicks: Approve on real pending requests (slack-user workflow: one approver needed) by a
 *   Slack user who is not an approver: the real listener path (payload checks, intake.approve, the
 *   workflow's refusal, an audit entry) ending in an ephemeral refusal through `response_url`; the
 *   requests stay pending, so every click takes the same path.
 *
 * The Slack Web API and `response_url`s point at a local no-op server answering `{ok:true}`: what the
 * handlers send after the ack is real HTTP, but cheap. After the load, the bench checks that every
 * status and click got its `response_url` answer and that no request changed state.
 *
 * Then, Slack calls per request: a second service talks to the demo's Slack stand-in (which enforces the
 * Block Kit contract and answers like Slack), and requests run from approval to verified, one of them a
 * long revocation (rate-limited IdP) that reports progress. For each request's approval message the bench
 * counts chat.update calls: at most 3 besides progress updates, progress updates ≥ 3 s apart, none
 * identical to what the message already showed (chat.update is Tier 3, ~50 per minute).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, ExpressReceiver, LogLevel } from '@slack/bolt';
import type { PipelineEvent } from '../src/intake/notifier.ts';
import { ActionId } from '../src/slack/ids.ts';
import { SlackHttpStandIn, type StandInCall } from '../src/slack-contract/index.ts';
import {
  FORM,
  interactivityBody,
  messageButtonPayload,
  signSlack,
  slashCommandBody,
} from '../test/helpers/slack.ts';
import { type LoadResult, type PreparedRequest, pacedLoad, printFigure, printHeader } from './lib.ts';
import { startBenchService, startNoopSlackApi } from './support-slack-hr.ts';

const RATE = Number(process.env.BENCH_SLACK_RATE ?? 50);
const DURATION_SEC = Number(process.env.BENCH_SLACK_DURATION ?? 20);
/** The bare app's runs are shorter, to keep the bench near a minute; same rate and connections. */
const BARE_DURATION_SEC = Number(process.env.BENCH_SLACK_BARE_DURATION ?? 8);
const CONNECTIONS = 10;
const SECRET = 'bench-slack-signing-secret';
const REQUESTER = 'UADMIN1';
const APPROVER = 'UAPPROVER1';
const OUTSIDER = 'U0OUTSIDER';
const PENDING = 5;

async function startBareBolt(slackApiUrl: string): Promise<{ url: string; close: () => Promise<void> }> {
  const receiver = new ExpressReceiver({ signingSecret: SECRET, endpoints: '/slack/events' });
  // Bolt's plain single-workspace set-up: a token, verified once at start-up (auth.test, here against
  // the no-op API). Without verification Bolt would call auth.test before every listener.
  const app = new App({
    token: 'xoxb-bench-bare',
    receiver,
    clientOptions: { slackApiUrl },
    logLevel: LogLevel.ERROR,
  });
  app.command('/revoke', async ({ ack }) => {
    await ack();
  });
  app.action(/.*/, async ({ ack }) => {
    await ack();
  });
  const server = http.createServer(receiver.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/slack/events`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function signed(body: string): PreparedRequest {
  return { body, headers: { 'content-type': FORM, ...signSlack(SECRET, body) } };
}

function report(kind: string, result: LoadResult, base: LoadResult): void {
  const baselineName = 'bare Bolt ack';
  printFigure({
    name: `${kind} ack p50`,
    value: result.p50Ms,
    unit: 'ms',
    baseline: base.p50Ms,
    baselineName,
    higherIsBetter: false,
  });
  printFigure({
    name: `${kind} ack p99`,
    value: result.p99Ms,
    unit: 'ms',
    baseline: base.p99Ms,
    baselineName,
    target: { op: '<=', value: 50 },
    higherIsBetter: false,
  });
  printFigure({
    name: `${kind} non-2xx+errors`,
    value: result.non2xx + result.errors,
    unit: '',
    baseline: base.non2xx + base.errors,
    baselineName,
    target: { op: '<=', value: 0 },
    higherIsBetter: false,
  });
  process.stdout.write(
    `   ${kind}: ${result.completed} answered at ${result.rps.toFixed(1)}/s; ` +
      `bare: ${base.completed} at ${base.rps.toFixed(1)}/s\n`,
  );
}

async function settle(count: () => number, expected: number, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (count() < expected && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
}

const UPDATES_REQUESTS = ['alice', 'bob', 'carol', 'dave'];
/** Grants minted for the long revocation (two tokens each), revoked one by one under a rate limit. */
const LONG_GRANTS = 30;
const LONG_RATE_PER_SECOND = 8;

/** chat.update calls per request, through approval to a verified outcome, against the Slack stand-in. */
export async function measureUpdates(): Promise<void> {
  // The bench posts hand-built payloads: their trigger_ids never came from this stand-in.
  const standIn = new SlackHttpStandIn({ session: { refuseUnknownIds: false } });
  await standIn.start();
  const svc = await startBenchService(
    {
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_BOT_TOKEN: 'xoxb-bench-updates',
      SLACK_API_URL: standIn.apiUrl,
      SLACK_APPROVALS_CHANNEL: 'CAPPROVALS',
      SLACK_ADMIN_USERS: REQUESTER,
      SLACK_APPROVER_USERS: APPROVER,
    },
    'all',
  );
  try {
    const { intake, idp } = svc.rt;
    const events = new Map<string, number>();
    svc.rt.notifiers.push({
      notify: async (e: PipelineEvent) => {
        if ('request' in e) events.set(e.request.id, (events.get(e.request.id) ?? 0) + 1);
      },
    });
    const [longUser] = UPDATES_REQUESTS;
    await svc.idaas.mintTokens({ user: longUser!, application: 'expense-portal', count: LONG_GRANTS });
    const ids: string[] = [];
    for (const login of UPDATES_REQUESTS) {
      const [user] = await idp.searchUsers(login, 1);
      if (!user) throw new Error(`seed user ${login} not found`);
      const { request } = await intake.submit({
        target: { kind: 'user', userId: user.id },
        reason: 'slack bench: updates per request',
        requestedBy: { source: 'slack', id: REQUESTER, name: 'bench admin' },
        source: 'slack',
      });
      ids.push(request.id);
    }
    const posted = (id: string) =>
      standIn.next(
        'chat.postMessage',
        (c) => c.args.channel === 'CAPPROVALS' && JSON.stringify(c.args).includes(id),
      );
    await Promise.all(ids.map(posted));
    svc.idaas.setFaults({ rateLimitPerSecond: LONG_RATE_PER_SECOND });
    for (const id of ids) await intake.approve(id, { source: 'slack', id: APPROVER });
    for (const id of ids) {
      const r = await intake.waitForOutcome(id, 120_000);
      if (r.state !== 'verified') throw new Error(`request ${id} ended ${r.state}`);
    }
    svc.idaas.setFaults({ rateLimitPerSecond: null });
    // Every final state reaches Slack; then wait out any coalescing window still open.
    await Promise.all(
      ids.map((id) =>
        standIn.next(
          'chat.update',
          (c) => JSON.stringify(c.args).includes(id) && /Done and verified/.test(JSON.stringify(c.args)),
        ),
      ),
    );
    await new Promise((r) => setTimeout(r, 4000));

    let worstOther = 0;
    let minSpacing = Number.POSITIVE_INFINITY;
    let totalUpdates = 0;
    let totalEvents = 0;
    ids.forEach((id, i) => {
      // The approval message names its request in its context line.
      const mine = standIn.calls.filter(
        (c: StandInCall) => c.method === 'chat.update' && JSON.stringify(c.args).includes(id),
      );
      const progress = mine.filter((c) => /Revoking: revoked/.test(JSON.stringify(c.args)));
      for (let k = 1; k < progress.length; k++)
        minSpacing = Math.min(minSpacing, progress[k]!.at - progress[k - 1]!.at);
      worstOther = Math.max(worstOther, mine.length - progress.length);
      totalUpdates += mine.length;
      totalEvents += events.get(id) ?? 0;
      process.stdout.write(
        `   ${UPDATES_REQUESTS[i]} (${id}): ${mine.length} chat.update calls, ${progress.length} of them progress; ` +
          `${events.get(id) ?? 0} pipeline events\n`,
      );
    });
    const baselineName = 'one per event';
    printFigure({
      name: 'chat.update per request',
      value: totalUpdates / ids.length,
      unit: '',
      baseline: totalEvents / ids.length,
      baselineName,
      higherIsBetter: false,
    });
    printFigure({
      name: 'non-progress updates (max)',
      value: worstOther,
      unit: '',
      baseline: Math.max(...ids.map((id) => events.get(id) ?? 0)),
      baselineName,
      target: { op: '<=', value: 3 },
      higherIsBetter: false,
    });
    if (Number.isFinite(minSpacing)) {
      printFigure({
        name: 'progress update spacing (min)',
        value: minSpacing,
        unit: 'ms',
        baseline: 0,
        baselineName,
        target: { op: '>=', value: 3000 },
        higherIsBetter: true,
      });
    }
    printFigure({
      name: 'identical or reused-id updates',
      value: standIn.wasted.length + standIn.refusals.length,
      unit: '',
      baseline: 0,
      baselineName: 'none',
      target: { op: '<=', value: 0 },
      higherIsBetter: false,
    });
    for (const line of [...standIn.refusals, ...standIn.wasted]) process.stdout.write(`   ${line}\n`);
  } finally {
    await svc.close();
    await standIn.close();
  }
}

export default async function run(): Promise<void> {
  printHeader(
    `slack: ack latency, service (role all) vs bare Bolt app that only acks, ${RATE} req/s evenly paced (open loop), ` +
      `${DURATION_SEC} s per kind (bare ${BARE_DURATION_SEC} s), ${CONNECTIONS} connections, fresh v0 signatures`,
  );
  const api = await startNoopSlackApi();
  const responseUrl = `${api.url}/respond`;
  const bare = await startBareBolt(`${api.url}/api/`);
  const svc = await startBenchService(
    {
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_API_URL: `${api.url}/api/`,
      SLACK_APPROVALS_CHANNEL: 'C0APPROVALS',
      SLACK_NOTIFY_CHANNEL: 'C0NOTIFY',
      SLACK_ADMIN_USERS: REQUESTER,
      SLACK_APPROVER_USERS: APPROVER,
    },
    'all',
  );
  try {
    const { intake, idp } = svc.rt;
    const ids: string[] = [];
    for (const login of ['alice', 'bob', 'carol', 'dave', 'erin'].slice(0, PENDING)) {
      const [user] = await idp.searchUsers(login, 1);
      if (!user) throw new Error(`seed user ${login} not found`);
      const { request } = await intake.submit({
        target: { kind: 'user', userId: user.id },
        reason: 'slack bench',
        requestedBy: { source: 'slack', id: REQUESTER, name: 'bench admin' },
        source: 'slack',
      });
      if (request.state !== 'pending_approval') {
        throw new Error(`request for ${login} is ${request.state}, expected pending_approval`);
      }
      ids.push(request.id);
    }

    let slashStatus = 0;
    const slash = (i: number): PreparedRequest => {
      const status = i % 2 === 1;
      if (status) slashStatus++;
      const text = status ? `status ${ids[i % ids.length]}` : 'help';
      return signed(slashCommandBody({ text, userId: REQUESTER, responseUrl, triggerId: `bench.${i}` }));
    };
    let clicks = 0;
    const click = (i: number): PreparedRequest => {
      clicks++;
      const payload = messageButtonPayload({
        userId: OUTSIDER,
        actionId: ActionId.Approve,
        value: ids[i % ids.length]!,
        responseUrl,
        triggerId: `bench.click.${i}`,
      });
      return signed(interactivityBody(payload));
    };

    const load = { method: 'POST' as const, rate: RATE, connections: CONNECTIONS };
    const service = `${svc.url}/slack/events`;
    const answers = () => api.hitsOn('/respond');
    const hitsBefore = answers();
    const bareSlash = await pacedLoad({
      url: bare.url,
      bodies: slash,
      durationSec: BARE_DURATION_SEC,
      warmupSec: 1,
      ...load,
    });
    const hitsAfterBare = answers();
    const authTestsBefore = api.hitsOn('/api/auth.test');
    slashStatus = 0;
    const slashes = await pacedLoad({
      url: service,
      bodies: slash,
      durationSec: DURATION_SEC,
      warmupSec: 1,
      ...load,
    });
    const bareClicks = await pacedLoad({
      url: bare.url,
      bodies: click,
      durationSec: BARE_DURATION_SEC,
      ...load,
    });
    clicks = 0;
    const hitsBeforeClicks = answers();
    const statusAnswers = hitsBeforeClicks - hitsAfterBare;
    const clickRuns = await pacedLoad({
      url: service,
      bodies: click,
      durationSec: DURATION_SEC,
      warmupSec: 1,
      ...load,
    });

    report('slash /revoke', slashes, bareSlash);
    report('Approve click', clickRuns, bareClicks);

    // What happened after each ack: one response_url POST per status command and per refused click
    // (counted per request built, warm-ups included).
    await settle(answers, hitsBeforeClicks + clicks);
    const clickAnswers = answers() - hitsBeforeClicks;
    const states = await Promise.all(ids.map((id) => intake.get(id)));
    const stillPending = states.filter((r) => r?.state === 'pending_approval').length;
    process.stdout.write(
      `   after the ack: ${statusAnswers} status answers for ${slashStatus} status commands, ` +
        `${clickAnswers} ephemeral refusals for ${clicks} clicks (via response_url); ` +
        `${stillPending}/${ids.length} requests still pending; bare app sent ${hitsAfterBare - hitsBefore} (expected 0)\n` +
        `   Slack Web API auth.test calls during the service's runs: ${api.hitsOn('/api/auth.test') - authTestsBefore} (expected 0: nothing calls Slack before an ack)\n`,
    );
  } finally {
    await svc.close();
    await bare.close();
    await api.close();
  }
  await measureUpdates();
}
