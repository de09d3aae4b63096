import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import type { IssuedTokens } from '../../../src/idaas/index.ts';
import { loadDemoTenant } from '../../../src/idaas/index.ts';
import { silentLogger } from '../../../src/log.ts';
import { createRuntime, type Runtime } from '../../../src/runtime.ts';
import { type RunningService, startService } from '../../../src/service.ts';
import { signHrDelivery } from '../../helpers/hr-signing.ts';
import { randomPrefix } from '../../helpers/redis.ts';
import { SENTINEL_MASTER, SentinelCluster } from '../../helpers/sentinel-cluster.ts';
import { IN_SCOPE_APP, listTokenIds, mintGrants, OTHER_APP, requester, tokenIds, until } from './fixtures.ts';

/**
 * Redis failover with real processes (issue 14): a primary, a replica and three Sentinels; Revoker reaches
 * Redis only through Sentinel. While HR deliveries arrive and a 1,000-token revocation runs, the primary is
 * SIGKILLed; Sentinel promotes the replica and the killed node comes back as its replica (as a supervisor
 * would restart it). With REDIS_MIN_REPLICAS_ACK=1 nothing Revoker acknowledged may be lost.
 */
const HR_USERS = 24;
const GRANTS = 500; // access + refresh each: 1,000 tokens
const SECRET = `whsec_${randomBytes(24).toString('base64')}`;

let cluster: SentinelCluster | undefined;
let running: { rt: Runtime; service: RunningService } | undefined;
let seedDir: string | undefined;

afterEach(async () => {
  await running?.service.close(500).catch(() => undefined);
  await running?.rt.close().catch(() => undefined);
  await cluster?.stop();
  if (seedDir) rmSync(seedDir, { recursive: true, force: true });
  running = undefined;
  cluster = undefined;
  seedDir = undefined;
});

interface Delivery {
  email: string;
  /** ms since the start of the batch when a 2xx came, if one did. */
  answeredAt?: number;
  /** Non-2xx answers and failed connections before that (a vendor retries those). */
  refusals: number;
}

interface Figures {
  answered: number;
  refusals: number;
  failoverMs: number;
  /** Replication bytes the replica had not acknowledged when the primary was killed. */
  lagAtKill: number | undefined;
  replicaBackMs: number;
  appState: string;
  appRevoked: number;
  /** Answered deliveries whose user still had tokens when the run ended. */
  lostDeliveries: string[];
  tokensRevokedAtIdp: number;
  audited: number;
  auditedTwice: number;
  notAudited: number;
  chain: string;
}

