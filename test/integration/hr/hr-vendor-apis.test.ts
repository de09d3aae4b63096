import axios, { type AxiosRequestConfig } from 'axios';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadHrConfig } from '../../../src/config/hr-settings.ts';
import type { HrEvent } from '../../../src/hr/hr-event.ts';
import { HR_SOURCES } from '../../../src/hr/registry.ts';
import {
  HrVendorApis,
  TEST_VENDOR_CREDENTIALS,
  TEST_VENDOR_URLS,
  type Vendor,
} from '../../helpers/hr-vendor-apis.ts';

/**
 * The HR vendor API stand-ins refuse what the vendors refuse, and the real sources' look-ups pass them;
 * a source that sends a wrong request (BambooHR without Accept, a HiBob filter on the wrong field) is
 * caught at once — a permanent (non-retryable) failure or a wrong answer — not by a timeout.
 */
const URLS = TEST_VENDOR_URLS;
const CREDS = TEST_VENDOR_CREDENTIALS;
const apis = new HrVendorApis(URLS, CREDS, () => '2026-06-01');
const server = setupServer(...apis.handlers());
const config = loadHrConfig({
  BAMBOOHR_API_URL: URLS.bamboohr,
  HIBOB_API_URL: URLS.hibob,
  GUSTO_API_URL: URLS.gusto,
  DEEL_API_URL: URLS.deel,
  HR_API_TIMEOUT_MS: '2000',
  ...CREDS,
});
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

beforeAll(() => {
  server.listen({ onUnhandledFrame: 'error' });
  for (const v of ['bamboohr', 'hibob', 'gusto', 'deel'] as Vendor[]) {
    apis.add(v, { employeeId: `${v}-1`, email: `${v}.leaver@example.com`, lastDay: '2026-05-31' });
    apis.add(v, { employeeId: `${v}-2`, email: `${v}.stayer@example.com` });
  }
});
afterEach(() => vi.restoreAllMocks());
afterAll(() => server.close());

const lookupOf = (source: Vendor, employeeId: string) =>
  HR_SOURCES[source]!.lookup!(
    { source, eventId: 'e1', employeeId, kind: 'terminate', type: 'x', needsLookup: true } as HrEvent,
    config,
  );

describe('the real sources look employees up as the vendors document', () => {
  it.each(['bamboohr', 'hibob', 'gusto', 'deel'] as Vendor[])('%s', async (vendor) => {
    const before = apis.answered(vendor, `${vendor}-1`).length;
    const event = await lookupOf(vendor, `${vendor}-1`);
    expect(event?.email).toBe(`${vendor}.leaver@example.com`);
    // Deel: the contract (worker id), then the person (work email).
    expect(apis.answered(vendor, `${vendor}-1`).length).toBe(before + (vendor === 'deel' ? 2 : 1));
  });
});

/** Rewrites the next axios request of a source: the "deliberately wrong" request a bug would send. */
function mutateRequests(change: (r: AxiosRequestConfig) => AxiosRequestConfig) {
  const real = axios.request.bind(axios);
  vi.spyOn(axios, 'request').mockImplementation((r: AxiosRequestConfig) => real(change(r)));
}

describe('a wrong request from a source fails in seconds', () => {
  it('BambooHR without Accept: application/json gets XML, which the source cannot read', async () => {
    mutateRequests((r) => ({ ...r, headers: { ...(r.headers as object), Accept: '*/*' } }));
    await expect(lookupOf('bamboohr', 'bamboohr-1')).rejects.toMatchObject({
      retryable: false,
      message: expect.stringMatching(/answer unreadable/),
    });
    expect(apis.calls.filter((c) => c.vendor === 'bamboohr' && c.employeeId === 'bamboohr-1')).toContainEqual(
      expect.objectContaining({ refused: expect.stringMatching(/XML/) }),
    );
  });

  it('a HiBob filter on the wrong field, or on one value of several, finds nobody or the wrong one', async () => {
    mutateRequests((r) => ({
      ...r,
      data: { ...r.data, filters: [{ fieldPath: 'root.email', operator: 'equals', values: ['hibob-1'] }] },
    }));
    expect((await lookupOf('hibob', 'hibob-1'))?.email).toBeUndefined();
    vi.restoreAllMocks();
    // Every filter is read: a second filter that excludes the employee leaves nobody.
    mutateRequests((r) => ({
      ...r,
      data: {
        ...r.data,
        filters: [
          ...r.data.filters,
          { fieldPath: 'root.email', operator: 'equals', values: ['someone.else@example.com'] },
        ],
      },
    }));
    expect((await lookupOf('hibob', 'hibob-1'))?.email).toBeUndefined();
  });

  it('a HiBob search without showInactive does not see a former employee', async () => {
    mutateRequests((r) => ({ ...r, data: { ...r.data, showInactive: undefined } }));
    expect((await lookupOf('hibob', 'hibob-1'))?.email).toBeUndefined();
  });

  it.each([
    ['bamboohr', { ...config, BAMBOOHR_API_URL: `${URLS.bamboohr}/v2` }],
    ['gusto', { ...config, GUSTO_API_URL: `${URLS.gusto}/api` }],
    ['deel', { ...config, DEEL_API_URL: `${URLS.deel}/v9` }],
  ] as const)('%s at a wrong path answers 404, a permanent failure', async (vendor, wrong) => {
    await expect(
      HR_SOURCES[vendor]!.lookup!(
        { source: vendor, eventId: 'e', employeeId: `${vendor}-1`, kind: 'terminate', needsLookup: true },
        wrong,
      ),
    ).rejects.toMatchObject({ retryable: false, message: expect.stringMatching(/answered 404/) });
  });
});

