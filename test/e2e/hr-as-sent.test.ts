import { randomBytes, randomUUID } from 'node:crypto';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHrLookups } from '../../src/doctor/hr-lookup-checks.ts';
import { RedisHandshakeStore } from '../../src/hr/handshake-store.ts';
import { lookupRefusedKey } from '../../src/hr/hr-event-processor.ts';
import type { IssuedTokens } from '../../src/idaas/index.ts';
import type { PipelineEvent } from '../../src/intake/notifier.ts';
import type { RequestRecord } from '../../src/intake/types.ts';
import { CLI_TIMEOUT_MS, runRevoker } from '../helpers/cli.ts';
import { deliverHr, HR_TEST_SECRETS, signHrDelivery } from '../helpers/hr-signing.ts';
import {
  HrVendorApis,
  TEST_VENDOR_CREDENTIALS,
  TEST_VENDOR_URLS,
  type Vendor,
} from '../helpers/hr-vendor-apis.ts';
import { isAlive, isDead, mintOne, startTestService, type TestService } from '../helpers/service.ts';
import { nonEmpty, until } from '../helpers/wait.ts';

/**
 * Each HR vendor as it really sends (issue 24): retries over its documented span, its encodings, its
 * handshake, its simulations and unrelated events, against the stateful vendor simulators
 * (test/helpers/hr-vendor-apis.ts); the oracle is the embedded IDaaS (real tokens) and the audit log.
 */

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const dateOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const CREDENTIALS_KEY = randomBytes(32).toString('base64');

const apis = new HrVendorApis(TEST_VENDOR_URLS, TEST_VENDOR_CREDENTIALS);
const vendorApis = setupServer(...apis.handlers());
const gustoStart = apis.issueGustoTokens();
const notices: PipelineEvent[] = [];

let t: TestService;

beforeAll(async () => {
  vendorApis.listen({ onUnhandledFrame: 'error' });
  t = await startTestService(
    {
      HR_STANDARD_SECRET: HR_TEST_SECRETS.standard!,
      HR_BAMBOOHR_SECRET: HR_TEST_SECRETS.bamboohr!,
      HR_HIBOB_SECRET: HR_TEST_SECRETS.hibob!,
      HR_GUSTO_SECRET: HR_TEST_SECRETS.gusto!,
      HR_DEEL_SECRET: HR_TEST_SECRETS.deel!,
      BAMBOOHR_API_URL: TEST_VENDOR_URLS.bamboohr,
      HIBOB_API_URL: TEST_VENDOR_URLS.hibob,
      GUSTO_API_URL: TEST_VENDOR_URLS.gusto,
      DEEL_API_URL: TEST_VENDOR_URLS.deel,
      ...TEST_VENDOR_CREDENTIALS,
      // A Gusto company connection: the 2-hour access token and its refresh token, plus the app's client.
      GUSTO_API_TOKEN: gustoStart.access_token,
      GUSTO_REFRESH_TOKEN: gustoStart.refresh_token,
      GUSTO_CLIENT_ID: apis.gustoClient.id,
      GUSTO_CLIENT_SECRET: apis.gustoClient.secret,
      HR_CREDENTIALS_KEY: CREDENTIALS_KEY,
    },
    { prefixLabel: 'hr-as-sent' },
  );
  t.rt.notifiers.push({ notify: async (e) => void notices.push(e) });
});
afterAll(async () => {
  await t?.close();
  vendorApis.close();
});

async function person(
  vendor: Vendor,
  label: string,
  extra: Partial<Parameters<HrVendorApis['add']>[1]> = {},
) {
  const login = `${vendor}-${label}-${randomBytes(2).toString('hex')}`;
  const email = `${login}@example.com`;
  const user = await t.idaas.addUser({ userId: login, email, name: login, password: `${login}-password-1` });
  const employeeId = `${vendor.slice(0, 2)}${Math.floor(Math.random() * 1e9)}`;
  apis.add(vendor, { employeeId, email, ...extra });
  const tokens = await Promise.all([mintOne(t, login), mintOne(t, login, 'team-wiki', 'reports-api')]);
  for (const tok of nonEmpty(tokens, 'minted token')) expect(await isAlive(t.idaas, tok)).toBe(true);
  return { userId: user.id, login, email, employeeId, tokens };
}

