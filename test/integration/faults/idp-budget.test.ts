import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createHrEventQueue, enqueueHrEvent, type HrEventQueue } from '../../../src/hr/hr-event-queue.ts';
import { ADMIN_PREFIX } from '../../../src/idaas/admin-contract.ts';
import { type Idaas, startIdaas } from '../../../src/idaas/index.ts';
import { IdaasIdentityProvider } from '../../../src/identity/adapters/idaas.ts';
import type { BudgetedIdentityProvider } from '../../../src/identity/budgeted-identity-provider.ts';
import { createPipeline, type Pipeline } from '../../helpers/pipeline.ts';
import { REDIS_URL } from '../../helpers/redis.ts';
import { spawnWorker, type WorkerProcess } from '../../helpers/worker-process.ts';
import { countingProxy, requester, until } from './fixtures.ts';

/**
 * One IdP budget for every call path (issue 12): the IDaaS behind a proxy that answers one chosen admin
 * call 429 with Okta's `X-Rate-Limit-Reset` two seconds ahead (against its `Date`, no Retry-After), two
 * `revoker serve --role worker` processes and this process's intake on one Redis prefix. The call is
 * retried no sooner than 2 s later, and no process makes any IdP call in between.
 */
interface Seen {
  at: number;
  method: string;
  path: string;
  status: number;
}

/** The Okta answer (developer.okta.com/docs/reference/rl-best-practices): 429 with the window's reset, epoch s. */
function okta429(res: ServerResponse, now: number): void {
  const body = JSON.stringify({
    errorCode: 'E0000047',
    errorSummary: 'API call exceeded rate limit due to too many requests.',
  });
  res.writeHead(429, {
    'content-type': 'application/json',
    date: new Date(now).toUTCString(),
    'x-rate-limit-limit': '600',
    'x-rate-limit-remaining': '0',
    // Two seconds after the answer's `Date` (which has whole seconds): the wait the IdP names is 2,000 ms.
    'x-rate-limit-reset': String(Math.floor(now / 1000) + 2),
  });
  res.end(body);
}

/** The IDaaS behind a proxy that records every admin call and answers the one `arm`ed call 429. */
async function throttlingProxy(targetUrl: string) {
  const seen: Seen[] = [];
  let armed: ((method: string, path: string) => boolean) | undefined;
  let fired: Seen | undefined;
  const deleted = new Set<string>();
  const proxy = await countingProxy(targetUrl, {
    intercept: (req, res) => {
      const path = (req.url ?? '').split('?')[0]!;
      if (!path.startsWith(ADMIN_PREFIX)) return false;
      const method = req.method ?? 'GET';
      const at = Date.now();
      if (armed?.(method, path.slice(ADMIN_PREFIX.length) + (req.url?.includes('?') ? '?' : ''))) {
        armed = undefined;
        fired = { at, method, path, status: 429 };
        seen.push(fired);
        okta429(res, at);
        return true;
      }
      seen.push({ at, method, path, status: 0 });
      if (method === 'DELETE') deleted.add(path);
      return false;
    },
  });
  return {
    url: proxy.url,
    seen,
    deleted,
    arm(match: (method: string, path: string) => boolean) {
      armed = match;
    },
    get fired() {
      return fired;
    },
    close: () => proxy.close(),
  };
}

let idaas: Idaas | undefined;
let pipe: Pipeline | undefined;
let hrQueue: HrEventQueue | undefined;
const children: WorkerProcess[] = [];
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop()));
  for (const c of cleanups.splice(0)) await c().catch(() => undefined);
  await hrQueue?.close();
  await pipe?.close();
  await idaas?.close();
  hrQueue = undefined;
  pipe = undefined;
  idaas = undefined;
});

const USERS = 12;

async function setup() {
  idaas = await startIdaas({ port: 0, store: 'memory' });
  const proxy = await throttlingProxy(idaas.url);
  cleanups.push(() => proxy.close());
  pipe = await createPipeline({
    idp: new IdaasIdentityProvider({ baseUrl: proxy.url, adminToken: idaas.adminToken }),
    rateLimitPerSecond: 200,
  });
  hrQueue = createHrEventQueue({ connection: pipe.redis, prefix: pipe.prefix });
  const users = await Promise.all(
    Array.from({ length: USERS }, (_, i) =>
      idaas!.addUser({
        userId: `u${i}`,
        email: `u${i}@example.com`,
        name: `U ${i}`,
        password: `password-${i}-xyz`,
      }),
    ),
  );
  for (const u of users) await idaas.mintTokens({ user: u.id, application: 'expense-portal' });
  const workers = [0, 1].map(() => {
    const child = spawnWorker({
      env: {
        REDIS_URL,
        REVOKER_PREFIX: pipe!.prefix,
        IDAAS_URL: proxy.url,
        IDAAS_ADMIN_TOKEN: idaas!.adminToken,
        WORKER_CONCURRENCY: '4',
        IDP_RATE_LIMIT: '200',
      },
    });
    children.push(child);
    return child;
  });
  // Starting Node processes takes long on a loaded 2-core machine.
  await Promise.all(workers.map((w) => w.waitUntilReady(pipe!.queues.idpCalls, 45_000)));
  return { idaas, proxy, pipe, users, workers };
}

