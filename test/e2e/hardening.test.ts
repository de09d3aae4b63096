import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

/**
 * Issue 9, findings 7 and 9, against the whole service: the dashboard's basic auth locks a guessing
 * address out and audits the failures (counted per minute); the service listens on loopback unless told
 * otherwise; malformed input gets a 4xx with a reason, never a 500; the IDaaS admin API authenticates
 * before routing and can listen on its own port.
 */
const PASSWORD = 'correct horse battery staple';
let t: TestService;

beforeAll(async () => {
  t = await startTestService({
    ADMIN_USER: 'admin',
    ADMIN_PASSWORD: PASSWORD,
    SCIM_TOKEN: 'scim-hardening-token',
    HR_STANDARD_SECRET: `whsec_${Buffer.from('hardening-secret-0123456789').toString('base64')}`,
    IDAAS_ADMIN_PORT: '0',
  });
});
afterAll(async () => {
  await t?.close();
});

const basic = (password: string) => ({
  authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`,
});

describe('dashboard basic auth (finding 7)', () => {
  it('locks an address out after 5 wrong passwords, even for the right one, and audits the failures', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      statuses.push((await fetch(`${t.url}/admin/queues/`, { headers: basic(`guess-${i}`) })).status);
    }
    expect(statuses.slice(0, 4)).toEqual([401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual(Array(15).fill(429));
    const locked = await fetch(`${t.url}/admin/queues/`, { headers: basic(PASSWORD) });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);

    await t.rt.refusals.flush({ all: true });
    const counts: Record<string, number> = {};
    let entries = 0;
    for await (const e of t.rt.audit.entries()) {
      if (e.action !== 'dashboard.rejected') continue;
      entries++;
      counts[String(e.detail?.reason)] = (counts[String(e.detail?.reason)] ?? 0) + Number(e.detail?.count);
    }
    expect(counts).toEqual({ wrong_credentials: 5, locked_out: 16 });
    expect(entries).toBeLessThanOrEqual(4);
  });

  it('listens on 127.0.0.1 unless HOST says otherwise', () => {
    expect(loadConfig({}).HOST).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '0.0.0.0' }).HOST).toBe('0.0.0.0');
  });
});

describe('malformed input gets a 4xx (finding 9)', () => {
  it('a bad %-encoding in the HR route answers 400, not 500', async () => {
    const res = await fetch(`${t.url}/webhooks/hr/%E0%A4%A`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_path' });
    const scim = await fetch(`${t.url}/scim/v2/Users/%E0%A4%A`, {
      headers: { authorization: 'Bearer scim-hardening-token' },
    });
    expect(scim.status).toBe(400);
  });

  it('a SCIM filter over 1,024 characters answers 400 invalidFilter (RFC 7644 §3.12)', async () => {
    const filter = `userName eq "${'a'.repeat(1100)}"`;
    const res = await fetch(`${t.url}/scim/v2/Users?filter=${encodeURIComponent(filter)}`, {
      headers: { authorization: 'Bearer scim-hardening-token' },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ status: '400', scimType: 'invalidFilter' });
  });

  it('the IDaaS admin API: bad %-encoding is a 400; unknown routes are 401 without the token (no enumeration)', async () => {
    const admin = t.idaas.adminUrl;
    const auth = { authorization: `Bearer ${t.idaas.adminToken}` };
    const bad = await fetch(`${admin}/admin/v1/users/%E0%A4%A`, { headers: auth });
    expect(bad.status).toBe(400);
    expect((await fetch(`${admin}/admin/v1/no-such-route`)).status).toBe(401);
    expect((await fetch(`${admin}/admin/v1/users/alice`)).status).toBe(401);
    expect((await fetch(`${admin}/admin/v1/no-such-route`, { headers: auth })).status).toBe(404);
  });

  it('the IDaaS admin API listens on its own port when asked; OIDC’s port does not serve it', async () => {
    expect(t.idaas.adminUrl).not.toBe(t.idaas.url);
    const auth = { authorization: `Bearer ${t.idaas.adminToken}` };
    expect((await fetch(`${t.idaas.url}/admin/v1/users/alice`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${t.idaas.adminUrl}/admin/v1/users/alice`, { headers: auth })).status).toBe(200);
    // Revoker reaches it there.
    expect((await t.rt.idp.searchUsers('alice', 5)).map((u) => u.userName)).toContain('alice');
    expect((await fetch(`${t.idaas.url}/.well-known/openid-configuration`)).status).toBe(200);
  });
});
