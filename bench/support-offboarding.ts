/**
 * Shared by the offboarding benches (mass-offboarding, urgent): people with real tokens in the embedded
 * IDaaS, signed HR terminations posted at once, and waiting for requests to end.
 */
import { signHrDelivery } from '../src/hr/signing.ts';
import { ADMIN_PREFIX } from '../src/idaas/admin-contract.ts';
import type { IssuedTokens } from '../src/idaas/index.ts';
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
export async function seedLeavers(svc: BenchService, login: string, count: number): Promise<Leaver[]> {
  const { idaas } = svc;
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
    await admin(svc, 'DELETE', `/users/${users[i]!.id}/tokens/${b!.refreshTokenId}`);
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

/** Waits until `n` requests are terminal (verified or failed); returns them. */
export async function allFinished(svc: BenchService, n: number, timeoutMs: number): Promise<RequestRecord[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ids = [
      ...(await svc.rt.store.idsInState('verified')),
      ...(await svc.rt.store.idsInState('failed')),
    ];
    if (ids.length >= n) return svc.rt.store.getMany(ids);
    if (Date.now() > deadline)
      throw new Error(`only ${ids.length}/${n} requests finished in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** One call to the IDaaS admin API with its admin token; throws unless it answered 2xx. */
export async function admin(svc: BenchService, method: string, path: string): Promise<void> {
  const res = await fetch(`${svc.idaas.url}${ADMIN_PREFIX}${path}`, {
    method,
    headers: { authorization: `Bearer ${svc.idaas.adminToken}` },
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
