import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedTokens } from '../../src/idaas/index.ts';
import type { RequestRecord } from '../../src/intake/types.ts';
import { isAlive, isDead, startTestService, type TestService } from '../helpers/service.ts';
import { nonEmpty } from '../helpers/wait.ts';

/** SCIM 2.0 deprovisioning through the whole service; tokens probed at the embedded IDaaS. */

const TOKEN = `scim-${randomBytes(16).toString('hex')}`;
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
let t: TestService;
let bystander: IssuedTokens;

beforeAll(async () => {
  t = await startTestService({ SCIM_TOKEN: TOKEN });
  bystander = (await t.idaas.mintTokens({ user: 'carol', application: 'team-wiki' }))[0]!;
});
afterAll(async () => {
  await t?.close();
});

async function scim(method: string, path: string, body?: unknown, token = TOKEN) {
  const res = await fetch(`${t.url}/scim/v2${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> | undefined,
  };
}

const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

/** A fresh IDaaS user with live tokens at two applications (one for an API). */
async function freshUser(label: string) {
  const login = `scim-${label}-${randomBytes(3).toString('hex')}`;
  const user = await t.idaas.addUser({
    userId: login,
    email: `${login}@example.com`,
    name: `SCIM ${label}`,
    password: `${login}-password-1`,
  });
  const tokens = (
    await Promise.all([
      t.idaas.mintTokens({ user: login, application: 'expense-portal' }),
      t.idaas.mintTokens({ user: login, application: 'team-wiki', resourceServer: 'payroll-api' }),
    ])
  ).flat();
  for (const tok of nonEmpty(tokens, 'minted token')) expect(await isAlive(t.idaas, tok)).toBe(true);
  return { id: user.id, login, tokens };
}

async function scimRequestsFor(userId: string): Promise<RequestRecord[]> {
  const recs = await t.rt.intake.list({ source: 'scim', limit: 200 });
  return recs.filter((r) => r.target.kind === 'user' && r.target.userId === userId);
}

/** The one SCIM request for `userId` (submitted before the SCIM call answers), run to its outcome. */
async function revokedThroughScim(userId: string): Promise<RequestRecord> {
  const recs = await scimRequestsFor(userId);
  expect(recs).toHaveLength(1);
  const done = await t.rt.intake.waitForOutcome(recs[0]!.id, 20_000);
  expect(done.state).toBe('verified');
  return done;
}

async function revokedCount(requestId: string): Promise<number> {
  let n = 0;
  for await (const e of t.rt.audit.entries({ requestId })) if (e.action === 'token.revoked') n++;
  return n;
}

describe('SCIM deprovisioning through the real service', () => {
  const variants: [string, unknown][] = [
    ['RFC form: replace path active, value false', patch({ op: 'replace', path: 'active', value: false })],
    ['no path, value {active:false} (Okta)', patch({ op: 'replace', value: { active: false } })],
    ['"op":"Replace" (Entra)', patch({ op: 'Replace', path: 'active', value: false })],
    ['"False" as a string (Entra)', patch({ op: 'Replace', path: 'active', value: 'False' })],
  ];

  it.each(variants)('PATCH %s deactivates and revokes every token of that user only', async (_, body) => {
    const u = await freshUser('patch');
    const res = await scim('PATCH', `/Users/${u.id}`, body);
    expect(res.status).toBe(200);
    expect(res.contentType).toContain('application/scim+json');
    expect(res.body).toMatchObject({ id: u.id, userName: u.login, active: false });
    await revokedThroughScim(u.id);
    for (const tok of u.tokens) expect(await isDead(t.idaas, tok)).toBe(true);
    expect(await isAlive(t.idaas, bystander)).toBe(true);
    const got = await scim('GET', `/Users/${u.id}`);
    expect(got).toMatchObject({ status: 200, body: { id: u.id, active: false } });
  });

  it('DELETE /Users/{id} revokes every token of that user only; the user then reads inactive', async () => {
    const u = await freshUser('delete');
    const res = await scim('DELETE', `/Users/${u.id}`);
    expect(res.status).toBe(204);
    await revokedThroughScim(u.id);
    for (const tok of u.tokens) expect(await isDead(t.idaas, tok)).toBe(true);
    expect(await isAlive(t.idaas, bystander)).toBe(true);
    expect(await scim('GET', `/Users/${u.id}`)).toMatchObject({ status: 200, body: { active: false } });
  });

  it('repeats arriving together collapse into one new request, which revokes what was issued since', async () => {
    const u = await freshUser('again');
    const body = patch({ op: 'replace', path: 'active', value: false });
    expect((await scim('PATCH', `/Users/${u.id}`, body)).status).toBe(200);
    const first = await revokedThroughScim(u.id);
    const revoked = await revokedCount(first.id);
    expect(revoked).toBeGreaterThanOrEqual(u.tokens.length);

    // A new sign-in after the first revocation (the IdP account is still enabled).
    const fresh = await t.idaas.mintTokens({ user: u.login, application: 'expense-portal' });
    const again = await Promise.all([
      scim('PATCH', `/Users/${u.id}`, body),
      scim('PATCH', `/Users/${u.id}`, body),
      scim('DELETE', `/Users/${u.id}`),
    ]);
    expect(again.map((r) => r.status)).toEqual([200, 200, 204]);
    expect(again[0]!.body).toMatchObject({ active: false });
    // The SCIM call answers after any submission: exactly one more request, whatever the interleaving.
    const ids = (await scimRequestsFor(u.id)).map((r) => r.id);
    expect(ids).toHaveLength(2);
    const second = ids.find((id) => id !== first.id)!;
    expect((await t.rt.intake.waitForOutcome(second, 20_000)).state).toBe('verified');
    for (const tok of fresh) expect(await isDead(t.idaas, tok)).toBe(true);
    expect(await revokedCount(first.id)).toBe(revoked);
  });

  it('a wrong or missing bearer gets 401 in SCIM error format and changes nothing', async () => {
    const u = await freshUser('forged');
    const body = patch({ op: 'replace', path: 'active', value: false });
    for (const res of [
      await scim('PATCH', `/Users/${u.id}`, body, `${TOKEN}x`),
      await scim('DELETE', `/Users/${u.id}`, undefined, 'nope'),
      await scim('GET', `/Users/${u.id}`, undefined, ''),
    ]) {
      expect(res.status).toBe(401);
      expect(res.contentType).toContain('application/scim+json');
      expect(res.body?.schemas).toContain(ERROR);
      expect(res.body?.status).toBe('401');
    }
    expect(await scimRequestsFor(u.id)).toEqual([]);
    for (const tok of u.tokens) expect(await isAlive(t.idaas, tok)).toBe(true);
    expect(await scim('GET', `/Users/${u.id}`)).toMatchObject({ status: 200, body: { active: true } });
  });

  it('GET /Users?filter=userName eq "…" finds the user (case-insensitively), and only them', async () => {
    const u = await freshUser('filter');
    const find = (name: string) =>
      scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${name}"`)}`);
    for (const name of [u.login, u.login.toUpperCase()]) {
      const res = await find(name);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
        totalResults: 1,
        Resources: [
          { id: u.id, userName: u.login, active: true, emails: [{ value: `${u.login}@example.com` }] },
        ],
      });
    }
    expect(await find(`${u.login}-nobody`)).toMatchObject({ status: 200, body: { totalResults: 0 } });
  });
});
