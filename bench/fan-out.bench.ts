/**
 * One offboarding in every identity system at once (issue 22): the whole service (`serve --role all`) with
 * three connections (CONNECTIONS_FILE), each an IDaaS with its own admin API limit enforced with 429s and its
 * own call counter: the embedded one at 50 calls/s and two more at 20/s and 10/s, each connection's budget at
 * its IDaaS's limit. The same people in all three (by email), three real tokens each in each.
 *
 * 1,000 signed HR terminations posted at once; every one fans out into one child request per connection.
 * Per connection: its IdP calls beside its floor of 4 per person (find the person — HR's resolution by email
 * in the first connection, the child's own look-up by email in the others —, list their tokens, one bulk
 * revoke, one verifying listing), target ≤ 1.05×; the time from the first webhook to its last child
 * verified beside its floor time. Overall: first webhook → last request verified beside the *slowest*
 * connection's floor time (4,000 calls ÷ 10/s = 400 s), target ≤ 1.10× (the connections run side by side,
 * not one after another); the share of calls answered 429, target ≤ 2 %. Every token audited exactly once.
 * And the issue's `urgent` figure in these conditions: one Slack `/revoke user` (approved; it too runs in
 * every connection) 5 s into the batch, beside the median of three on the idle system, target ≤ 2×.
 * Sizes: BENCH_FANOUT_USERS (default 1000).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { type Idaas, startIdaas } from '../src/idaas/index.ts';
import type { RequestRecord } from '../src/intake/types.ts';
import { print429Share, printFigure, printHeader, printUrgentFigures } from './lib.ts';
import {
  allFinished,
  type Leaver,
  median,
  postTerminations,
  seedLeavers,
  slackUserRevocation,
} from './support-offboarding.ts';
import { type BenchService, startBenchService } from './support-slack-hr.ts';

const USERS = Number(process.env.BENCH_FANOUT_USERS ?? 1000);
const CALLS_PER_USER = 4;
/** The connections, the first the embedded IDaaS (the one HR resolves people in). */
const CONNECTIONS = [
  { id: 'fast', rate: 50 },
  { id: 'mid', rate: 20 },
  { id: 'slow', rate: 10 },
] as const;

/** Slack user revocations on the idle system: a warm-up, then three whose median is the baseline. */
const IDLE_RUNS = 4;
/** Seconds into the batch the urgent one starts. */
const URGENT_AT = 5;

interface Stand {
  id: string;
  rate: number;
  idaas: Idaas;
  leavers: Leaver[];
  /** People for the Slack revocations, the same in every connection. */
  people: Leaver[];
}

export default async function run(): Promise<void> {
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const others = await Promise.all(CONNECTIONS.slice(1).map(() => startIdaas({ port: 0, store: 'memory' })));
  const dir = await mkdtemp(join(tmpdir(), 'revoker-bench-connections-'));
  let svc: BenchService | undefined;
  try {
    const file = join(dir, 'connections.yaml');
    await writeFile(
      file,
      stringify({
        connections: CONNECTIONS.map((c, i) => ({
          id: c.id,
          kind: 'idaas',
          rate_limit: c.rate,
          // The first is the in-process IDaaS (no IDAAS_URL); the others are reached over HTTP like any IdP.
          ...(i === 0
            ? {}
            : { env: { IDAAS_URL: others[i - 1]!.adminUrl, IDAAS_ADMIN_TOKEN: others[i - 1]!.adminToken } }),
        })),
      }),
    );
    svc = await startBenchService(
      { HR_STANDARD_SECRET: secret, CONNECTIONS_FILE: file, LOG_LEVEL: 'silent' },
      'all',
    );
    await offboarding(svc, secret, [svc.idaas, ...others]);
  } finally {
    await svc?.close();
    await Promise.all(others.map((o) => o.close()));
    await rm(dir, { recursive: true, force: true });
  }
}

