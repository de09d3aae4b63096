import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../src/intake/types.ts';
import { signHrDelivery } from '../helpers/hr-signing.ts';
import { startTestService, type TestService, userIdOf } from '../helpers/service.ts';
import { until } from '../helpers/wait.ts';

/**
 * Issue 9, "scoped HR sources and protected users": an HR source limited to an email domain cannot
 * offboard anyone else, and a protected (break-glass) user is never revoked by HR or SCIM without an
 * approval.
 */
const HR_SECRET = `whsec_${Buffer.from('hr-scope-secret-0123456789').toString('base64')}`;
let t: TestService;

beforeAll(async () => {
  t = await startTestService({
    HR_STANDARD_SECRET: HR_SECRET,
    HR_STANDARD_DOMAINS: 'subsidiary.example',
    HR_STANDARD_GROUPS: 'subsidiary-staff',
    SCIM_TOKEN: 'hr-scope-scim',
    PROTECTED_USERS: 'alice@example.com',
    PROTECTED_GROUPS: 'break-glass',
  });
  await t.idaas.addUser({
    userId: 'gina',
    email: 'gina@example.com',
    name: 'Gina',
    password: 'gina-password-1',
    groups: ['subsidiary-staff'],
  });
  await t.idaas.addUser({
    userId: 'brenda',
    email: 'brenda@subsidiary.example',
    name: 'Brenda',
    password: 'brenda-password-1',
    groups: ['break-glass'],
  });
  await t.idaas.addUser({
    userId: 'sam',
    email: 'sam@subsidiary.example',
    name: 'Sam',
    password: 'sam-password-1',
  });
});
afterAll(async () => {
  await t?.close();
});

async function terminate(email: string, employeeId: string): Promise<void> {
  const body = JSON.stringify({ type: 'employee.terminated', data: { employeeId, email } });
  const res = await fetch(`${t.url}/webhooks/hr/standard`, {
    method: 'POST',
    headers: signHrDelivery('standard', HR_SECRET, body),
    body,
  });
  expect(res.status).toBe(202);
}

async function hrRequestFor(userId: string): Promise<RequestRecord | undefined> {
  const all = await t.rt.intake.list({ source: 'hr', limit: 50 });
  return all.find((r) => r.target.kind === 'user' && r.target.userId === userId);
}

describe('an HR source scoped to a domain', () => {
  it('offboards people in its domain or its IdP group, and nobody else', async () => {
    await terminate('bob@example.com', 'E-BOB');
    await terminate('sam@subsidiary.example', 'E-SAM');
    await terminate('gina@example.com', 'E-GINA');
    const sam = await userIdOf(t, 'sam');
    await until('sam’s revocation', () => hrRequestFor(sam));
    await until('gina’s revocation', async () => hrRequestFor(await userIdOf(t, 'gina')));
    await until('bob’s refusal audited', async () => {
      for await (const e of t.rt.audit.entries())
        if (e.action === 'request.rejected' && String(e.detail?.reason).includes('email domains'))
          return true;
      return undefined;
    });
    expect(await hrRequestFor(await userIdOf(t, 'bob'))).toBeUndefined();
  });
});

describe('a protected user', () => {
  it('in a protected IdP group is not revoked by HR without an approval', async () => {
    await terminate('brenda@subsidiary.example', 'E-BRENDA');
    const brenda = await userIdOf(t, 'brenda');
    const rec = await until('brenda’s request', () => hrRequestFor(brenda));
    expect(rec).toMatchObject({ state: 'pending_approval', requiredApprovals: 1 });
  });

  it('is not revoked by SCIM without an approval', async () => {
    const alice = await userIdOf(t, 'alice');
    const res = await fetch(`${t.url}/scim/v2/Users/${alice}`, {
      method: 'DELETE',
      headers: { authorization: 'Bearer hr-scope-scim' },
    });
    expect(res.status).toBe(204);
    const [rec] = (await t.rt.intake.list({ source: 'scim', limit: 5 })).filter(
      (r) => r.target.kind === 'user' && r.target.userId === alice,
    );
    expect(rec).toMatchObject({ state: 'pending_approval', requiredApprovals: 1 });
    expect(rec!.approvers).toEqual(['UAPPROVER1', 'UAPPROVER2', 'UAPPROVER3']);
  });
});
