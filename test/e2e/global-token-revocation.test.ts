import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedTokens } from '../../src/idaas/index.ts';
import { GtrAppIdentityProvider } from '../../src/identity/gtr/gtr-app-identity-provider.ts';
import { loadGtrApps } from '../../src/identity/gtr/gtr-apps-config.ts';
import type { RequestRecord } from '../../src/intake/types.ts';
import { isAlive, isDead, startTestService, type TestService } from '../helpers/service.ts';
import { nonEmpty } from '../helpers/wait.ts';

/**
 * Revoker's web role receiving Global Token Revocation (draft-parecki-oauth-global-token-revocation-06)
 * over real HTTP; the tokens are real, minted by the embedded IDaaS, and probed there.
 */

const TOKEN = `gtr-${randomBytes(16).toString('hex')}`;
let t: TestService;
let bystander: IssuedTokens;

beforeAll(async () => {
  t = await startTestService({ GTR_TOKEN: TOKEN, PROTECTED_USERS: 'gtr-break-glass@example.com' });
  bystander = (await t.idaas.mintTokens({ user: 'carol', application: 'team-wiki' }))[0]!;
});
afterAll(async () => {
  await t?.close();
});

async function gtr(body: unknown, headers: Record<string, string> = {}, raw?: string) {
  const res = await fetch(`${t.url}/global-token-revocation`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
    body: raw ?? JSON.stringify(body),
  });
  return { status: res.status, text: await res.text(), wwwAuth: res.headers.get('www-authenticate') };
}

async function freshUser(label: string) {
  const login = `gtr-${label}-${randomBytes(3).toString('hex')}`;
  const user = await t.idaas.addUser({
    userId: login,
    email: `${login}@example.com`,
    name: `GTR ${label}`,
    password: `${login}-password-1`,
  });
  const tokens = (
    await Promise.all([
      t.idaas.mintTokens({ user: login, application: 'expense-portal' }),
      t.idaas.mintTokens({ user: login, application: 'team-wiki', resourceServer: 'payroll-api' }),
    ])
  ).flat();
  for (const tok of nonEmpty(tokens, 'minted token')) expect(await isAlive(t.idaas, tok)).toBe(true);
  return { id: user.id, email: `${login}@example.com`, tokens };
}

async function gtrRequestsFor(userId: string): Promise<RequestRecord[]> {
  const recs = await t.rt.intake.list({ source: 'gtr', limit: 200 });
  return recs.filter((r) => r.target.kind === 'user' && r.target.userId === userId);
}

async function refusals(reason: string): Promise<number> {
  await t.rt.refusals.flush({ all: true });
  let n = 0;
  for await (const e of t.rt.audit.entries())
    if (e.action === 'gtr.rejected' && e.detail?.reason === reason) n += Number(e.detail?.count ?? 1);
  return n;
}

