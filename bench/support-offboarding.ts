/**
 * Shared by the offboarding benches (mass-offboarding, urgent, fan-out): people with real tokens in an
 * IDaaS, signed HR terminations posted at once, waiting for requests to end, and a Slack user revocation
 * timed as a person sees it.
 */
import { randomBytes } from 'node:crypto';
import { signHrDelivery } from '../src/hr/signing.ts';
import { ADMIN_PREFIX } from '../src/idaas/admin-contract.ts';
import type { Idaas, IssuedTokens } from '../src/idaas/index.ts';
import { asInteractive } from '../src/identity/idp-call-context.ts';
import type { RequestRecord } from '../src/intake/types.ts';
import type { BenchService } from './support-slack-hr.ts';

export interface Leaver {
  /** The IDaaS's id of the user (`usr_…`). */
  id: string;
  email: string;
  /** The ids of the user's three live tokens. */
  tokenIds: string[];
}

/**
 * `count` users `{login}{i}` with three real tokens each: an access + refresh pair at one application, an
 * access token at another (its refresh token revoked through the admin API first). Tokens are minted
 * through the provider's own models (src/idaas/mint-tokens.ts, as the tests do), without browser logins.
 */
export async function seedLeavers(idaas: Idaas, login: string, count: number): Promise<Leaver[]> {
  const users = await inBatches(count, 50, (i) =>
    idaas.addUser({
      userId: `${login}${i}`,
      email: `${login}${i}@example.com`,
      name: `${login} ${i}`,
      password: `password-${i}-bench`,
    }),
  );
  return inBatches(count, 25, async (i) => {
    const [a] = await idaas.mintTokens({ user: users[i]!.id, application: 'expense-portal' });
    const [b] = await idaas.mintTokens({ user: users[i]!.id, application: 'team-wiki' });
    await admin(idaas, 'DELETE', `/users/${users[i]!.id}/tokens/${b!.refreshTokenId}`);
    const tokens: IssuedTokens[] = [a!, { ...b!, refreshTokenId: undefined } as IssuedTokens];
    return {
      id: users[i]!.id,
      email: `${login}${i}@example.com`,
      tokenIds: tokens.flatMap((t) => [t.accessTokenId, ...(t.refreshTokenId ? [t.refreshTokenId] : [])]),
    };
  });
}

/** One signed Standard Webhooks termination per email, all posted at once; throws unless each got 202. */
export async function postTerminations(
  svc: BenchService,
  secret: string,
  emails: readonly string[],
  idPrefix: string,
): Promise<void> {
  const answers = await Promise.all(
    emails.map(async (email, i) => {
      const body = JSON.stringify({
        type: 'employee.terminated',
        data: { employeeId: `${idPrefix}${i}`, email, reason: 'bench: mass offboarding' },
      });
      const res = await fetch(`${svc.url}/webhooks/hr/standard`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...signHrDelivery('standard', secret, body, new Date(), `${idPrefix}_${i}`),
        },
        body,
      });
      await res.arrayBuffer();
      return res.status;
    }),
  );
  const accepted = answers.filter((s) => s === 202).length;
  if (accepted !== emails.length) {
    throw new Error(`${emails.length - accepted} webhooks not accepted: ${answers.join(',')}`);
  }
}

/**
 * Waits until `n` requests are terminal (verified, unverifiable or failed; a fan-out's children count
 * too); returns them. A request that ended a minute ago has left its state set for `ended`
 * (src/intake/request-retention.ts), so both are read.
 */
export async function allFinished(svc: BenchService, n: number, timeoutMs: number): Promise<RequestRecord[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ids = new Set([
      ...(await svc.rt.store.idsInState('verified')),
      ...(await svc.rt.store.idsInState('unverifiable')),
      ...(await svc.rt.store.idsInState('failed')),
      ...(await svc.rt.redis.zrange(`${svc.prefix}:req:ended`, '0', '-1')),
    ]);
    if (ids.size >= n) return svc.rt.store.getMany([...ids]);
    if (Date.now() > deadline) throw new Error(`only ${ids.size}/${n} requests finished in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** One call to an IDaaS's admin API with its admin token; throws unless it answered 2xx. */
export async function admin(idaas: Idaas, method: string, path: string): Promise<void> {
  const res = await fetch(`${idaas.adminUrl}${ADMIN_PREFIX}${path}`, {
    method,
    headers: { authorization: `Bearer ${idaas.adminToken}` },
  });
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}`);
  await res.arrayBuffer();
}

/** `f(0..n-1)`, at most `size` at a time, results in order. */
export async function inBatches<T>(n: number, size: number, f: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += size) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(size, n - i) }, (_, k) => f(i + k)))));
  }
  return out;
}

/** One timed Slack user revocation (slackUserRevocation). */
export interface Timed {
  seconds: number;
  record: RequestRecord;
  /** When the submit began, returned, and the approval returned (epoch ms). */
  started: number;
  submitted: number;
  approved: number;
}

/**
 * What Slack's `/revoke` → user → Revoke → Approve does, through the same intake calls: the dialog's dry run
 * (a person looks at it: the interactive lane), the submit with its impact, one approver. Timed from the
 * submit to the verified outcome; `tokens` is how many it must revoke (in every connection).
 */
export async function slackUserRevocation(svc: BenchService, userId: string, tokens: number): Promise<Timed> {
  const { intake } = svc.rt;
  const target = { kind: 'user' as const, userId };
  const plan = await asInteractive(() => intake.preview(target));
  const started = Date.now();
  const { request } = await intake.submit({
    target,
    reason: 'bench: laptop stolen',
    source: 'slack',
    requestedBy: { source: 'slack', id: 'UADMIN1' },
    idempotencyKey: `slack:V${randomBytes(6).toString('hex')}`,
    context: { user: 'UADMIN1' },
    impact: {
      userCount: plan.userCount,
      ...(plan.tokenCount === undefined ? {} : { tokenCount: plan.tokenCount }),
    },
  });
  const submitted = Date.now();
  await intake.approve(request.id, { source: 'slack', id: 'UAPPROVER1' });
  const approved = Date.now();
  const record = await intake.waitForOutcome(request.id, 300_000);
  if (record.state !== 'verified' || record.result?.revoked !== tokens) {
    throw new Error(`urgent request ${record.state}, ${record.result?.revoked ?? 0} revoked`);
  }
  return {
    seconds: (Date.parse(record.updatedAt) - started) / 1000,
    record,
    started,
    submitted,
    approved,
  };
}

/** The middle value (the upper one of an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
