/**
 * The workspace's chat.update budget (issue 20 item 9): 20 concurrent revocations of 1,000 tokens each,
 * every one reporting progress, through the real notifier and slack-outbox worker on the real Redis,
 * against a Slack Web API stand-in that enforces chat.update's tier: Tier 3, "about 50 per minute" per
 * workspace (https://docs.slack.dev/apis/web-api/rate-limits), answered over it with HTTP 429 and
 * Retry-After as Slack answers. Each revocation reports 1,000 tokens over ~45 s (a progress event every
 * 500 ms), then its verified outcome. Printed: chat.update calls per minute beside the tier, and how many
 * Slack answered 429 (target: ≤ 45 per minute, 0 answered 429); every message must end on its outcome.
 */
import { HttpResponse } from 'msw';
import type { RequestRecord } from '../src/intake/types.ts';
import { silentLogger } from '../src/log.ts';
import { createSlackNotifications } from '../src/slack/index.ts';
import { connectRedis, deleteKeys, randomPrefix } from '../test/helpers/redis.ts';
import { SlackApiStub } from '../test/helpers/slack.ts';
import { printFigure, printHeader } from './lib.ts';

const REQUESTS = Number(process.env.BENCH_SLACK_BUDGET_REQUESTS ?? 20);
const TOKENS = 1000;
const RUN_MS = Number(process.env.BENCH_SLACK_BUDGET_MS ?? 45_000);
const EVENT_EVERY_MS = 500;
/** Tier 3: ~50 per minute per workspace. */
const TIER_PER_MINUTE = 50;

function record(i: number, over: Partial<RequestRecord>): RequestRecord {
  const now = new Date().toISOString();
  return {
    id: `req_bench${String(i).padStart(15, '0')}`,
    target: { kind: 'user', userId: `usr_${i}` },
    reason: 'bench',
    requestedBy: { source: 'slack', id: 'U0REQ' },
    source: 'slack',
    createdAt: now,
    updatedAt: now,
    effectiveAt: now,
    state: 'pending_approval',
    workflow: 'slack-user',
    requiredApprovals: 1,
    approvers: ['U0APPROVER1'],
    allowSelfApproval: false,
    approvals: [],
    targetName: `User ${i}`,
    impact: { tokenCount: TOKENS, userCount: 1 },
    progress: { done: 0, total: TOKENS },
    ...over,
  } as RequestRecord;
}

export default async function run(): Promise<void> {
  printHeader(`Slack chat.update budget: ${REQUESTS} concurrent ${TOKENS}-token revocations`);
  const stub = new SlackApiStub('http://slack-budget.bench/api/');
  const sent: number[] = [];
  let refused = 0;
  stub.overrides.set('chat.update', () => {
    const now = Date.now();
    const lastMinute = sent.filter((t) => now - t < 60_000).length;
    if (lastMinute >= TIER_PER_MINUTE) {
      refused++;
      return HttpResponse.json(
        { ok: false, error: 'ratelimited' },
        { status: 429, headers: { 'Retry-After': '5' } },
      );
    }
    sent.push(now);
    return undefined;
  });
  stub.listen();
  const redis = connectRedis();
  const prefix = randomPrefix('bench-slack-budget');
  const config = {
    SLACK_SIGNING_SECRET: 's',
    SLACK_BOT_TOKEN: 'xoxb-bench',
    SLACK_APP_TOKEN: undefined,
    SLACK_API_URL: stub.apiUrl,
    SLACK_APPROVALS_CHANNEL: 'C0APPROVALS',
    SLACK_NOTIFY_CHANNEL: undefined,
  };
  const n = createSlackNotifications({ config, redis, prefix, logger: silentLogger });
  n.startWorker();
  try {
    const ids = Array.from({ length: REQUESTS }, (_, i) => record(i, {}).id);
    for (let i = 0; i < REQUESTS; i++)
      await n.notifier.notify({ type: 'request.created', request: record(i, {}) });
    for (const id of ids)
      await stub.next('chat.postMessage', (c) => JSON.stringify(c.args).includes(id), 0, 30_000);
    const started = Date.now();
    let events = 0;
    for (let elapsed = 0; elapsed < RUN_MS; elapsed = Date.now() - started) {
      const done = Math.min(TOKENS, Math.floor((elapsed / RUN_MS) * TOKENS));
      const at = new Date().toISOString();
      await Promise.all(
        ids.map((_, i) =>
          n.notifier.notify({
            type: 'request.progress',
            request: record(i, { state: 'running', updatedAt: at, progress: { done, total: TOKENS } }),
          }),
        ),
      );
      events += REQUESTS;
      await new Promise((resolve) => setTimeout(resolve, EVENT_EVERY_MS));
    }
    const at = new Date(Date.now() + 1).toISOString();
    for (let i = 0; i < REQUESTS; i++) {
      await n.notifier.notify({
        type: 'request.verified',
        request: record(i, {
          state: 'verified',
          updatedAt: at,
          progress: { done: TOKENS, total: TOKENS },
          result: { ok: true, revoked: TOKENS, remaining: 0 },
        } as Partial<RequestRecord>),
      });
    }
    for (const id of ids) {
      await stub.next(
        'chat.update',
        (c) => JSON.stringify(c.args).includes(id) && /verified/i.test(JSON.stringify(c.args)),
        0,
        120_000,
      );
    }
    const updates = stub.calls.filter((c) => c.method === 'chat.update');
    const spanMin = Math.max(1, updates.at(-1)!.at - started) / 60_000;
    // The busiest rolling minute, as Slack's tier counts it.
    let busiest = 0;
    for (const u of updates)
      busiest = Math.max(busiest, updates.filter((v) => v.at >= u.at && v.at - u.at < 60_000).length);
    process.stdout.write(
      `   ${updates.length} chat.update calls over ${(spanMin * 60).toFixed(1)} s for ${events} progress events; ` +
        `${(updates.length / spanMin).toFixed(1)} per minute on average; ${n.outbox.budgetWaits} waits for the budget\n`,
    );
    printFigure({
      // What Slack's tier counts: the calls in the busiest rolling minute.
      name: 'chat.update, busiest minute',
      value: busiest,
      unit: '/min',
      baseline: TIER_PER_MINUTE,
      baselineName: 'Tier 3 (~50/min)',
      target: { op: '<=', value: 45 },
      higherIsBetter: false,
    });
    printFigure({
      name: 'chat.update answered 429',
      value: refused,
      unit: '',
      baseline: 0,
      baselineName: 'none',
      target: { op: '<=', value: 0 },
      higherIsBetter: false,
    });
  } finally {
    await n.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
    stub.close();
  }
}
