import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedTokens } from '../../src/idaas/index.ts';
import type { RequestRecord } from '../../src/intake/types.ts';
import { isAlive, isDead, startTestService, type TestService } from '../helpers/service.ts';
import { nonEmpty } from '../helpers/wait.ts';
import { entra, okta, PATCH_OP, type ScimRequest, sailpoint } from '../simulators/scim-clients.ts';

/**
 * SCIM as Entra, Okta and SailPoint send it (test/simulators/scim-clients.ts, each shape with its page),
 * through the whole service; tokens probed at the embedded IDaaS, requests and audit read back.
 */

const TOKEN = `scim-${randomBytes(16).toString('hex')}`;
let t: TestService;
let bystander: IssuedTokens;

beforeAll(async () => {
  t = await startTestService({ SCIM_TOKEN: TOKEN }, { prefixLabel: 'scim-clients' });
  bystander = (await t.idaas.mintTokens({ user: 'carol', application: 'team-wiki' }))[0]!;
});
afterAll(async () => {
  await t?.close();
});

async function send(r: ScimRequest) {
  const res = await fetch(`${t.url}/scim/v2${r.path}`, {
    method: r.method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/scim+json' },
    ...(r.body === undefined ? {} : { body: JSON.stringify(r.body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> | undefined,
  };
}

async function mint(login: string): Promise<IssuedTokens[]> {
  const tokens = (
    await Promise.all([
      t.idaas.mintTokens({ user: login, application: 'expense-portal' }),
      t.idaas.mintTokens({ user: login, application: 'team-wiki', resourceServer: 'payroll-api' }),
    ])
  ).flat();
  for (const tok of nonEmpty(tokens, 'minted token')) expect(await isAlive(t.idaas, tok)).toBe(true);
  return tokens;
}

async function freshUser(label: string) {
  const login = `sc-${label}-${randomBytes(3).toString('hex')}`;
  const email = `${login}@example.com`;
  const user = await t.idaas.addUser({
    userId: login,
    email,
    name: `SCIM ${label}`,
    password: `${login}-pw-1`,
  });
  return { id: user.id, userName: login, email, tokens: await mint(login) };
}

async function scimRequestsFor(userId: string): Promise<RequestRecord[]> {
  const recs = await t.rt.intake.list({ source: 'scim', limit: 500 });
  return recs.filter((r) => r.target.kind === 'user' && r.target.userId === userId);
}

async function revokedIn(requestId: string): Promise<number> {
  let n = 0;
  for await (const e of t.rt.audit.entries({ requestId })) if (e.action === 'token.revoked') n++;
  return n;
}

async function verified(requestId: string) {
  const done = await t.rt.intake.waitForOutcome(requestId, 20_000);
  expect(done.state).toBe('verified');
  return done;
}

describe('Entra', () => {
  it('Test Connection probes (random user, random group) answer 200 with empty ListResponses', async () => {
    for (const probe of entra.testConnection()) {
      const res = await send(probe);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ totalResults: 0, Resources: [] });
    }
  });

  it('soft delete, a new sign-in, then the DELETE 30 days later: the new tokens die too, audited', async () => {
    const u = await freshUser('entra');
    expect((await send(entra.softDelete(u.id))).status).toBe(200);
    const [first] = await scimRequestsFor(u.id);
    await verified(first!.id);
    for (const tok of u.tokens) expect(await isDead(t.idaas, tok)).toBe(true);

    // The governance tool did not disable the IdP account: the person signs in again.
    const again = await mint(u.userName);
    expect((await send(entra.hardDelete(u.id))).status).toBe(204);
    const recs = await scimRequestsFor(u.id);
    expect(recs).toHaveLength(2);
    const second = recs.find((r) => r.id !== first!.id)!;
    await verified(second.id);
    for (const tok of again) expect(await isDead(t.idaas, tok)).toBe(true);
    expect(await revokedIn(second.id)).toBeGreaterThanOrEqual(again.length);
    expect(await isAlive(t.idaas, bystander)).toBe(true);
  });

  it('looks users up by userName, externalId, work email and `and` of them, exactly', async () => {
    const u = await freshUser('lookup');
    for (const r of [
      entra.findByUserName(u.userName),
      entra.findByExternalId(u.id),
      entra.findByWorkEmail(u.email),
      entra.findByUserNameAndExternalId(u.userName, u.id),
    ]) {
      const res = await send(r);
      expect(res.status, r.path).toBe(200);
      expect(res.body).toMatchObject({ totalResults: 1, Resources: [{ id: u.id, userName: u.userName }] });
    }
    const mismatch = await send(entra.findByUserNameAndExternalId(u.userName, `${u.id}x`));
    expect(mismatch.body).toMatchObject({ totalResults: 0, Resources: [] });
  });

  it('an attribute update (enterprise department, displayName) is accepted and revokes nothing', async () => {
    const u = await freshUser('update');
    const res = await send(entra.updateDepartment(u.id, 'Finance'));
    expect(res).toMatchObject({ status: 200, body: { id: u.id, active: true } });
    expect(await scimRequestsFor(u.id)).toEqual([]);
    for (const tok of u.tokens) expect(await isAlive(t.idaas, tok)).toBe(true);
  });
});

describe('Okta', () => {
  it('an AIW PUT with active:false deactivates: every token dies, the audit says so', async () => {
    const u = await freshUser('aiw');
    const res = await send(okta.put(u, false));
    expect(res).toMatchObject({ status: 200, body: { id: u.id, active: false } });
    const [rec] = await scimRequestsFor(u.id);
    const done = await verified(rec!.id);
    for (const tok of u.tokens) expect(await isDead(t.idaas, tok)).toBe(true);
    expect(await revokedIn(done.id)).toBeGreaterThanOrEqual(u.tokens.length);
    expect(await isAlive(t.idaas, bystander)).toBe(true);
  });

  it('an AIW PUT of a profile change (active:true) is accepted and revokes nothing', async () => {
    const u = await freshUser('aiw-update');
    const res = await send(okta.put(u, true, 'Renamed'));
    expect(res).toMatchObject({ status: 200, body: { id: u.id, active: true } });
    expect(await scimRequestsFor(u.id)).toEqual([]);
    for (const tok of u.tokens) expect(await isAlive(t.idaas, tok)).toBe(true);
  });

  it('a re-sent deactivation after a new sign-in revokes the new tokens; identical ones together make one request', async () => {
    const u = await freshUser('okta-again');
    expect((await send(okta.deactivate(u.id))).status).toBe(200);
    const [first] = await scimRequestsFor(u.id);
    await verified(first!.id);
    const again = await mint(u.userName);
    const answers = await Promise.all([send(okta.deactivate(u.id)), send(okta.deactivate(u.id))]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    const recs = await scimRequestsFor(u.id);
    expect(recs).toHaveLength(2);
    await verified(recs.find((r) => r.id !== first!.id)!.id);
    for (const tok of again) expect(await isDead(t.idaas, tok)).toBe(true);
  });

  it('finds a user by exact userName among more than 200 whose names contain it, with a true total', async () => {
    const stem = `sam${randomBytes(2).toString('hex')}`;
    // The exact user comes last: a search capped at 200 substring matches never reaches it.
    for (let i = 0; i < 206; i += 1) {
      await t.idaas.addUser({
        userId: `${stem}-${i}`,
        email: `${stem}-${i}@example.com`,
        name: `${stem} ${i}`,
        password: 'pw-123456',
      });
    }
    const exact = await t.idaas.addUser({
      userId: stem,
      email: `${stem}@example.com`,
      name: stem,
      password: 'pw-123456',
    });
    const res = await send(okta.findByUserName(stem));
    expect(res.body).toMatchObject({ totalResults: 1, Resources: [{ id: exact.id, userName: stem }] });
    const one = await send(okta.findByUserName(`${stem}-205`));
    expect(one.body).toMatchObject({ totalResults: 1, Resources: [{ userName: `${stem}-205` }] });
    // Unfiltered, paged: totalResults counts the whole directory, not the first 200.
    const page = await send({ method: 'GET', path: '/Users?startIndex=1&count=10' });
    expect(page.body).toMatchObject({ itemsPerPage: 10 });
    expect(page.body!.totalResults as number).toBeGreaterThan(207);
  });
});

describe('SailPoint', () => {
  it.each([
    ['add active false', sailpoint.disable],
    ['fully-qualified path urn:…:User:active', sailpoint.disableQualified],
    ['URN-keyed value', sailpoint.disableUrnValue],
  ])('PATCH %s deactivates and revokes', async (_, shape) => {
    const u = await freshUser('sp');
    const res = await send(shape(u.id));
    expect(res).toMatchObject({ status: 200, body: { active: false } });
    const [rec] = await scimRequestsFor(u.id);
    await verified(rec!.id);
    for (const tok of u.tokens) expect(await isDead(t.idaas, tok)).toBe(true);
  });

  it('PUT with active:false (PATCH turned off) deactivates and revokes', async () => {
    const u = await freshUser('sp-put');
    expect((await send(sailpoint.disableWithPut(u))).status).toBe(200);
    const [rec] = await scimRequestsFor(u.id);
    await verified(rec!.id);
    for (const tok of u.tokens) expect(await isDead(t.idaas, tok)).toBe(true);
  });
});

describe('errors as RFC 7644 §3.12 types them', () => {
  it('unknown path ⇒ invalidPath, bad active ⇒ invalidValue, not a PatchOp ⇒ invalidSyntax; nothing revoked', async () => {
    const u = await freshUser('errors');
    const cases: [unknown, string][] = [
      [
        { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'favouriteColour', value: 'red' }] },
        'invalidPath',
      ],
      [
        { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: 'nope' }] },
        'invalidValue',
      ],
      [{ schemas: [PATCH_OP], Operations: [] }, 'invalidSyntax'],
    ];
    for (const [body, scimType] of cases) {
      const res = await send({ method: 'PATCH', path: `/Users/${u.id}`, body });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ status: '400', scimType });
    }
    const put = await send({ method: 'PUT', path: `/Users/${u.id}`, body: { active: 'maybe' } });
    expect(put.body).toMatchObject({ status: '400', scimType: 'invalidValue' });
    expect(await scimRequestsFor(u.id)).toEqual([]);
    for (const tok of u.tokens) expect(await isAlive(t.idaas, tok)).toBe(true);
  });
});
