import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../src/intake/types.ts';
import { deliverHr, signHrDelivery } from '../helpers/hr-signing.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { until } from '../helpers/wait.ts';
import { listTokenIds, OTHER_APP } from '../integration/faults/fixtures.ts';

/**
 * Issue 21 item 1: anonymous `/readyz` callers must not stall offboardings. Each call used to run the
 * per-client credential probe in the interactive lane (ahead of every revocation): with four `curl`
 * loops, 0 of 10 HR terminations finished in 25 s. Now `/readyz` answers a cached result whose refresh
 * runs in the background, at most once per interval, on the budget's probe lane.
 */
const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const PER_ROUND = 10;
let t: TestService;

beforeAll(async () => {
  t = await startTestService({
    HR_STANDARD_SECRET: SECRET,
    IDP_RATE_LIMIT: '10',
    // The per-client probe has several clients to authenticate (IDP=idaas's introspection client too).
  });
});
afterAll(async () => {
  await t?.close();
});

async function leavers(round: string, n: number): Promise<{ email: string; userId: string }[]> {
  const out: { email: string; userId: string }[] = [];
  for (let i = 0; i < n; i++) {
    const email = `leaver-${round}-${i}@example.com`;
    const user = await t.idaas.addUser({
      userId: `leaver-${round}-${i}`,
      email,
      name: `Leaver ${round} ${i}`,
      password: `password-${round}-${i}-xyz`,
    });
    await t.idaas.mintTokens({ user: user.userId, application: OTHER_APP });
    out.push({ email, userId: user.id });
  }
  return out;
}

/** Sends one signed termination per leaver; resolves with the ms until every request is verified. */
async function offboard(round: string, users: { email: string; userId: string }[]): Promise<number> {
  const started = Date.now();
  await Promise.all(
    users.map(async (u, i) => {
      const body = JSON.stringify({
        type: 'employee.terminated',
        data: { employeeId: `E-${round}-${i}`, email: u.email, reason: 'left the company' },
      });
      const res = await deliverHr(t.url, 'standard', body, signHrDelivery('standard', SECRET, body));
      expect(res.status).toBe(202);
    }),
  );
  const ids = new Set(users.map((u) => u.userId));
  const requests = await until(
    `${round}: the HR requests`,
    async () => {
      const recs = (await t.rt.intake.list({ source: 'hr', limit: 1000 })).filter(
        (r): r is RequestRecord & { target: { kind: 'user'; userId: string } } =>
          r.target.kind === 'user' && ids.has(r.target.userId),
      );
      return recs.length === users.length ? recs : undefined;
    },
    60_000,
  );
  const done = await Promise.all(requests.map((r) => t.rt.intake.waitForOutcome(r.id, 60_000)));
  const elapsed = Date.now() - started;
  expect(done.map((r) => r.state)).toEqual(Array(users.length).fill('verified'));
  // The oracle is the IdP's own state, not the adapter's verify.
  for (const u of users) expect(await listTokenIds(t.idaas, `/users/${u.userId}/tokens`)).toEqual([]);
  return elapsed;
}

describe('/readyz under a flood', () => {
  it('4 clients looping on /readyz leave 10 HR terminations within 1.2x their time without the flood', async () => {
    // Warm-up: the first request pays for compilation and connections, in neither measured round.
    await offboard('warm', await leavers('warm', 1));
    const quietUsers = await leavers('quiet', PER_ROUND);
    const floodUsers = await leavers('flood', PER_ROUND);

    const quiet = await offboard('quiet', quietUsers);

    let stop = false;
    const statuses = new Map<number, number>();
    const loop = async () => {
      while (!stop) {
        const res = await fetch(`${t.url}/readyz`).catch(() => undefined);
        if (!res) continue;
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    };
    const clients = Array.from({ length: 4 }, loop);
    let flooded: number;
    try {
      flooded = await offboard('flood', floodUsers);
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    const calls = [...statuses.values()].reduce((a, b) => a + b, 0);
    expect(calls).toBeGreaterThan(100);
    expect(statuses.get(200)).toBe(calls);
    expect(flooded).toBeLessThanOrEqual(quiet * 1.2);
  }, 180_000);
});
