import { randomUUID } from 'node:crypto';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedTokens } from '../../src/idaas/index.ts';
import type { RequestRecord } from '../../src/intake/types.ts';
import { deliverHr, HR_TEST_SECRETS, signHrDelivery } from '../helpers/hr-signing.ts';
import {
  type VendorEmployee as Employee,
  HrVendorApis,
  TEST_VENDOR_CREDENTIALS,
  TEST_VENDOR_URLS,
} from '../helpers/hr-vendor-apis.ts';
import {
  hrJobCount,
  isAlive,
  isDead,
  mintOne,
  startTestService,
  type TestService,
} from '../helpers/service.ts';
import { nonEmpty, until } from '../helpers/wait.ts';

/**
 * Each vendor end to end through the real service: signed as the vendor signs (test/helpers/hr-signing.ts),
 * shaped as the vendor documents its deliveries, with the vendor APIs the sources call for id-only
 * deliveries stood in by msw (answers shaped as documented). Tokens are probed at the embedded IDaaS.
 */

const BAMBOO_API = TEST_VENDOR_URLS.bamboohr;
const HIBOB_API = TEST_VENDOR_URLS.hibob;
const GUSTO_API = TEST_VENDOR_URLS.gusto;
const DEEL_API = TEST_VENDOR_URLS.deel;
const CREDS = TEST_VENDOR_CREDENTIALS;

const DAY_MS = 86_400_000;
const dateOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

const apis = new HrVendorApis(
  { bamboohr: BAMBOO_API, hibob: HIBOB_API, gusto: GUSTO_API, deel: DEEL_API },
  CREDS,
);
const vendorApis = setupServer(...apis.handlers());

let t: TestService;

beforeAll(async () => {
  vendorApis.listen({ onUnhandledFrame: 'error' });
  t = await startTestService({
    HR_BAMBOOHR_SECRET: HR_TEST_SECRETS.bamboohr!,
    HR_HIBOB_SECRET: HR_TEST_SECRETS.hibob!,
    HR_GUSTO_SECRET: HR_TEST_SECRETS.gusto!,
    HR_DEEL_SECRET: HR_TEST_SECRETS.deel!,
    BAMBOOHR_API_URL: BAMBOO_API,
    HIBOB_API_URL: HIBOB_API,
    GUSTO_API_URL: GUSTO_API,
    DEEL_API_URL: DEEL_API,
    ...CREDS,
  });
});
afterAll(async () => {
  await t?.close();
  vendorApis.close();
});

interface Vendor {
  name: 'bamboohr' | 'hibob' | 'gusto' | 'deel';
  /** Whether the vendor signs a timestamp (then a stale one must be refused). */
  timestamped: boolean;
  /** A termination of `e` as the vendor delivers it (ids only where the vendor sends ids only). */
  termination(e: Employee): string;
  /**
   * Where the vendor's date means "end of that day, UTC": a termination whose last day is today, in a
   * shape that carries the date (and email) in the delivery or via the look-up.
   */
  terminationToday?(e: Employee): string;
  /** Where the event says the employment has already ended (Deel): a date of today means now. */
  terminationTodayEnded?(e: Employee): string;
}