async function hrRequestsFor(userId: string): Promise<RequestRecord[]> {
  return (await t.rt.intake.list({ source: 'hr', limit: 500 })).filter(
    (r) => r.target.kind === 'user' && r.target.userId === userId,
  );
}

const requestFor = (userId: string) =>
  until(`an HR request for ${userId}`, async () => (await hrRequestsFor(userId))[0]);

async function revokedAndAudited(who: { userId: string; tokens: IssuedTokens[] }) {
  const rec = await requestFor(who.userId);
  const done = await t.rt.intake.waitForOutcome(rec.id, 30_000);
  expect(done.state).toBe('verified');
  for (const tok of who.tokens) expect(await isDead(t.idaas, tok)).toBe(true);
  const actions: string[] = [];
  for await (const e of t.rt.audit.entries({ requestId: rec.id })) actions.push(e.action);
  expect(actions).toContain('token.revoked');
  expect(actions).toContain('request.verified');
  return done;
}

/** Audit entries (not tied to a request) with `action` whose detail matches. */
async function auditWith(action: string, detail: Record<string, unknown>) {
  const out = [];
  for await (const e of t.rt.audit.entries())
    if (e.action === action && Object.entries(detail).every(([k, v]) => e.detail?.[k] === v)) out.push(e);
  return out;
}

/** Waits until the hr-events queue has finished every job (nothing waiting, active or delayed). */
const hrIdle = () =>
  until('the hr-events queue idle', async () => {
    const c = await t.service.hrQueue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return Object.values(c).every((n) => n === 0) ? true : undefined;
  });

const hibob = (type: string, employeeId: string, at: Date, data: Record<string, unknown> = {}) =>
  JSON.stringify({
    companyId: 640123,
    type,
    triggeredBy: 'system',
    triggeredAt: at.toISOString(),
    version: 'v2',
    data: { employeeId, ...data },
  });
const gusto = (eventType: string, entityUuid: string, entityType = 'Employee') =>
  JSON.stringify({
    uuid: randomUUID(),
    event_type: eventType,
    resource_type: 'Company',
    resource_uuid: 'c0mpany-0000-4000-8000-000000000001',
    entity_type: entityType,
    entity_uuid: entityUuid,
    timestamp: Math.floor(Date.now() / 1000),
  });

describe('HiBob', () => {
  it('a termination retried 71 hours later (HiBob retries for 3 days) revokes, audited', async () => {
    const p = await person('hibob', 'retried', { lastDay: dateOf(Date.now() - 4 * DAY_MS) });
    // Revoker was down for ~3 days; HiBob's last retry carries the original event time.
    const body = hibob('employee.left', p.employeeId, new Date(Date.now() - 71 * HOUR_MS));
    expect(await deliverHr(t.url, 'hibob', body)).toMatchObject({
      status: 202,
      body: { status: 'accepted' },
    });
    await revokedAndAudited(p);
  });

  it('employee.inactivated for a leave is acknowledged, audited as ignored, and revokes nothing', async () => {
    const p = await person('hibob', 'leave', { onLeave: true });
    const res = await deliverHr(t.url, 'hibob', hibob('employee.inactivated', p.employeeId, new Date()));
    expect(res.status).toBe(202);
    await until('the leave audited as ignored', async () =>
      (await auditWith('webhook.ignored', { employeeId: p.employeeId })).length ? true : undefined,
    );
    expect(await hrRequestsFor(p.userId)).toEqual([]);
    for (const tok of p.tokens) expect(await isAlive(t.idaas, tok)).toBe(true);
  });

  it('employee.inactivated for a termination revokes', async () => {
    const p = await person('hibob', 'inactivated', { lastDay: dateOf(Date.now() - DAY_MS) });
    expect(
      (await deliverHr(t.url, 'hibob', hibob('employee.inactivated', p.employeeId, new Date()))).status,
    ).toBe(202);
    await revokedAndAudited(p);
  });
});