describe('POST /global-token-revocation', () => {
  it('email: 204 once durably accepted, a `gtr` request under hr-offboarding, the real tokens die', async () => {
    const u = await freshUser('email');
    const res = await gtr({ sub_id: { format: 'email', email: u.email.toUpperCase() } });
    expect(res.status).toBe(204);
    // Durably accepted before the 204: the request exists already.
    const recs = await gtrRequestsFor(u.id);
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ source: 'gtr', workflow: 'hr-offboarding', requiredApprovals: 0 });
    const done = await t.rt.intake.waitForOutcome(recs[0]!.id, 20_000);
    expect(done.state).toBe('verified');
    for (const tok of u.tokens) expect(await isDead(t.idaas, tok)).toBe(true);
    expect(await isAlive(t.idaas, bystander)).toBe(true);
    // A retried delivery (a lost 204) is the same request.
    expect((await gtr({ sub_id: { format: 'email', email: u.email } })).status).toBe(204);
    expect(await gtrRequestsFor(u.id)).toHaveLength(1);
  });

  it("Revoker's own GTR sender, pointed at this endpoint, is understood: 204 accepted, then 404 no account", async () => {
    const u = await freshUser('sender');
    const sender = new GtrAppIdentityProvider({
      app: loadGtrApps({
        GTR_APPS: JSON.stringify([
          {
            name: 'upstream',
            endpoint: `${t.url}/global-token-revocation`,
            auth: { method: 'bearer_token', token: TOKEN },
          },
        ]),
      })[0]!,
    });
    await sender.revoke({ kind: 'user', userId: u.email });
    const [rec] = await gtrRequestsFor(u.id);
    expect((await t.rt.intake.waitForOutcome(rec!.id, 20_000)).state).toBe('verified');
    for (const tok of u.tokens) expect(await isDead(t.idaas, tok)).toBe(true);
    expect(await sender.revokeSubject({ format: 'email', email: 'nobody-at-all@example.com' })).toMatchObject(
      {
        noAccount: true,
      },
    );
  });

  it('opaque: the IdP user id', async () => {
    const u = await freshUser('opaque');
    expect((await gtr({ sub_id: { format: 'opaque', id: u.id } })).status).toBe(204);
    const [rec] = await gtrRequestsFor(u.id);
    expect((await t.rt.intake.waitForOutcome(rec!.id, 20_000)).state).toBe('verified');
    for (const tok of u.tokens) expect(await isDead(t.idaas, tok)).toBe(true);
  });

  it('an automated source like SCIM: a protected (break-glass) user still needs an approval', async () => {
    const user = await t.idaas.addUser({
      userId: 'gtr-break-glass',
      email: 'gtr-break-glass@example.com',
      name: 'Break Glass',
      password: 'gtr-break-glass-password-1',
    });
    const tok = (await t.idaas.mintTokens({ user: 'gtr-break-glass', application: 'expense-portal' }))[0]!;
    expect((await gtr({ sub_id: { format: 'email', email: 'gtr-break-glass@example.com' } })).status).toBe(
      204,
    );
    const [rec] = await gtrRequestsFor(user.id);
    expect(rec).toMatchObject({ state: 'pending_approval', requiredApprovals: 1 });
    expect(await isAlive(t.idaas, tok)).toBe(true);
  });

  it('404 for an unknown user, 400 for an unsupported format or a malformed body, nothing enqueued', async () => {
    const before = (await t.rt.intake.list({ source: 'gtr', limit: 200 })).length;
    expect((await gtr({ sub_id: { format: 'email', email: 'nobody-here@example.com' } })).status).toBe(404);
    expect((await gtr({ sub_id: { format: 'opaque', id: 'usr_does_not_exist' } })).status).toBe(404);
    expect(
      (await gtr({ sub_id: { format: 'iss_sub', iss: 'https://idp.example.com', sub: 'x' } })).status,
    ).toBe(400);
    expect((await gtr({ sub_id: { format: 'phone_number', phone_number: '+12065550100' } })).status).toBe(
      400,
    );
    expect((await gtr({ sub_id: { format: 'email', email: 'not an email' } })).status).toBe(400);
    expect((await gtr({ subject: { format: 'email', email: 'carol@example.com' } })).status).toBe(400);
    expect((await gtr(undefined, {}, '{not json')).status).toBe(400);
    expect(
      (
        await gtr(
          undefined,
          { 'content-type': 'text/plain' },
          '{"sub_id":{"format":"email","email":"carol@example.com"}}',
        )
      ).status,
    ).toBe(400);
    expect((await t.rt.intake.list({ source: 'gtr', limit: 200 })).length).toBe(before);
    expect(await isAlive(t.idaas, bystander)).toBe(true);
    expect(await refusals('unsupported_format')).toBeGreaterThanOrEqual(2);
    expect(await refusals('user_not_found')).toBeGreaterThanOrEqual(2);
  });

  it('401 without or with a wrong bearer, refused through the refusal log', async () => {
    const body = { sub_id: { format: 'email', email: 'carol@example.com' } };
    const none = await fetch(`${t.url}/global-token-revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrong = await gtr(body, { authorization: `Bearer ${TOKEN}x` });
    expect(wrong.status).toBe(401);
    expect(await isAlive(t.idaas, bystander)).toBe(true);
    expect(await refusals('no_credentials')).toBeGreaterThanOrEqual(1);
    expect(await refusals('invalid_token')).toBeGreaterThanOrEqual(1);
  });

  it('without GTR_TOKEN the route is not mounted: 404', async () => {
    const other = await startTestService({});
    try {
      const res = await fetch(`${other.url}/global-token-revocation`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sub_id: { format: 'email', email: 'carol@example.com' } }),
      });
      expect(res.status).toBe(404);
    } finally {
      await other.close();
    }
  });
});
