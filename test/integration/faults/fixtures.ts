import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import type { Actor } from '../../../src/domain/request.ts';
import type { Target } from '../../../src/domain/target.ts';
import { ADMIN_PREFIX, AdminTokenListSchema } from '../../../src/idaas/admin-contract.ts';
import type { Idaas, IssuedTokens } from '../../../src/idaas/index.ts';
import type { RequestRecord } from '../../../src/intake/types.ts';
import type { Pipeline } from '../../helpers/pipeline.ts';
import { heldOf } from '../../helpers/service.ts';
import { probeHeld } from '../../helpers/token-probe.ts';
import { until } from '../../helpers/wait.ts';

export const requester: Actor = { source: 'cli', id: 'fault-tests', name: 'Fault tests' };

/** The application whose tokens the tests revoke, and one whose tokens must survive. */
export const IN_SCOPE_APP = 'team-wiki';
export const OTHER_APP = 'expense-portal';

/** Real tokens (access + refresh per grant) for `grants` grants of `application`, spread over `users`. */
export async function mintGrants(
  idaas: Idaas,
  application: string,
  grants: number,
  users: string[] = ['alice', 'bob', 'carol', 'dave'],
): Promise<IssuedTokens[]> {
  const per = Math.ceil(grants / users.length);
  const batches = await Promise.all(
    users.map((user, i) => {
      const count = Math.min(per, grants - i * per);
      return count > 0 ? idaas.mintTokens({ user, application, count }) : Promise.resolve([]);
    }),
  );
  return batches.flat();
}

/** Every token id (`tok_…`) the admin API knows for those grants: access and refresh tokens. */
export function tokenIds(issued: IssuedTokens[]): string[] {
  return issued.flatMap((t) => [t.accessTokenId, ...(t.refreshTokenId ? [t.refreshTokenId] : [])]);
}

/** The console's listing, straight from the admin API (not through the adapter under test). */
export async function listTokenIds(idaas: Idaas, path: string): Promise<string[]> {
  const res = await fetch(`${idaas.url}${ADMIN_PREFIX}${path}`, {
    headers: { authorization: `Bearer ${idaas.adminToken}` },
  });
  if (!res.ok) throw new Error(`GET ${path} answered ${res.status}`);
  return AdminTokenListSchema.parse(await res.json()).tokens.map((t) => t.id);
}

/** Whether tokens still work where a client would notice: UserInfo, introspection, refresh. */
export const probe = (idaas: Idaas, t: IssuedTokens) => probeHeld(idaas, heldOf(t));

export async function expectDead(idaas: Idaas, sample: IssuedTokens[]): Promise<void> {
  for (const t of sample) {
    const r = await probe(idaas, t);
    expect(r.userinfo).toBe(401);
    expect(r.introspection.active).toBe(false);
    expect(r.refresh?.result).toBe('invalid_grant');
  }
}

/** Probing refreshes (rotation): call it after any listing check of the same tokens. */
export async function expectAlive(idaas: Idaas, sample: IssuedTokens[]): Promise<void> {
  for (const t of sample) {
    const r = await probe(idaas, t);
    expect(r.userinfo).toBe(200);
    expect(r.introspection.active).toBe(true);
    expect(r.refresh?.result).toBe('ok');
  }
}

/** Every n-th element: a sample spread over the whole batch. */
export function sampleOf<T>(items: T[], size: number): T[] {
  const step = Math.max(1, Math.floor(items.length / size));
  return items.filter((_, i) => i % step === 0).slice(0, size);
}

export async function submitApp(
  pipe: Pipeline,
  applicationId = IN_SCOPE_APP,
  idempotencyKey?: string,
): Promise<RequestRecord> {
  const target: Target = { kind: 'application', applicationId };
  const { request } = await pipe.intake.submit({
    target,
    reason: 'fault test',
    requestedBy: requester,
    source: 'cli',
    ...(idempotencyKey ? { idempotencyKey } : {}),
  });
  return request;
}

/** `n` new users of the IDaaS, each holding one grant (access + refresh token) at IN_SCOPE_APP. */
export async function leavers(idaas: Idaas, n: number): Promise<IssuedTokens[][]> {
  const users = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      idaas.addUser({
        userId: `leaver${i}`,
        email: `leaver${i}@example.com`,
        name: `Leaver ${i}`,
        password: `password-${i}-xyz`,
      }),
    ),
  );
  return Promise.all(users.map((u) => idaas.mintTokens({ user: u.id, application: IN_SCOPE_APP })));
}

/** One user-scope request per leaver: a batch of offboardings, one bulk call each. */
export async function submitUsers(pipe: Pipeline, batch: IssuedTokens[][]): Promise<RequestRecord[]> {
  return Promise.all(
    batch.map(
      async (tokens) =>
        (
          await pipe.intake.submit({
            target: { kind: 'user', userId: tokens[0]!.userId },
            reason: 'fault test',
            requestedBy: requester,
            source: 'cli',
          })
        ).request,
    ),
  );
}

/** Tokens revoked so far over a batch of requests. */
export async function revokedInBatch(pipe: Pipeline, requests: RequestRecord[]): Promise<number> {
  const counts = await Promise.all(requests.map((r) => pipe.store.countRevoked(r.id)));
  return counts.reduce((a, b) => a + b, 0);
}