describe('Gusto', () => {
  it('past its 2-hour token expiry, refreshes (rotating the sealed pair) and revokes, twice', async () => {
    apis.passTime(3 * HOUR_MS);
    const first = await person('gusto', 'expiry1', { lastDay: dateOf(Date.now() - DAY_MS) });
    expect((await deliverHr(t.url, 'gusto', gusto('employee.terminated', first.employeeId))).status).toBe(
      202,
    );
    await revokedAndAudited(first);
    // The pair is kept in Redis sealed: neither token appears in clear.
    const sealed = (await t.rt.redis.get(`${t.prefix}:hr:gusto:oauth`)) ?? '';
    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain(gustoStart.refresh_token);
    // Two hours later again: the rotated refresh token (the first is spent) refreshes once more.
    apis.passTime(3 * HOUR_MS);
    const second = await person('gusto', 'expiry2', { lastDay: dateOf(Date.now() - DAY_MS) });
    expect((await deliverHr(t.url, 'gusto', gusto('employee.terminated', second.employeeId))).status).toBe(
      202,
    );
    await revokedAndAudited(second);
    expect(
      apis.calls.filter((c) => c.vendor === 'gusto' && c.refused?.includes('refresh token used')),
    ).toEqual([]);
  });

  it('refused credentials are an audited, announced failure; fixed, the same event revokes', async () => {
    const p = await person('gusto', 'refused', { lastDay: dateOf(Date.now() - DAY_MS) });
    const secret = apis.gustoClient.secret;
    apis.gustoClient.secret = 'rotated-in-the-portal';
    apis.passTime(3 * HOUR_MS);
    expect((await deliverHr(t.url, 'gusto', gusto('employee.terminated', p.employeeId))).status).toBe(202);
    await until('the refused credentials audited', async () =>
      (
        await auditWith('webhook.event_failed', {
          employeeId: p.employeeId,
          reason: 'vendor_credentials_refused',
        })
      ).length
        ? true
        : undefined,
    );
    await until('the notice', async () =>
      notices.some((n) => n.type === 'hr.event_failed' && n.employeeId === p.employeeId && !n.final)
        ? true
        : undefined,
    );
    // What `revoker doctor` reports.
    expect(await t.rt.redis.get(lookupRefusedKey(t.prefix, 'gusto'))).toBeTruthy();
    expect(await checkHrLookups(t.rt.redis, t.rt.config)).toEqual([
      expect.objectContaining({ area: 'hr', ok: false, detail: expect.stringContaining('gusto') }),
    ]);
    for (const tok of p.tokens) expect(await isAlive(t.idaas, tok)).toBe(true);
    apis.gustoClient.secret = secret;
    await revokedAndAudited(p);
    expect(await t.rt.redis.get(lookupRefusedKey(t.prefix, 'gusto'))).toBeNull();
    expect(await checkHrLookups(t.rt.redis, t.rt.config)).toEqual([]);
  });

  it('a Gusto API outage is retried until it ends; the acknowledged event then revokes', async () => {
    const p = await person('gusto', 'outage', { lastDay: dateOf(Date.now() - DAY_MS) });
    apis.gustoOutage = 503;
    expect((await deliverHr(t.url, 'gusto', gusto('employee.terminated', p.employeeId))).status).toBe(202);
    await until('a look-up during the outage', async () =>
      apis.calls.some((c) => c.vendor === 'gusto' && c.employeeId === p.employeeId && c.status === 503)
        ? true
        : undefined,
    );
    for (const tok of p.tokens) expect(await isAlive(t.idaas, tok)).toBe(true);
    apis.gustoOutage = undefined;
    await revokedAndAudited(p);
  });

  it('a future termination is scheduled, not read as a cancellation; a rehire with an old one is not revoked early', async () => {
    const future = dateOf(Date.now() + 20 * DAY_MS);
    const p = await person('gusto', 'future', { lastDay: future });
    expect((await deliverHr(t.url, 'gusto', gusto('employee.terminated', p.employeeId))).status).toBe(202);
    const rec = await requestFor(p.userId);
    expect(rec.state).toBe('scheduled');
    expect(rec.effectiveAt).toBe(new Date(Date.parse(`${future}T00:00:00Z`) + DAY_MS).toISOString());

    const back = await person('gusto', 'rehired', { lastDay: dateOf(Date.now() - 400 * DAY_MS) });
    apis.rehire('gusto', back.employeeId);
    apis.terminate('gusto', back.employeeId, future);
    expect((await deliverHr(t.url, 'gusto', gusto('employee.terminated', back.employeeId))).status).toBe(202);
    const again = await requestFor(back.userId);
    expect(again.state).toBe('scheduled');
    for (const tok of back.tokens) expect(await isAlive(t.idaas, tok)).toBe(true);
  });

  it('a delivery retried 60 hours after its event (Gusto retries 16 times, span undocumented ⇒ 3 days) revokes', async () => {
    const p = await person('gusto', 'retried', { lastDay: dateOf(Date.now() - 3 * DAY_MS) });
    const body = JSON.parse(gusto('employee.terminated', p.employeeId)) as Record<string, unknown>;
    body.timestamp = Math.floor((Date.now() - 60 * HOUR_MS) / 1000);
    expect((await deliverHr(t.url, 'gusto', JSON.stringify(body))).status).toBe(202);
    await revokedAndAudited(p);
  });

  it('a contractor deactivation revokes (found by work email, never the personal one)', async () => {
    const p = await person('gusto', 'contractor', {
      contractor: true,
      lastDay: dateOf(Date.now() - 2 * DAY_MS),
    });
    const body = gusto('contractor.deactivation_effective', p.employeeId, 'Contractor');
    expect((await deliverHr(t.url, 'gusto', body)).status).toBe(202);
    await revokedAndAudited(p);
  });

  it('the subscription verification_token is answered 200 and kept sealed for the operator', {
    timeout: CLI_TIMEOUT_MS,
  }, async () => {
    const token = randomUUID();
    const res = await fetch(`${t.url}/webhooks/hr/gusto`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ verification_token: token }),
    });
    expect(res.status).toBe(200);
    const store = new RedisHandshakeStore(t.rt.redis, t.prefix, CREDENTIALS_KEY);
    expect(await store.read('gusto')).toBe(token);
    // What the operator runs to see it (then PUT …/verify and set HR_GUSTO_SECRET).
    const run = await runRevoker(['hr', 'verification-token', 'gusto'], {
      REDIS_URL: t.rt.config.REDIS_URL,
      REVOKER_PREFIX: t.prefix,
      HR_CREDENTIALS_KEY: CREDENTIALS_KEY,
      LOG_LEVEL: 'silent',
    });
    expect(run).toMatchObject({ code: 0, stdout: `${token}\n` });
    expect(await t.rt.redis.get(`${t.prefix}:hr:handshake:gusto`)).not.toContain(token);
    await t.rt.refusals.flush({ all: true });
    const counted = [];
    for await (const e of t.rt.audit.entries())
      if (e.action === 'webhook.ignored' && JSON.stringify(e.detail).includes('verification_token_received'))
        counted.push(e);
    expect(counted).not.toEqual([]);
    // Nothing anywhere in the audit log carries the token.
    for await (const e of t.rt.audit.entries()) expect(JSON.stringify(e)).not.toContain(token);
  });
});

