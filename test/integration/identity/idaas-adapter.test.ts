import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Target } from '../../../src/domain/target.ts';
import { type Idaas, startIdaas } from '../../../src/idaas/index.ts';
import { IdaasIdentityProvider } from '../../../src/identity/adapters/idaas.ts';
import {
  IdpNotFoundError,
  IdpRateLimitedError,
  IdpTransientError,
  IdpUnauthorizedError,
} from '../../../src/identity/errors.ts';
import type { RevocationPlan } from '../../../src/identity/port.ts';
import { nonEmpty } from '../../helpers/wait.ts';

let idaas: Idaas;
let idp: IdaasIdentityProvider;

beforeAll(async () => {
  idaas = await startIdaas({ port: 0, store: 'memory' });
  idp = new IdaasIdentityProvider({ baseUrl: idaas.url, adminToken: idaas.adminToken });
});
afterEach(() => idaas.setFaults({ rateLimitPerSecond: null, failForMs: 0 }));
afterAll(() => idaas.close());

/** Runs a plan the way the workers do: every step, then the sweep. Returns the ids revoked. */
async function execute(plan: RevocationPlan): Promise<string[]> {
  const revoked: string[] = [];
  for (const step of plan.steps) revoked.push(...(await idp.revoke(step)).revoked.map((t) => t.id));
  if (plan.sweep) revoked.push(...(await idp.revoke(plan.sweep)).revoked.map((t) => t.id));
  return revoked;
}

/** UserInfo status for an access token: 200 while it works, 401 once revoked. */
async function userInfoStatus(accessToken: string): Promise<number> {
  const res = await fetch(`${idaas.url}/me`, { headers: { Authorization: `Bearer ${accessToken}` } });
  await res.body?.cancel();
  return res.status;
}

async function tokenIdsOf(target: Exclude<Target, { kind: 'token' }>): Promise<string[]> {
  return (await idp.verify(target)).remaining.map((t) => t.id);
}