const VENDORS: Vendor[] = [
  {
    name: 'bamboohr',
    timestamped: true,
    // Event-based webhook: ids only; the worker reads status and terminationDate from the API.
    termination: (e) =>
      JSON.stringify({
        type: 'employee.updated',
        timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, '+0000'),
        data: { companyId: '12345', employeeId: e.employeeId, changedFields: ['status', 'terminationDate'] },
      }),
    // Field-based webhook: the posted fields carry status, email and termination date.
    terminationToday: (e) =>
      JSON.stringify({
        employees: [
          {
            id: e.employeeId,
            action: 'Updated',
            timestamp: new Date().toISOString(),
            changedFields: ['Status', 'Termination Date'],
            fields: {
              'Work Email': { value: e.email },
              Status: { value: 'Inactive' },
              'Termination Date': { value: e.lastDay },
            },
          },
        ],
      }),
  },
  {
    name: 'hibob',
    timestamped: false,
    // Webhooks v2 lifecycle event, ids only (fires at midnight of the effective date: means now).
    termination: (e) =>
      JSON.stringify({
        companyId: 640123,
        type: 'employee.left',
        triggeredBy: 'system',
        triggeredAt: new Date().toISOString(),
        version: 'v2',
        data: { employeeId: e.employeeId },
      }),
  },
  {
    name: 'gusto',
    timestamped: false,
    // Ids only; email and last day come from GET /v1/employees/{uuid}.
    termination: (e) =>
      JSON.stringify({
        uuid: randomUUID(),
        event_type: 'employee.terminated',
        resource_type: 'Company',
        resource_uuid: 'c0mpany-0000-4000-8000-000000000001',
        entity_type: 'Employee',
        entity_uuid: e.employeeId,
        timestamp: Math.floor(Date.now() / 1000),
      }),
    terminationToday: (e) => VENDORS[2]!.termination(e),
  },
  {
    name: 'deel',
    timestamped: false,
    // contract.terminated with the contract id and completion_date; the worker's email from the API.
    termination: (e) =>
      JSON.stringify({
        data: {
          meta: {
            event_type: 'contract.terminated',
            event_type_id: 'a9f3e1d2-0000-4000-8000-00000000dee1',
            organization_id: 'org-1',
            organization_name: 'Acme',
            tracking_id: randomUUID(),
          },
          resource: { id: e.employeeId, completion_date: e.lastDay },
        },
        timestamp: new Date().toISOString(),
      }),
    // This time the resource carries the worker's email: no look-up.
    terminationTodayEnded: (e) => {
      const body = JSON.parse(VENDORS[3]!.termination(e)) as {
        data: { resource: Record<string, unknown> };
      };
      body.data.resource.worker = { email: e.email };
      return JSON.stringify(body);
    },
  },
];

const deliver = (vendor: string, body: string, headers?: Record<string, string>) =>
  deliverHr(t.url, vendor, body, headers);

/** A fresh IDaaS user and the HR vendor's employee record for them. */
async function employee(vendor: Vendor['name'], label: string, lastDay?: string) {
  const login = `${vendor}-${label}`;
  const email = `${login}@example.com`;
  const user = await t.idaas.addUser({ userId: login, email, name: login, password: `${login}-password-1` });
  const e: Employee = { employeeId: `${vendor.slice(0, 2)}${Math.floor(Math.random() * 1e9)}`, email };
  if (lastDay !== undefined) e.lastDay = lastDay;
  apis.add(vendor, e);
  const tokens = await Promise.all([mint(login), mint(login, 'team-wiki', 'reports-api')]);
  for (const tok of nonEmpty(tokens, 'minted token')) expect(await isAlive(t.idaas, tok)).toBe(true);
  return { userId: user.id, employee: e, tokens };
}

const mint = (user: string, application?: string, resourceServer?: string) =>
  mintOne(t, user, application, resourceServer);

async function hrRequestsFor(userId: string): Promise<RequestRecord[]> {
  const recs = await t.rt.intake.list({ source: 'hr', limit: 200 });
  return recs.filter((r) => r.target.kind === 'user' && r.target.userId === userId);
}

/**
 * The HR request for `who`, once the hr-events worker has turned the delivery into one; fails at once
 * with the job's reason if the worker failed it.
 */
function hrRequestFor(who: { userId: string; employee: Employee }) {
  return until(`the HR request for ${who.employee.email}`, async () => {
    const [rec] = await hrRequestsFor(who.userId);
    if (rec) return rec;
    const failed = (await t.service.hrQueue.getFailed()).find(
      (j) => j.data.employeeId === who.employee.employeeId,
    );
    if (failed) throw new Error(`HR event for ${who.employee.email} failed: ${failed.failedReason}`);
    return undefined;
  });
}

const hrJobs = () => hrJobCount(t);