describe('BambooHR', () => {
  const form = (employeeId: string) =>
    new URLSearchParams({
      type: 'employee.updated',
      timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, '+0000'),
      'data[companyId]': '12345',
      'data[employeeId]': employeeId,
      'data[changedFields][0]': 'status',
      'data[changedFields][1]': 'terminationDate',
    }).toString();

  it('a Form Post tenant: the URL-encoded termination revokes, audited', async () => {
    const p = await person('bamboohr', 'form', { lastDay: dateOf(Date.now() - DAY_MS) });
    const body = form(p.employeeId);
    const headers = {
      ...signHrDelivery('bamboohr', HR_TEST_SECRETS.bamboohr!, body),
      'content-type': 'application/x-www-form-urlencoded',
    };
    expect((await deliverHr(t.url, 'bamboohr', body, headers)).status).toBe(202);
    await revokedAndAudited(p);
  });

  it('a rehired person (status Active, old terminationDate still on file) is not revoked', async () => {
    const p = await person('bamboohr', 'rehired', { lastDay: dateOf(Date.now() - 300 * DAY_MS) });
    apis.rehire('bamboohr', p.employeeId);
    const body = JSON.stringify({
      type: 'employee.updated',
      timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, '+0000'),
      data: { companyId: '12345', employeeId: p.employeeId, changedFields: ['status'] },
    });
    expect((await deliverHr(t.url, 'bamboohr', body)).status).toBe(202);
    await until('the BambooHR look-up', async () =>
      apis.answered('bamboohr', p.employeeId).length ? true : undefined,
    );
    await hrIdle();
    expect(await hrRequestsFor(p.userId)).toEqual([]);
    for (const tok of p.tokens) expect(await isAlive(t.idaas, tok)).toBe(true);
  });
});