async function scenario(replicasAck: number, settleMs: number): Promise<Figures> {
  cluster = await SentinelCluster.start();
  const hrUsers = Array.from({ length: HR_USERS }, (_, i) => ({
    userId: `leaver${i}`,
    email: `leaver${i}@example.com`,
    name: `Leaver ${i}`,
    password: `leaver-password-${i}`,
  }));
  const demo = loadDemoTenant();
  seedDir = mkdtempSync(join(tmpdir(), 'revoker-seed-'));
  const seedFile = join(seedDir, 'seed.json');
  writeFileSync(seedFile, JSON.stringify({ ...demo, users: [...demo.users, ...hrUsers] }));
  const env: NodeJS.ProcessEnv = {
    REDIS_SENTINELS: cluster.sentinelList,
    REDIS_SENTINEL_NAME: SENTINEL_MASTER,
    REDIS_MIN_REPLICAS_ACK: String(replicasAck),
    REDIS_WAIT_TIMEOUT_MS: '2000',
    REVOKER_PREFIX: randomPrefix('failover'),
    PORT: '0',
    HOST: '127.0.0.1',
    IDAAS_PORT: '0',
    IDAAS_SEED: seedFile,
    LOG_LEVEL: 'silent',
    WORKFLOWS_DIR: 'workflows',
    HR_STANDARD_SECRET: SECRET,
    IDP_RATE_LIMIT: '250',
    WORKER_CONCURRENCY: '16',
  };
  const rt = await createRuntime(loadConfig(env), {
    env,
    logger: process.env.FAILOVER_DEBUG
      ? pino({ level: 'debug' }, pino.destination(process.env.FAILOVER_DEBUG))
      : silentLogger,
  });
  const service = await startService(rt, {
    role: 'all',
    port: 0,
    // Longer than a failover (a lock that lapses meanwhile makes its job count as stalled, and BullMQ fails a
    // job that stalls twice), short enough that a job whose completion the failover lost returns soon.
    lockDurationMs: 8000,
    stalledIntervalMs: 2000,
  });
  running = { rt, service };
  const idaas = rt.idaas!;
  const url = service.http!.url;

  const appTokens = await mintGrants(idaas, IN_SCOPE_APP, GRANTS);
  const hrTokens = new Map<string, IssuedTokens[]>();
  for (const u of hrUsers)
    hrTokens.set(u.email, await idaas.mintTokens({ user: u.userId, application: OTHER_APP }));

  const { request } = await rt.intake.submit({
    target: { kind: 'application', applicationId: IN_SCOPE_APP },
    reason: 'failover test',
    requestedBy: requester,
    source: 'cli',
  });
  await until(
    'the batch under way',
    async () => ((await rt.store.countRevoked(request.id)) >= 100 ? true : undefined),
    60_000,
    10,
  );

  // The HR vendor: each delivery retried (same webhook-id, fresh signature) until it is answered 2xx.
  const started = Date.now();
  const deliveries: Delivery[] = hrUsers.map((u) => ({ email: u.email, refusals: 0 }));
  const deliver = async (d: Delivery, i: number) => {
    const body = JSON.stringify({
      type: 'employee.terminated',
      data: { employeeId: `E-${i}`, email: d.email, reason: 'left the company' },
    });
    const id = `msg_failover_${i}`;
    while (Date.now() - started < 90_000) {
      const res = await fetch(`${url}/webhooks/hr/standard`, {
        method: 'POST',
        headers: signHrDelivery('standard', SECRET, body, new Date(), id),
        body,
      }).catch(() => undefined);
      if (res && res.status >= 200 && res.status < 300) {
        d.answeredAt = Date.now() - started;
        return;
      }
      d.refusals++;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const sending = (async () => {
    for (const [i, d] of deliveries.entries()) {
      await deliver(d, i);
      await new Promise((r) => setTimeout(r, 40));
    }
  })();

  // Kill the primary with both the batch and the deliveries half-way.
  await until(
    'deliveries and revocations in flight',
    async () =>
      deliveries.filter((d) => d.answeredAt !== undefined).length >= HR_USERS / 3 &&
      (await rt.store.countRevoked(request.id)) >= 250
        ? true
        : undefined,
    60_000,
    5,
  );
  const primary = await cluster.master();
  const lagAtKill = await cluster.replicationLag(primary);
  const killedAt = Date.now();
  await primary.kill();
  const promoted = await cluster.awaitPromotion(primary);
  const failoverMs = Date.now() - killedAt;
  // Restarted as a replica of the new master, as its supervisor would (left to Sentinel, a node that comes
  // back claiming to be master is reconfigured only after 8 s of hello periods).
  await primary.launch(10_000, ['--replicaof', '127.0.0.1', String(promoted.port)]);
  await cluster.replicasOnline(promoted, 1);
  const replicaBackMs = Date.now() - killedAt;
  await sending;

  // Wait for everything that was acknowledged to be done (bounded: the run without WAIT may never get there).
  const answered = deliveries.filter((d) => d.answeredAt !== undefined);
  const remaining = async () => {
    const app = (await listTokenIds(idaas, `/applications/${IN_SCOPE_APP}/tokens`)).length;
    const lost: string[] = [];
    for (const d of answered) {
      const user = await rt.idp.findUserByEmail(d.email);
      if ((await listTokenIds(idaas, `/users/${user!.id}/tokens`)).length > 0) lost.push(d.email);
    }
    return { app, lost };
  };
  const settled = await until(
    'every acknowledged revocation done',
    async () => {
      const r = await remaining();
      const rec = await rt.store.get(request.id);
      return r.app === 0 && r.lost.length === 0 && rec?.state === 'verified' ? r : undefined;
    },
    settleMs,
    200,
  ).catch(() => remaining());

  // Audit: one token.revoked per token, for every minted token that is gone.
  const perToken = new Map<string, number>();
  for await (const e of rt.audit.entries()) {
    if (e.action !== 'token.revoked') continue;
    const id = String(e.detail?.tokenId);
    perToken.set(id, (perToken.get(id) ?? 0) + 1);
  }
  const expected = [
    ...tokenIds(appTokens),
    ...answered.flatMap((d) => tokenIds(hrTokens.get(d.email) ?? [])),
  ];
  const verify = await rt.audit.verify();
  const appRecord = await rt.store.get(request.id);
  return {
    answered: answered.length,
    refusals: deliveries.reduce((n, d) => n + d.refusals, 0),
    failoverMs,
    lagAtKill,
    replicaBackMs,
    appState: appRecord?.state ?? 'missing',
    appRevoked: appRecord?.result?.revoked ?? 0,
    lostDeliveries: settled.lost,
    tokensRevokedAtIdp: GRANTS * 2 - settled.app,
    audited: expected.filter((id) => perToken.get(id) === 1).length,
    auditedTwice: [...perToken.values()].filter((n) => n > 1).length,
    notAudited: expected.filter((id) => !perToken.has(id)).length,
    chain: verify.ok ? 'verifies' : `broken at ${JSON.stringify(verify)}`,
  };
}

function report(label: string, f: Figures): void {
  console.info(
    `[failover ${label}] deliveries answered 2xx: ${f.answered}/${HR_USERS} (${f.refusals} refused or cut, retried); ` +
      `revoked: ${f.tokensRevokedAtIdp}/${GRANTS * 2} batch tokens (request ${f.appState}, ${f.appRevoked}), ` +
      `deliveries without their revocation: ${f.lostDeliveries.length}; ` +
      `audited exactly once: ${f.audited}, twice: ${f.auditedTwice}, missing: ${f.notAudited}; chain ${f.chain}; ` +
      `replica behind by ${f.lagAtKill ?? '?'} bytes at the kill; ` +
      `failover (kill → replica promoted): ${f.failoverMs} ms, replica back in sync: ${f.replicaBackMs} ms`,
  );
}

describe('faults: Redis Sentinel failover mid-batch', () => {
  it('with REDIS_MIN_REPLICAS_ACK=1, every acknowledged delivery is revoked and every token audited exactly once', {
    timeout: 180_000,
  }, async () => {
    const f = await scenario(1, 90_000);
    report('WAIT 1', f);
    expect(f.answered).toBe(HR_USERS);
    expect(f.lostDeliveries).toEqual([]);
    expect(f.appState).toBe('verified');
    expect(f.tokensRevokedAtIdp).toBe(GRANTS * 2);
    expect(f.auditedTwice).toBe(0);
    expect(f.notAudited).toBe(0);
    expect(f.audited).toBe(GRANTS * 2 + HR_USERS * 2);
    expect(f.chain).toBe('verifies');
  });

  it('without WAIT: what a failover may take (reported, not asserted)', { timeout: 180_000 }, async () => {
    report('no WAIT', await scenario(0, 20_000));
  });
});