describe('IdaasIdentityProvider against the embedded IDaaS', () => {
  it('pings, searches and resolves users by email', async () => {
    await idp.ping();
    const [alice] = await idp.searchUsers('alice');
    expect(alice).toMatchObject({ userName: 'alice', email: 'alice@example.com', active: true });
    expect((await idp.findUserByEmail('alice@example.com'))?.id).toBe(alice?.id);
    expect(await idp.findUserByEmail('nobody@example.com')).toBeUndefined();
    expect((await idp.searchApplications('wiki')).map((a) => a.id)).toContain('team-wiki');
    expect((await idp.getResourceServer('payroll-api')).audience).toBe('https://payroll.example.com/api');
  });

  it('revokes one token: only that token dies', async () => {
    const [t] = await idaas.mintTokens({ user: 'alice', application: 'expense-portal' });
    const target: Target = { kind: 'token', userId: t!.userId, tokenId: t!.accessTokenId };
    expect(await userInfoStatus(t!.access_token)).toBe(200);
    const plan = await idp.plan(target);
    expect(plan.steps).toEqual([target]);
    expect(await execute(plan)).toEqual([t!.accessTokenId]);
    expect(await idp.verify(target)).toMatchObject({ ok: true, remaining: [], method: 'list' });
    expect(await userInfoStatus(t!.access_token)).toBe(401);
    // Its refresh token was not in scope and is still listed.
    expect((await idp.listUserTokens(t!.userId)).map((x) => x.id)).toContain(t!.refreshTokenId);
    // Retrying the same step (a worker crashed after the call) is a no-op, not a failure.
    expect(await idp.revoke(target)).toEqual({ revoked: [] });
  });

  it('revokes all of a user’s tokens in one call, including ones minted after planning', async () => {
    const minted = [
      ...(await idaas.mintTokens({ user: 'bob', application: 'expense-portal' })),
      ...(await idaas.mintTokens({ user: 'bob', application: 'team-wiki' })),
    ];
    const [other] = await idaas.mintTokens({ user: 'carol', application: 'team-wiki' });
    const plan = await idp.plan({ kind: 'user', userId: 'bob' });
    expect(plan.steps).toEqual([{ kind: 'user', userId: 'bob' }]);
    expect(plan.tokenCount).toBe(plan.tokens.length);
    expect(plan.tokenCount).toBeGreaterThanOrEqual(4);
    expect(plan.userCount).toBe(1);
    const late = await idaas.mintTokens({ user: 'bob', application: 'team-wiki' });
    const revoked = await execute(plan);
    for (const t of [...minted, ...late]) {
      expect(revoked).toContain(t.accessTokenId);
      expect(await userInfoStatus(t.access_token)).toBe(401);
    }
    expect(await idp.verify({ kind: 'user', userId: 'bob' })).toMatchObject({
      ok: true,
      remaining: [],
      method: 'list',
    });
    expect(await userInfoStatus(other!.access_token)).toBe(200);
  });

  it('revokes all tokens of an application across users, and no others', async () => {
    const wiki = [
      ...(await idaas.mintTokens({ user: 'carol', application: 'team-wiki' })),
      ...(await idaas.mintTokens({ user: 'dave', application: 'team-wiki' })),
    ];
    const [expense] = await idaas.mintTokens({ user: 'dave', application: 'expense-portal' });
    const plan = await idp.plan({ kind: 'application', applicationId: 'team-wiki' });
    expect(plan.userCount).toBeGreaterThanOrEqual(2);
    await execute(plan);
    for (const t of nonEmpty(wiki, 'team-wiki token')) expect(await userInfoStatus(t.access_token)).toBe(401);
    expect(await tokenIdsOf({ kind: 'application', applicationId: 'team-wiki' })).toEqual([]);
    expect(await userInfoStatus(expense!.access_token)).toBe(200);
  });

  it('revokes all tokens issued to a resource server', async () => {
    const payroll = await idaas.mintTokens({
      user: 'dave',
      application: 'expense-portal',
      resourceServer: 'payroll-api',
      count: 2,
    });
    const [reports] = await idaas.mintTokens({
      user: 'dave',
      application: 'expense-portal',
      resourceServer: 'reports-api',
    });
    const plan = await idp.plan({ kind: 'resourceServer', resourceServerId: 'payroll-api' });
    expect(plan.tokens.map((t) => t.id)).toEqual(expect.arrayContaining(payroll.map((t) => t.accessTokenId)));
    await execute(plan);
    expect(await idp.verify({ kind: 'resourceServer', resourceServerId: 'payroll-api' })).toMatchObject({
      ok: true,
    });
    const remaining = await tokenIdsOf({ kind: 'resourceServer', resourceServerId: 'reports-api' });
    expect(remaining).toContain(reports!.accessTokenId);
  });

  it('maps the rate-limit fault to rate-limited with the server’s Retry-After', async () => {
    idaas.setFaults({ rateLimitPerSecond: 1 });
    let err: unknown;
    for (let i = 0; i < 5 && !err; i++) err = await idp.ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdpRateLimitedError);
    const headers = (err as { cause: { response: { headers: Record<string, string> } } }).cause.response
      .headers;
    expect((err as IdpRateLimitedError).retryAfterMs).toBe(Number(headers['retry-after']) * 1000);
    expect((err as IdpRateLimitedError).retryAfterMs).toBeGreaterThanOrEqual(1000);
  });

  it('maps the failure fault (503) to transient, with its Retry-After', async () => {
    idaas.setFaults({ failForMs: 1500 });
    const err = await idp.revoke({ kind: 'user', userId: 'alice' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdpTransientError);
    expect((err as IdpTransientError).status).toBe(503);
    expect((err as IdpTransientError).retryAfterMs).toBe(2000);
  });

  it('maps a bad admin token to unauthorized and an unknown user to not found', async () => {
    const wrong = new IdaasIdentityProvider({ baseUrl: idaas.url, adminToken: 'not-the-admin-token' });
    const err = await wrong.ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdpUnauthorizedError);
    expect((err as Error).message).not.toContain('not-the-admin-token');
    await expect(idp.getUser('nobody')).rejects.toBeInstanceOf(IdpNotFoundError);
    await expect(idp.plan({ kind: 'user', userId: 'nobody' })).rejects.toBeInstanceOf(IdpNotFoundError);
    await expect(idp.revoke({ kind: 'token', userId: 'nobody', tokenId: 'tok_x' })).rejects.toBeInstanceOf(
      IdpNotFoundError,
    );
  });

  it('maps a refused connection to transient', async () => {
    const down = new IdaasIdentityProvider({ baseUrl: 'http://127.0.0.1:1', adminToken: 'x' });
    await expect(down.ping()).rejects.toBeInstanceOf(IdpTransientError);
  });
});
