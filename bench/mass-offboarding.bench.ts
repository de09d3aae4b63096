/**
 * Mass offboarding against an IdP limit (issue 12): the whole service (`serve --role all`, embedded IDaaS,
 * one IdP budget of 50 calls/s), the IDaaS admin API itself limited to 50 calls/s.
 *
 * (a) 1,000 users × 3 real tokens; 1,000 signed HR terminations posted at once. Prints the IdP admin calls
 *     made (the IDaaS's own counter) beside the floor of 4 per user (resolve the email, list the user's
 *     tokens once, one bulk revoke, one verifying listing) and the wall time from the first webhook to the
 *     last request verified beside the floor time (4,000 calls ÷ 50/s = 80 s), the share answered 429,
 *     and checks every token is audited exactly once and the chain verifies.
 *     Targets: calls ≤ 1.05 × floor, time ≤ 1.10 × floor, 429s ≤ 2 %.
 * (b) one application-scope revocation of 3,000 tokens, approved by two people: calls beside the floor
 *     of 5 (the dry run the approvers see and the application's name, at submit; then one listing as the
 *     request's record, one bulk revoke, one verifying listing) and its time.
 *
 * Tokens are minted through the provider's own models (src/idaas/mint-tokens.ts, as the tests do): real
 * tokens, without 3,000 browser logins. Sizes: BENCH_OFFBOARD_USERS (default 1000).
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { print429Share, printFigure, printHeader } from './lib.ts';
import { allFinished, inBatches, postTerminations, seedLeavers } from './support-offboarding.ts';
import { type BenchService, startBenchService } from './support-slack-hr.ts';

const USERS = Number(process.env.BENCH_OFFBOARD_USERS ?? 1000);
const RATE = 50;
const CALLS_PER_USER = 4;
const APP_TOKENS = 3000;

export default async function run(): Promise<void> {
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const svc = await startBenchService(
    { HR_STANDARD_SECRET: secret, IDP_RATE_LIMIT: String(RATE), LOG_LEVEL: 'silent' },
    'all',
  );
  try {
    await offboarding(svc, secret);
    await applicationScope(svc);
  } finally {
    await svc.close();
  }
}

async function offboarding(svc: BenchService, secret: string): Promise<void> {
  printHeader(
    `mass offboarding: ${USERS} users × 3 tokens, ${USERS} HR terminations at once; IDaaS admin API and ` +
      `Revoker's IdP budget both ${RATE} calls/s`,
  );
  const { idaas } = svc;
  const leavers = await seedLeavers(svc.idaas, 'leaver', USERS);
  const tokenIds = leavers.flatMap((l) => l.tokenIds);
  if (tokenIds.length !== USERS * 3) throw new Error(`minted ${tokenIds.length} tokens, wanted ${USERS * 3}`);

  idaas.setFaults({ rateLimitPerSecond: RATE });
  await svc.rt.budget.reset();
  const before = idaas.stats();
  const cpu0 = process.cpuUsage();
  const started = Date.now();
  await postTerminations(
    svc,
    secret,
    leavers.map((l) => l.email),
    'mo',
  );

  const rates: number[] = [];
  let last = idaas.stats().calls;
  const sampler = setInterval(() => {
    const now = idaas.stats().calls;
    rates.push(now - last);
    last = now;
  }, 5000);
  const done = await allFinished(svc, USERS, 600_000).finally(() => clearInterval(sampler));
  const after = idaas.stats();
  const cpu = process.cpuUsage(cpu0);
  idaas.setFaults({ rateLimitPerSecond: null });
  const lastVerified = Math.max(...done.map((r) => Date.parse(r.updatedAt)));
  const seconds = (lastVerified - started) / 1000;
  const calls = after.calls - before.calls;
  const limited = after.rateLimited - before.rateLimited;
  const floorCalls = USERS * CALLS_PER_USER;
  const floorSeconds = floorCalls / RATE;
  const failed = done.filter((r) => r.state !== 'verified');
  const audit = await auditedOnce(svc, tokenIds);

  printFigure({
    name: 'offboarding IdP calls',
    value: calls,
    unit: 'calls',
    baseline: floorCalls,
    baselineName: `floor ${CALLS_PER_USER}/user`,
    higherIsBetter: false,
  });
  printFigure({
    name: 'calls ÷ floor',
    value: calls / floorCalls,
    unit: 'x',
    baseline: 1,
    baselineName: 'floor',
    target: { op: '<=', value: 1.05 },
    higherIsBetter: false,
  });
  printFigure({
    name: 'first webhook → last verified',
    value: seconds,
    unit: 's',
    baseline: floorSeconds,
    baselineName: `floor ${floorCalls}/${RATE} s`,
    higherIsBetter: false,
  });
  printFigure({
    name: 'time ÷ floor time',
    value: seconds / floorSeconds,
    unit: 'x',
    baseline: 1,
    baselineName: 'floor',
    target: { op: '<=', value: 1.1 },
    higherIsBetter: false,
  });
  print429Share(calls, limited);
  process.stdout.write(
    `   ${done.length - failed.length}/${USERS} requests verified (${failed.length} failed); ${calls} admin calls, ` +
      `${limited} answered 429; audit: ${audit}\n` +
      `   IdP calls per 5 s: ${rates.join(' ')}\n` +
      `   this process (service, workers, IDaaS, load): ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU ` +
      `(${((cpu.user + cpu.system) / 1e3 / USERS).toFixed(0)} ms per offboarding); machine load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores\n`,
  );
}

async function applicationScope(svc: BenchService): Promise<void> {
  printHeader(`application scope: one request revoking ${APP_TOKENS} tokens (two approvals), same limits`);
  const { idaas, rt } = svc;
  const users = await inBatches(20, 20, (i) =>
    idaas.addUser({
      userId: `wiki${i}`,
      email: `wiki${i}@example.com`,
      name: `Wiki ${i}`,
      password: `password-${i}-wiki`,
    }),
  );
  const grants = await inBatches(20, 20, (i) =>
    idaas.mintTokens({ user: users[i]!.id, application: 'team-wiki', count: APP_TOKENS / 2 / 20 }),
  );
  const tokenIds = grants
    .flat()
    .flatMap((t) => [t.accessTokenId, ...(t.refreshTokenId ? [t.refreshTokenId] : [])]);
  idaas.setFaults({ rateLimitPerSecond: RATE });
  const before = idaas.stats();
  const started = Date.now();
  const { request } = await rt.intake.submit({
    target: { kind: 'application', applicationId: 'team-wiki' },
    reason: 'bench: client secret leaked',
    requestedBy: { source: 'slack', id: 'UADMIN1' },
    source: 'slack',
  });
  await rt.intake.approve(request.id, { source: 'slack', id: 'UAPPROVER1' });
  await rt.intake.approve(request.id, { source: 'slack', id: 'UAPPROVER2' });
  const done = await rt.intake.waitForOutcome(request.id, 300_000);
  const seconds = (Date.parse(done.updatedAt) - started) / 1000;
  const after = idaas.stats();
  idaas.setFaults({ rateLimitPerSecond: null });
  const calls = after.calls - before.calls;
  const audit = await auditedOnce(svc, tokenIds, request.id);
  printFigure({
    name: 'application scope IdP calls',
    value: calls,
    unit: 'calls',
    baseline: 5,
    baselineName: 'floor (dry run, name, list, bulk, verify)',
    higherIsBetter: false,
  });
  process.stdout.write(
    `   ${done.state}: ${done.result?.revoked ?? 0} revoked, ${done.result?.remaining ?? '?'} remaining, in ` +
      `${seconds.toFixed(2)} s (submit → verified, approvals included); impact shown ${JSON.stringify(done.impact)}; ` +
      `progress ${done.progress.done} of ${done.progress.total} calls, ${done.progress.tokens ?? '?'} tokens; audit: ${audit}\n`,
  );
}

/** Every token `token.revoked` exactly once (in `requestId`, or in any request), and the chain intact. */
async function auditedOnce(svc: BenchService, tokenIds: string[], requestId?: string): Promise<string> {
  const counts = new Map<string, number>();
  for await (const e of svc.rt.audit.entries(requestId ? { requestId } : {})) {
    if (e.action !== 'token.revoked') continue;
    const id = String(e.detail?.tokenId);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const missing = tokenIds.filter((id) => !counts.has(id));
  const twice = [...counts.values()].filter((n) => n > 1).length;
  const chain = await svc.rt.audit.verify();
  const ok = missing.length === 0 && twice === 0 && chain.ok;
  const line = `${tokenIds.length - missing.length}/${tokenIds.length} tokens audited, ${twice} more than once, chain ${chain.ok ? 'verifies' : 'BROKEN'}`;
  if (!ok) throw new Error(`audit check failed: ${line}`);
  return `${line} (exactly once)`;
}