describe('Deel', () => {
  it('finds the worker by work email, not the Deel login (a personal address of another account)', async () => {
    const personal = `deel-personal-${randomBytes(2).toString('hex')}`;
    await t.idaas.addUser({
      userId: personal,
      email: `${personal}@gmail.test`,
      name: personal,
      password: 'pw-1234567',
    });
    const other = await mintOne(t, personal);
    const p = await person('deel', 'worker', {
      personalEmail: `${personal}@gmail.test`,
      lastDay: dateOf(Date.now()),
    });
    const body = JSON.stringify({
      data: {
        meta: { event_type: 'contract.terminated', tracking_id: randomUUID(), organization_id: 'org-1' },
        resource: {
          id: p.employeeId,
          completion_date: dateOf(Date.now()),
          worker: { email: `${personal}@gmail.test` },
        },
      },
      timestamp: new Date().toISOString(),
    });
    expect((await deliverHr(t.url, 'deel', body)).status).toBe(202);
    await revokedAndAudited(p);
    expect(await isAlive(t.idaas, other)).toBe(true);
  });

  it('a simulation is acknowledged, counted as ignored, and revokes nothing', async () => {
    const p = await person('deel', 'simulated', { lastDay: dateOf(Date.now()) });
    const body = JSON.stringify({
      data: {
        meta: { event_type: 'contract.terminated', tracking_id: randomUUID() },
        resource: { id: p.employeeId, completion_date: dateOf(Date.now()) },
      },
      timestamp: new Date().toISOString(),
      is_simulation: true,
    });
    expect(await deliverHr(t.url, 'deel', body)).toMatchObject({ status: 202, body: { status: 'ignored' } });
    await t.rt.refusals.flush({ all: true });
    expect(await auditWith('webhook.ignored', {})).toContainEqual(
      expect.objectContaining({ actor: expect.objectContaining({ id: 'deel' }) }),
    );
    await hrIdle();
    expect(await hrRequestsFor(p.userId)).toEqual([]);
  });
});

describe('unrelated events are acknowledged (2xx), never refused', () => {
  it('HiBob without employeeId, Deel with a list resource, an unknown Standard type: 202 ignored', async () => {
    const deliveries: [string, string][] = [
      [
        'hibob',
        JSON.stringify({
          type: 'table.entry.created',
          triggeredAt: new Date().toISOString(),
          data: { tableId: 't1' },
        }),
      ],
      [
        'deel',
        JSON.stringify({
          data: { meta: { event_type: 'invoice.created' }, resource: [{ id: 'i1' }] },
          timestamp: new Date().toISOString(),
        }),
      ],
      ['standard', JSON.stringify({ type: 'employee.promoted', data: { employeeId: 'E9' } })],
      ['gusto', gusto('payroll.submitted', randomUUID(), 'Payroll')],
    ];
    for (const [source, body] of deliveries) {
      expect(await deliverHr(t.url, source, body), source).toMatchObject({
        status: 202,
        body: { status: 'ignored' },
      });
    }
  });
});