describe.each(VENDORS)('HR vendor $name through the real service', (vendor) => {
  const yesterday = () => dateOf(Date.now() - DAY_MS);
  let colleague: IssuedTokens;

  beforeAll(async () => {
    colleague = (await employee(vendor.name, 'colleague')).tokens[0]!;
  });

  it('a valid termination kills every token of that employee, and only theirs', async () => {
    const leaver = await employee(vendor.name, 'leaver', yesterday());
    const res = await deliver(vendor.name, vendor.termination(leaver.employee));
    expect(res).toEqual({ status: 202, body: { status: 'accepted', events: 1 } });
    const rec = await hrRequestFor(leaver);
    // Every vendor's delivery here carries ids only: the email came from the vendor's API.
    expect(apis.answered(vendor.name, leaver.employee.employeeId)).not.toEqual([]);
    expect(rec.context).toMatchObject({ hrSource: vendor.name, employeeId: leaver.employee.employeeId });
    const done = await t.rt.intake.waitForOutcome(rec.id, 20_000);
    expect(done.state).toBe('verified');
    for (const tok of leaver.tokens) expect(await isDead(t.idaas, tok)).toBe(true);
    expect(await isAlive(t.idaas, colleague)).toBe(true);
  });

  it('wrong secret, altered body and a stale timestamp answer 401 and enqueue nothing', async () => {
    const target = await employee(vendor.name, 'forged', yesterday());
    const before = await hrJobs();
    const seen = apis.calls.length;
    const body = vendor.termination(target.employee);
    const wrong = signHrDelivery(vendor.name, `not-${HR_TEST_SECRETS[vendor.name]}`, body);
    expect((await deliver(vendor.name, body, wrong)).status).toBe(401);
    const good = signHrDelivery(vendor.name, HR_TEST_SECRETS[vendor.name]!, body);
    const altered = body.replace(target.employee.employeeId, `${target.employee.employeeId}9`);
    expect(altered).not.toBe(body);
    expect((await deliver(vendor.name, altered, good)).status).toBe(401);
    const unsigned = { 'content-type': 'application/json' };
    expect((await deliver(vendor.name, body, unsigned)).status).toBe(401);
    if (vendor.timestamped) {
      const stale = signHrDelivery(
        vendor.name,
        HR_TEST_SECRETS[vendor.name]!,
        body,
        new Date(Date.now() - 6 * 60_000),
      );
      expect(await deliver(vendor.name, body, stale)).toEqual({
        status: 401,
        body: { error: 'signature_stale' },
      });
    }
    expect(await hrJobs()).toBe(before);
    expect(apis.calls.length).toBe(seen);
    expect(await hrRequestsFor(target.userId)).toEqual([]);
    for (const tok of target.tokens) expect(await isAlive(t.idaas, tok)).toBe(true);
  });

  it('the same delivery ten times at once makes one request and one request.created entry', async () => {
    const leaver = await employee(vendor.name, 'repeated', yesterday());
    const body = vendor.termination(leaver.employee);
    const headers = signHrDelivery(vendor.name, HR_TEST_SECRETS[vendor.name]!, body);
    const answers = await Promise.all(Array.from({ length: 10 }, () => deliver(vendor.name, body, headers)));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(202));
    expect(answers.filter((a) => a.body.status === 'accepted')).toHaveLength(1);
    expect(answers.filter((a) => a.body.status === 'duplicate')).toHaveLength(9);
    const rec = await hrRequestFor(leaver);
    expect((await t.rt.intake.waitForOutcome(rec.id, 20_000)).state).toBe('verified');
    expect(await hrRequestsFor(leaver.userId)).toHaveLength(1);
    const created: string[] = [];
    for await (const e of t.rt.audit.entries({ requestId: rec.id }))
      if (e.action === 'request.created') created.push(e.id);
    expect(created).toHaveLength(1);
    for (const tok of leaver.tokens) expect(await isDead(t.idaas, tok)).toBe(true);
  });

  if (vendor.terminationToday)
    it('a last day of today means end of today UTC: scheduled for midnight, tokens live meanwhile', async () => {
      const today = dateOf(Date.now());
      const midnight = new Date(Date.parse(`${today}T00:00:00Z`) + DAY_MS).toISOString();
      const leaver = await employee(vendor.name, 'today', today);
      const res = await deliver(vendor.name, vendor.terminationToday!(leaver.employee));
      expect(res.status).toBe(202);
      const rec = await hrRequestFor(leaver);
      expect(rec.state).toBe('scheduled');
      expect(rec.effectiveAt).toBe(midnight);
      for (const tok of leaver.tokens) expect(await isAlive(t.idaas, tok)).toBe(true);
    });

  if (vendor.terminationTodayEnded)
    it('an ended contract dated today revokes now (the event comes after the end)', async () => {
      const leaver = await employee(vendor.name, 'ended-today', dateOf(Date.now()));
      const res = await deliver(vendor.name, vendor.terminationTodayEnded!(leaver.employee));
      expect(res.status).toBe(202);
      const rec = await hrRequestFor(leaver);
      expect((await t.rt.intake.waitForOutcome(rec.id, 20_000)).state).toBe('verified');
      for (const tok of leaver.tokens) expect(await isDead(t.idaas, tok)).toBe(true);
    });
});