/** Every request of the batch verified, every token of its user audited exactly once, the chain intact. */
export async function expectBatchDone(
  pipe: Pipeline,
  requests: RequestRecord[],
  batch: IssuedTokens[][],
  timeoutMs: number,
): Promise<void> {
  const ids = requests.map((r) => r.id);
  const done = await until(
    `${ids.length} requests finished`,
    async () => {
      const recs = await pipe.store.getMany(ids);
      return recs.every((r) => r.state === 'verified' || r.state === 'failed') ? recs : undefined;
    },
    timeoutMs,
    100,
  );
  // One pass over the audit log for the whole batch (a pass per request would be quadratic).
  const counts = new Map<string, number>();
  for await (const e of pipe.audit.entries()) {
    if (e.action !== 'token.revoked' || !e.requestId) continue;
    const key = `${e.requestId} ${String(e.detail?.tokenId)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  for (const [i, r] of done.entries()) {
    expect(r.state, r.result?.error).toBe('verified');
    const expected = tokenIds(batch[i]!);
    expect(r.result).toMatchObject({ ok: true, revoked: expected.length, remaining: 0 });
    for (const t of expected) expect(counts.get(`${r.id} ${t}`), `${r.id} ${t}`).toBe(1);
  }
  const audited = [...counts.keys()].filter((k) => ids.includes(k.split(' ')[0]!));
  expect(audited).toHaveLength(batch.reduce((n, tokens) => n + tokenIds(tokens).length, 0));
  expect(await pipe.audit.verify()).toMatchObject({ ok: true });
}

/** `token.revoked` entries of a request, counted per `detail.tokenId`. */
export async function revokedPerToken(pipe: Pipeline, requestId: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for await (const e of pipe.audit.entries({ requestId })) {
    if (e.action !== 'token.revoked') continue;
    const id = String(e.detail?.tokenId);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** Exactly one `token.revoked` per expected token, none for anything else, and an intact chain. */
export async function expectExactlyOnce(
  pipe: Pipeline,
  requestId: string,
  expected: string[],
): Promise<void> {
  const counts = await revokedPerToken(pipe, requestId);
  const duplicated = [...counts].filter(([, n]) => n !== 1);
  expect(duplicated).toEqual([]);
  expect([...counts.keys()].sort()).toEqual([...expected].sort());
  expect(await pipe.audit.verify()).toMatchObject({ ok: true });
}

export { until };

/**
 * An HTTP pass-through in front of the IDaaS that counts requests per method (e.g. admin DELETEs) and can
 * hold each admin DELETE for `deleteDelayMs` (a slower IdP, so calls are in flight when a worker dies).
 */
export async function countingProxy(
  targetUrl: string,
  options: {
    deleteDelayMs?: number;
    deleteAnswerDelayMs?: number;
    /** Sees each request first; answering it itself (true) keeps it from the IDaaS. */
    intercept?: (req: IncomingMessage, res: ServerResponse) => boolean;
  } = {},
): Promise<{
  url: string;
  counts: Map<string, number>;
  /** Admin DELETEs the IDaaS has carried out whose answer the proxy is still holding back. */
  heldAnswers(): number;
  close(): Promise<void>;
}> {
  const target = new URL(targetUrl);
  const counts = new Map<string, number>();
  let held = 0;
  const server = createServer((req, res) => {
    if (options.intercept?.(req, res)) return;
    const key = `${req.method} ${(req.url ?? '').startsWith(ADMIN_PREFIX) ? 'admin' : 'oidc'}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    const delay = key === 'DELETE admin' ? (options.deleteDelayMs ?? 0) : 0;
    const answerDelay = key === 'DELETE admin' ? (options.deleteAnswerDelayMs ?? 0) : 0;
    setTimeout(() => forward(req, res, answerDelay), delay);
  });
  const forward = (req: IncomingMessage, res: ServerResponse, answerDelay: number) => {
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        // The IdP has done the work; the caller hears of it only `answerDelay` ms later (or never, if it dies).
        if (answerDelay > 0) held++;
        setTimeout(() => {
          if (answerDelay > 0) held--;
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        }, answerDelay);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    heldAnswers: () => held,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Jobs in the dead-letter queue, in any state. */
export async function deadLetterCount(p: Pipeline): Promise<number> {
  const counts = await p.queues.deadLetters.getJobCounts(
    'waiting',
    'active',
    'completed',
    'failed',
    'delayed',
  );
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/**
 * `waitForOutcome`, but a timeout says where the batch stands: job counts per queue, tokens revoked, and
 * the active IdP calls with their lock's remaining ms (-2 = no lock: waiting for the stalled-job check).
 */
export async function outcomeOf(
  pipe: Pipeline,
  requestId: string,
  timeoutMs: number,
): Promise<RequestRecord> {
  try {
    return await pipe.intake.waitForOutcome(requestId, timeoutMs);
  } catch (err) {
    const q = pipe.queues;
    const active = await q.idpCalls.getJobs(['active'], 0, 9);
    const locks = await Promise.all(
      active.map(
        async (j) => `${j.id}:${await pipe.redis.pttl(`${pipe.prefix}:${q.idpCalls.name}:${j.id}:lock`)}`,
      ),
    );
    const snapshot = {
      revoked: await pipe.store.countRevoked(requestId),
      idpCalls: await q.idpCalls.getJobCounts(),
      revocations: await q.revocations.getJobCounts(),
      activeLocks: locks,
    };
    throw new Error(`${(err as Error).message}; ${JSON.stringify(snapshot)}`);
  }
}