describe('the stand-ins refuse what the vendors refuse', () => {
  const bamboo = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${URLS.bamboohr}${path}`, {
      headers: { authorization: basic(CREDS.BAMBOOHR_API_KEY, 'x'), accept: 'application/json', ...headers },
    });
  const bob = (body: unknown) =>
    fetch(`${URLS.hibob}/v1/people/search`, {
      method: 'POST',
      headers: {
        authorization: basic(CREDS.HIBOB_API_USER, CREDS.HIBOB_API_TOKEN),
        'content-type': 'application/json',
      },
      body: JSON.stringify(body),
    });

  it('BambooHR: fields honoured, unknown field 406, no fields 400, wrong key 401, XML by default', async () => {
    const ok = await bamboo('/v1/employees/bamboohr-1?fields=workEmail');
    expect(await ok.json()).toEqual({ id: 'bamboohr-1', workEmail: 'bamboohr.leaver@example.com' });
    expect((await bamboo('/v1/employees/bamboohr-1?fields=workEmail,shoeSize')).status).toBe(406);
    expect((await bamboo('/v1/employees/bamboohr-1')).status).toBe(400);
    expect(
      (await bamboo('/v1/employees/bamboohr-1?fields=workEmail', { authorization: 'Basic eDp4' })).status,
    ).toBe(401);
    const xml = await bamboo('/v1/employees/bamboohr-1?fields=workEmail', { accept: '*/*' });
    expect(xml.headers.get('content-type')).toMatch(/xml/);
    expect(await xml.text()).toContain('<field id="workEmail">bamboohr.leaver@example.com</field>');
    expect((await bamboo('/v1/employee/bamboohr-1?fields=workEmail')).status).toBe(404);
  });

  it('HiBob: every filter and value applies, unknown fields are omitted, bad operators are refused', async () => {
    const search = async (body: unknown) =>
      ((await (await bob(body)).json()) as { employees: unknown[] }).employees;
    const both = ['hibob-1', 'hibob-2'];
    expect(
      await search({
        fields: ['root.id', 'root.email', 'root.shoeSize'],
        filters: [{ fieldPath: 'root.id', operator: 'equals', values: both }],
        showInactive: true,
      }),
    ).toEqual([
      { id: 'hibob-1', email: 'hibob.leaver@example.com' },
      { id: 'hibob-2', email: 'hibob.stayer@example.com' },
    ]);
    expect(
      await search({
        fields: ['root.id'],
        filters: [
          { fieldPath: 'root.id', operator: 'equals', values: both },
          { fieldPath: 'root.email', operator: 'equals', values: ['hibob.stayer@example.com'] },
        ],
        showInactive: true,
      }),
    ).toEqual([{ id: 'hibob-2' }]);
    // Active employees only unless showInactive.
    expect(await search({ fields: ['root.id'], filters: [] })).toEqual([{ id: 'hibob-2' }]);
    const bad = await bob({
      fields: ['root.id'],
      filters: [{ fieldPath: 'root.id', operator: 'contains', values: ['x'] }],
    });
    expect(bad.status).toBe(400);
    expect((await fetch(`${URLS.hibob}/v1/people`, { method: 'POST' })).status).toBe(404);
  });

  it('requests to a host no stand-in serves fail at once', async () => {
    await expect(fetch('https://api.bamboohr.com/api/gateway.php/acme/v1/employees/1')).rejects.toThrow();
  });
});
