import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Redis } from 'ioredis';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisAuditLog } from '../../src/audit/redis-audit-log.ts';
import { formatReport } from '../../src/cli/report.ts';
import { createHttpApp, type RunningHttpServer, startHttpServer } from '../../src/http/index.ts';
import { CELLS } from '../../src/report/report-cells.ts';
import { createReport } from '../../src/report/report-service.ts';
import { chromiumAvailable, launchChromium } from '../helpers/chromium.ts';
import { connectRedis, deleteKeys, randomPrefix } from '../helpers/redis.ts';

const USER = 'admin';
const PASSWORD = 'correct horse battery staple';
const HOUR = 3_600_000;
const available = chromiumAvailable();

let redis: Redis;
let prefix: string;
let audit: RedisAuditLog;
let dir: string;

/** Three offboardings in the chain: on time, 2 h late (over the SLA), and one cancelled. */
async function seed(): Promise<void> {
  const system = { source: 'system', id: 'revoker' };
  const now = Date.now();
  const people: [string, number, string[]][] = [
    ['erin', 10 * 60_000, ['request.queued', 'request.started', 'request.verified']],
    ['frank', 2 * HOUR, ['request.queued', 'request.started', 'request.verified']],
    ['gina', -HOUR, ['request.scheduled', 'request.cancel_requested', 'request.cancelled']],
  ];
  for (const [who, ago, actions] of people) {
    const requestId = `req_${who}`;
    const target = { kind: 'user' as const, userId: `u_${who}` };
    await audit.append({
      action: 'request.created',
      actor: { source: 'hr', id: 'bamboohr' },
      requestId,
      target,
      detail: {
        reason: 'HR offboarding',
        effectiveAt: null,
        hrEffectiveAt: new Date(now - ago).toISOString(),
        hrSource: 'bamboohr',
        hrEvent: 'employee.updated',
        targetName: `${who[0]!.toUpperCase()}${who.slice(1)}`,
      },
    });
    for (const action of actions)
      await audit.append({
        action: action as 'request.queued',
        actor: system,
        requestId,
        target,
        detail: {},
      });
  }
}

beforeAll(async () => {
  if (!available) return;
  redis = connectRedis();
  prefix = randomPrefix('report-browser');
  audit = new RedisAuditLog({ redis, prefix });
  dir = await mkdtemp(join(tmpdir(), 'revoker-report-browser-'));
  await seed();
});

afterAll(async () => {
  if (!available) return;
  await deleteKeys(redis, prefix);
  await redis.quit();
  await rm(dir, { recursive: true, force: true });
});

/** Console errors, page errors and every URL the page asked for, from the moment it opens. */
function watch(page: Page) {
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => requests.push(r.url()));
  return { errors, requests };
}

/** What a sighted reader and a screen reader both need: the chart drawn, the table and its headers. */
async function expectReadableReport(page: Page, rows: number): Promise<void> {
  const chart = page.getByRole('img', { name: 'Effective time → verified, per offboarding' });
  await chart.waitFor({ state: 'visible', timeout: 30_000 });
  expect(await chart.count()).toBe(1);
  const box = await chart.boundingBox();
  expect(box!.width).toBeGreaterThan(300);
  expect(box!.height).toBeGreaterThan(150);
  expect(await chart.getAttribute('aria-describedby')).toBe('chart-desc');
  expect(await page.locator('svg desc').textContent()).toMatch(/Histogram of the time .* 3 offboardings/);
  // Bars are drawn: at least the on-time one and the late one have height.
  const heights = await page
    .locator('svg rect.bar')
    // No DOM lib in this project's types: getBBox is the SVG element's own.
    .evaluateAll((els) =>
      els.map((e) => (e as unknown as { getBBox(): { height: number } }).getBBox().height),
    );
  expect(heights.filter((h) => h > 0).length).toBeGreaterThanOrEqual(2);

  const table = page.getByRole('table', { name: /Every offboarding and user-scope revocation/ });
  await table.waitFor({ state: 'visible', timeout: 30_000 });
  expect(await table.getByRole('columnheader').count()).toBe(CELLS.length);
  expect(await table.getByRole('rowheader').allTextContents()).toEqual(['req_frank', 'req_erin', 'req_gina']);
  expect(await page.locator('tbody tr').count()).toBe(rows);
  for (const cell of await page.locator('td[data-f="audit_entries"]').allTextContents()) {
    expect(cell).toMatch(/^\d+-\d+( \d+-\d+)+$/);
  }
  const snapshot = await page.locator('main').ariaSnapshot();
  expect(snapshot).toContain('img "Effective time → verified, per offboarding"');
  expect(snapshot).toContain('table "Every offboarding');
  expect(snapshot).toMatch(/rowheader "req_frank"/);
}

describe.skipIf(!available)('the offboarding report in headless Chromium', () => {
  it('the HTML file renders its chart and rows, loads nothing, logs no error, reads well to a screen reader', async () => {
    const report = await createReport(audit, {
      since: new Date(Date.now() - 24 * HOUR),
      until: new Date(Date.now() + 24 * HOUR),
      slaMs: HOUR,
    });
    const file = join(dir, 'report.html');
    await writeFile(file, formatReport(report, 'html'));
    const browser = await launchChromium({});
    try {
      const page = await browser.context.newPage();
      const seen = watch(page);
      await page.goto(pathToFileURL(file).href);
      await expectReadableReport(page, 3);
      expect(await page.locator('tr.flagged').count()).toBe(2); // late, cancelled
      expect(seen.errors).toEqual([]);
      expect(seen.requests).toEqual([pathToFileURL(file).href]);
    } finally {
      await browser.close();
    }
  }, 120_000);

  it('/admin/report after logging in with the dashboard’s credentials renders the same page', async () => {
    const running: RunningHttpServer = await startHttpServer(
      createHttpApp({
        dashboard: { queues: [], user: USER, password: PASSWORD, lockout: { redis, prefix } },
        adminReport: { audit, slaMs: HOUR },
      }),
      { port: 0, host: '127.0.0.1' },
    );
    const browser = await launchChromium({ httpCredentials: { username: USER, password: PASSWORD } });
    try {
      const page = await browser.context.newPage();
      const seen = watch(page);
      const url = `${running.url}/admin/report?since=${new Date(Date.now() - 24 * HOUR).toISOString()}&until=${new Date(Date.now() + 24 * HOUR).toISOString()}`;
      const res = await page.goto(url);
      expect(res!.status()).toBe(200);
      await expectReadableReport(page, 3);
      expect(seen.errors).toEqual([]);
      // Only the page itself (and the browser's own favicon probe, which the server answers 404 JSON).
      expect(seen.requests.filter((u) => !u.endsWith('/favicon.ico'))).toEqual([url]);
    } finally {
      await browser.close();
      await running.close();
    }
  }, 120_000);
});