/** Asserts the 429 was waited out ≥ 2 s by its caller, and that no process called the IdP meanwhile. */
function expectPaused(proxy: Awaited<ReturnType<typeof throttlingProxy>>): void {
  const fired = proxy.fired;
  expect(fired, 'the armed call never came').toBeDefined();
  const retry = proxy.seen.find(
    (s) => s.at > fired!.at && s.method === fired!.method && s.path === fired!.path,
  );
  expect(retry, 'the throttled call was never retried').toBeDefined();
  expect(retry!.at - fired!.at).toBeGreaterThanOrEqual(2000);
  // Calls admitted just before the pause may still be on their way (a loaded machine delays them by a
  // few hundred ms at most); after that, nothing from any process until the reset.
  const late = proxy.seen.filter((s) => s.at > fired!.at && s.at <= fired!.at + 400 && s !== fired);
  const during = proxy.seen.filter((s) => s.at > fired!.at + 400 && s.at < fired!.at + 2000);
  expect(during).toEqual([]);
  console.info(
    `[budget] 429 on ${fired!.method} ${fired!.path.replace(ADMIN_PREFIX, '')}: retried after ${retry!.at - fired!.at} ms; ` +
      `${late.length} calls admitted before it still arriving; ` +
      `${proxy.seen.filter((s) => s.at > fired!.at + 2000).length} calls after the pause`,
  );
}

async function submitAll(p: Pipeline, userIds: string[]) {
  return Promise.all(
    userIds.map(
      async (userId) =>
        (
          await p.intake.submit({
            target: { kind: 'user', userId },
            reason: 'budget test',
            requestedBy: requester,
            source: 'cli',
          })
        ).request,
    ),
  );
}

async function expectAllVerified(p: Pipeline, ids: string[]) {
  for (const id of ids) expect((await p.intake.waitForOutcome(id, 30_000)).state).toBe('verified');
}

/** Both processes took part: each finished IdP-call or lifecycle jobs. */
async function expectBothWorked(p: Pipeline, workers: WorkerProcess[]) {
  const jobs = [
    ...(await p.queues.idpCalls.getJobs(['completed'], 0, -1)),
    ...(await p.queues.revocations.getJobs(['completed'], 0, -1)),
    ...(await p.queues.peopleRevocations.getJobs(['completed'], 0, -1)),
  ];
  for (const w of workers) expect(jobs.some((j) => j.processedBy === w.workerName)).toBe(true);
}

const tokensPath = /^\/users\/[^/]+\/tokens$/;

describe('one IdP budget: a 429 on any call path pauses every process for the time the IdP named', () => {
  /** A batch of offboardings with the armed call answered 429 once. */
  async function batchWith429(arm: (proxy: Awaited<ReturnType<typeof throttlingProxy>>) => void) {
    const { proxy, pipe, users, workers } = await setup();
    arm(proxy);
    const requests = await submitAll(
      pipe,
      users.map((u) => u.id),
    );
    await expectAllVerified(
      pipe,
      requests.map((r) => r.id),
    );
    expectPaused(proxy);
    await expectBothWorked(pipe, workers);
  }

  it('plan: the first listing', { timeout: 120_000 }, () =>
    batchWith429((proxy) => proxy.arm((m, p) => m === 'GET' && tokensPath.test(p))),
  );

  it('sweep: the bulk revoke', { timeout: 120_000 }, () =>
    batchWith429((proxy) => proxy.arm((m, p) => m === 'DELETE' && tokensPath.test(p))),
  );

  it('verify: the listing after the bulk call', { timeout: 120_000 }, () =>
    batchWith429((proxy) =>
      proxy.arm((m, p) => m === 'GET' && tokensPath.test(p) && proxy.deleted.has(`${ADMIN_PREFIX}${p}`)),
    ),
  );

  it('HR resolution: the look-up by email, in the worker processes', { timeout: 120_000 }, async () => {
    const { proxy, pipe, users, workers } = await setup();
    proxy.arm((m, p) => m === 'GET' && /^\/users\/[^/]+@[^/]+$/.test(decodeURIComponent(p)));
    for (const [i, u] of users.entries()) {
      await enqueueHrEvent(hrQueue!, {
        source: 'standard',
        eventId: `evt-${i}`,
        employeeId: `E${i}`,
        email: `u${i}@example.com`,
        kind: 'terminate',
        type: 'employee.terminated',
      });
      expect(u.email).toBe(`u${i}@example.com`);
    }
    await until(
      'every offboarding verified',
      async () => ((await pipe.store.idsInState('verified')).length === USERS ? true : undefined),
      30_000,
      50,
    );
    expectPaused(proxy);
    await expectBothWorked(pipe, workers);
  });

  it('search: a Slack options search in the web role pauses the workers too', {
    timeout: 60_000,
  }, async () => {
    const { proxy, pipe, users, workers } = await setup();
    proxy.arm((m, p) => m === 'GET' && p === '/users?');
    const interactive = (pipe.idp as BudgetedIdentityProvider).interactive();
    const started = Date.now();
    const search = interactive.searchUsers('u1');
    const requests = submitAll(
      pipe,
      users.map((u) => u.id),
    );
    const found = await search;
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(found.map((u) => u.userName)).toContain('u1');
    await expectAllVerified(
      pipe,
      (await requests).map((r) => r.id),
    );
    expectPaused(proxy);
    await expectBothWorked(pipe, workers);
  });
});