async function offboarding(svc: BenchService, secret: string, idaases: Idaas[]): Promise<void> {
  printHeader(
    `fan-out: ${USERS} HR terminations × ${CONNECTIONS.length} connections (IDaaS admin APIs and budgets at ` +
      `${CONNECTIONS.map((c) => `${c.rate}`).join(', ')} calls/s), 3 tokens per person in each`,
  );
  const stands: Stand[] = [];
  for (const [i, c] of CONNECTIONS.entries()) {
    stands.push({
      ...c,
      idaas: idaases[i]!,
      leavers: await seedLeavers(idaases[i]!, 'leaver', USERS),
      people: await seedLeavers(idaases[i]!, 'urgent', IDLE_RUNS + 1),
    });
  }
  for (const s of stands) s.idaas.setFaults({ rateLimitPerSecond: s.rate });
  for (const c of svc.rt.connections.all) await c.budget?.reset();
  const home = stands[0]!;
  const tokensEverywhere = stands.reduce((n, s) => n + s.people[0]!.tokenIds.length, 0);
  const idleBefore = stands.map((s) => s.idaas.stats());
  const idle: number[] = [];
  for (const person of home.people.slice(0, IDLE_RUNS)) {
    idle.push((await slackUserRevocation(svc, person.id, tokensEverywhere)).seconds);
  }
  // What one Slack user revocation costs each connection, so the batch's floor can leave it out.
  const perUrgent = stands.map((s, i) => (s.idaas.stats().calls - idleBefore[i]!.calls) / IDLE_RUNS);
  const warmUp = idle.shift()!;
  const idleSeconds = median(idle);
  // The idle runs' own interactive reservation must not slow the batch's start.
  await new Promise((r) => setTimeout(r, 5500));

  const before = stands.map((s) => s.idaas.stats());
  const started = Date.now();
  await postTerminations(
    svc,
    secret,
    home.leavers.map((l) => l.email),
    'fo',
  );
  await new Promise((r) => setTimeout(r, Math.max(0, started + URGENT_AT * 1000 - Date.now())));
  const urgent = await slackUserRevocation(svc, home.people[IDLE_RUNS]!.id, tokensEverywhere);
  const requests = USERS + IDLE_RUNS + 1;
  const done = await allFinished(svc, requests * (1 + CONNECTIONS.length), 3_600_000);
  const after = stands.map((s) => s.idaas.stats());
  for (const s of stands) s.idaas.setFaults({ rateLimitPerSecond: null });

  const batch = done.filter((r) => r.source === 'hr');
  const parents = batch.filter((r) => r.parent === undefined);
  const children = batch.filter((r) => r.parent !== undefined);
  const seconds = (Math.max(...parents.map((r) => Date.parse(r.updatedAt))) - started) / 1000;
  const floorCalls = USERS * CALLS_PER_USER;
  const slowest = Math.min(...CONNECTIONS.map((c) => c.rate));
  let calls = 0;
  let limited = 0;
  for (const [i, s] of stands.entries()) {
    // The batch's calls: the urgent request's own (as measured idle) left out.
    const made = after[i]!.calls - before[i]!.calls - perUrgent[i]!;
    calls += made;
    limited += after[i]!.rateLimited - before[i]!.rateLimited;
    const own = children.filter((r) => r.connection === s.id);
    const ownSeconds = (Math.max(...own.map((r) => Date.parse(r.updatedAt))) - started) / 1000;
    printFigure({
      name: `${s.id} (${s.rate}/s) calls ÷ floor`,
      value: made / floorCalls,
      unit: 'x',
      baseline: 1,
      baselineName: `floor ${floorCalls}`,
      target: { op: '<=', value: 1.05 },
      higherIsBetter: false,
    });
    printFigure({
      name: `${s.id} (${s.rate}/s) last verified`,
      value: ownSeconds,
      unit: 's',
      baseline: floorCalls / s.rate,
      baselineName: 'its floor time',
      higherIsBetter: false,
    });
  }
  const slowestFloor = floorCalls / slowest;
  printFigure({
    name: 'first webhook → last verified',
    value: seconds,
    unit: 's',
    baseline: slowestFloor,
    baselineName: `slowest floor`,
    higherIsBetter: false,
  });
  printFigure({
    name: 'time ÷ slowest floor time',
    value: seconds / slowestFloor,
    unit: 'x',
    baseline: 1,
    baselineName: 'slowest floor',
    target: { op: '<=', value: 1.1 },
    higherIsBetter: false,
  });
  print429Share(calls, limited);
  printUrgentFigures(URGENT_AT, urgent.seconds, idleSeconds);
  const notVerified = done.filter((r) => r.state !== 'verified');
  const audit = await auditedOnce(svc, stands);
  process.stdout.write(
    `   ${parents.length} requests, ${children.length} children; ${done.length - notVerified.length}/${done.length} verified` +
      `${notVerified.length > 0 ? ` (${summarise(notVerified)})` : ''}; ${calls} admin calls, ${limited} answered 429; ` +
      `IdP calls per connection: ${stands.map((s, i) => `${s.id} ${after[i]!.calls - before[i]!.calls}`).join(', ')}\n` +
      `   urgent: idle runs ${idle.map((t) => t.toFixed(3)).join(' ')} s (warm-up ${warmUp.toFixed(3)} s), ` +
      `${perUrgent.map((n, i) => `${n} calls at ${stands[i]!.id}`).join(', ')} each; ${urgent.record.connections
        ?.map((c) => `${c.connection} ${c.status}`)
        .join(', ')}\n` +
      `   audit: ${audit}; machine load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores\n`,
  );
  if (notVerified.length > 0) throw new Error(`${notVerified.length} requests did not end verified`);
}

/** Every token of every connection `token.revoked` exactly once, and the audit chain intact. */
async function auditedOnce(svc: BenchService, stands: Stand[]): Promise<string> {
  const counts = new Map<string, number>();
  for await (const e of svc.rt.audit.entries({})) {
    if (e.action !== 'token.revoked') continue;
    const id = String(e.detail?.tokenId);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const tokenIds = stands.flatMap((s) => [...s.leavers, ...s.people].flatMap((l) => l.tokenIds));
  const missing = tokenIds.filter((id) => !counts.has(id));
  const twice = [...counts.values()].filter((n) => n > 1).length;
  const chain = await svc.rt.audit.verify();
  const line = `${tokenIds.length - missing.length}/${tokenIds.length} tokens audited, ${twice} more than once, chain ${chain.ok ? 'verifies' : 'BROKEN'}`;
  if (missing.length > 0 || twice > 0 || !chain.ok) throw new Error(`audit check failed: ${line}`);
  return `${line} (exactly once)`;
}

function summarise(records: RequestRecord[]): string {
  const by = new Map<string, number>();
  for (const r of records) by.set(r.state, (by.get(r.state) ?? 0) + 1);
  return [...by].map(([state, n]) => `${n} ${state}`).join(', ');
}