describe('Standard Webhooks: redeliveries', () => {
  it('the delivery marker outlives the redelivery schedule, so a retry a day later is a duplicate', async () => {
    const p = await person('bamboohr', 'std-retry');
    const body = JSON.stringify({
      type: 'employee.terminated',
      data: { employeeId: p.employeeId, email: p.email },
    });
    const id = `msg_${randomBytes(6).toString('hex')}`;
    const first = signHrDelivery('standard', HR_TEST_SECRETS.standard!, body, new Date(), id);
    expect(await deliverHr(t.url, 'standard', body, first)).toMatchObject({ body: { status: 'accepted' } });
    await revokedAndAudited(p);
    // The spec's schedule ends ~27.6 h after the first attempt; each retry is signed anew, same webhook-id.
    const ttl = await t.rt.redis.ttl(`${t.prefix}:hr-events:delivery:standard.${id}`);
    expect(ttl).toBeGreaterThan(3 * 86_400);
    const retry = signHrDelivery('standard', HR_TEST_SECRETS.standard!, body, new Date(), id);
    expect(await deliverHr(t.url, 'standard', body, retry)).toMatchObject({ body: { status: 'duplicate' } });
    expect(await hrRequestsFor(p.userId)).toHaveLength(1);
  });
});

describe('Standard Webhooks: ordered by event time', () => {
  const std = (
    type: string,
    employeeId: string,
    email: string,
    at: Date,
    extra: Record<string, unknown> = {},
  ) => JSON.stringify({ type, timestamp: at.toISOString(), data: { employeeId, email, ...extra } });

  it('a cancellation that arrives before its termination is remembered and calls it off', async () => {
    const p = await person('bamboohr', 'std-early');
    const t0 = new Date(Date.now() - 60_000);
    const cancel = std(
      'employee.termination_cancelled',
      p.employeeId,
      p.email,
      new Date(t0.getTime() + 10_000),
    );
    expect((await deliverHr(t.url, 'standard', cancel)).status).toBe(202);
    await hrIdle();
    const term = std('employee.terminated', p.employeeId, p.email, t0);
    expect((await deliverHr(t.url, 'standard', term)).status).toBe(202);
    await until('the termination audited as called off', async () =>
      (await auditWith('webhook.ignored', { employeeId: p.employeeId, reason: 'cancelled_before_arrival' }))
        .length
        ? true
        : undefined,
    );
    expect(await hrRequestsFor(p.userId)).toEqual([]);
    for (const tok of p.tokens) expect(await isAlive(t.idaas, tok)).toBe(true);
  });

  it('a cancellation dated after the termination (but delivered before it was processed) cancels it', async () => {
    const p = await person('bamboohr', 'std-late');
    const t0 = new Date(Date.now() - 30_000);
    const when = new Date(Date.now() + 5 * DAY_MS).toISOString();
    const term = std('employee.terminated', p.employeeId, p.email, t0, { effectiveAt: when });
    expect((await deliverHr(t.url, 'standard', term)).status).toBe(202);
    const rec = await requestFor(p.userId);
    // Dated 10 s after the termination happened, i.e. before Revoker processed it.
    const cancel = std(
      'employee.termination_cancelled',
      p.employeeId,
      p.email,
      new Date(t0.getTime() + 10_000),
    );
    expect((await deliverHr(t.url, 'standard', cancel)).status).toBe(202);
    expect((await t.rt.intake.waitForOutcome(rec.id, 10_000)).state).toBe('cancelled');
    for (const tok of p.tokens) expect(await isAlive(t.idaas, tok)).toBe(true);
  });
});
