import { randomBytes } from 'node:crypto';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../src/intake/types.ts';
import { deliverHr, signHrDelivery } from '../helpers/hr-signing.ts';
import { isAlive, isDead, mintOne, startTestService, type TestService } from '../helpers/service.ts';
import { until } from '../helpers/wait.ts';
import { OKTA_SIM_ORIGIN, OktaSimulator } from '../simulators/okta.ts';

/**
 * Issue 22: one HR termination revokes the person in every connection — here the embedded IDaaS (real
 * tokens, its own introspection as the oracle) and the Okta simulator of issue 18 (its `stillWorks` as the
 * oracle) — with one outcome per connection, and a connection that is down holds up only its own line.
 */
const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const okta = new OktaSimulator();
// msw serves the Okta simulator to the service's in-process adapter; Revoker's own HTTP and the IDaaS pass by.
const server = setupServer(...okta.handlers);
let t: TestService;

beforeAll(async () => {
  server.listen({ onUnhandledFrame: 'bypass' });
  t = await startTestService({ HR_STANDARD_SECRET: SECRET, ...okta.env(), IDP: 'idaas,okta' });
});
afterAll(async () => {
  await t?.close();
  server.close();
});
beforeEach(() => {
  okta.reset();
  okta.seedScenario();
});

/** The same person at Okta: `dave@example.com`, as the IDaaS's seeded dave, with a refresh token and a session. */
function daveAtOkta(): { userId: string } {
  okta.addUser({ id: '00udave', login: 'dave@example.com', email: 'dave@example.com', firstName: 'Dave' });
  const rt = okta.issueRefreshToken('00udave', '0oawiki', 'austhings');
  okta.issueAccessToken('00udave', '0oawiki', 'austhings', rt.id);
  okta.addSession('00udave');
  return { userId: '00udave' };
}

function terminate(email: string) {
  const body = JSON.stringify({
    type: 'employee.terminated',
    data: { employeeId: `E-${email}-${randomBytes(4).toString('hex')}`, email, reason: 'left' },
  });
  return deliverHr(t.url, 'standard', body, signHrDelivery('standard', SECRET, body));
}

/** The newest HR request for the IDaaS user `userId` (the parent: children are never listed). */
function hrRequestFor(userId: string, after: string): Promise<RequestRecord> {
  return until(`the HR request for ${userId}`, async () =>
    (await t.rt.intake.list({ source: 'hr', limit: 50 })).find(
      (r) => r.target.kind === 'user' && r.target.userId === userId && r.createdAt >= after,
    ),
  );
}

const lineOf = (rec: RequestRecord, connection: string) =>
  rec.connections?.find((c) => c.connection === connection);

describe('one HR termination, every connection (issue 22)', () => {
  it('revokes the person in the IDaaS and at Okta, one outcome per connection, each system its own oracle', async () => {
    const dave = await Promise.all([mintOne(t, 'dave'), mintOne(t, 'dave', 'team-wiki')]);
    const carol = await mintOne(t, 'carol');
    const { userId: oktaDave } = daveAtOkta();
    expect(okta.stillWorks({ kind: 'user', userId: oktaDave }).length).toBeGreaterThan(0);
    const started = new Date().toISOString();

    expect((await terminate('dave@example.com')).status).toBe(202);
    const rec = await hrRequestFor(dave[0]!.userId, started);
    expect(rec.connections?.map((c) => c.connection)).toEqual(['idaas', 'okta']);
    const done = await t.rt.intake.waitForOutcome(rec.id, 30_000);

    // The oracles: the IDaaS's own endpoints and Okta's state as its reference defines it.
    for (const tok of dave) expect(await isDead(t.idaas, tok)).toBe(true);
    expect(okta.stillWorks({ kind: 'user', userId: oktaDave })).toEqual([]);
    expect(await isAlive(t.idaas, carol)).toBe(true);
    expect(okta.stillWorks({ kind: 'user', userId: '00ualice' }).length).toBeGreaterThan(0);

    // One line per connection. Okta lists no sessions or access tokens (issue 18): that part is named
    // unverifiable, so the request is unverifiable — never "verified" for what nobody observed.
    expect(lineOf(done, 'idaas')?.status).toBe('verified');
    expect(lineOf(done, 'okta')?.status).toBe('unverifiable');
    expect(lineOf(done, 'okta')?.why).toMatch(/sessions/);
    expect(done.state).toBe('unverifiable');
    expect(done.result?.parts?.map((p) => `${p.part}=${p.outcome}`)).toEqual(
      expect.arrayContaining([
        'okta: refresh tokens issued before the start=verified',
        'okta: sessions=unverifiable',
      ]),
    );
    // Okta was asked by email and then revoked by its own id.
    expect(okta.calls.some((c) => c.method === 'DELETE' && c.url.includes('/users/00udave/sessions'))).toBe(
      true,
    );

    // The audit: the fan-out, each child's outcome naming its connection, and the parent's per connection.
    const entries: Array<{ action: string; requestId?: string; detail?: Record<string, unknown> }> = [];
    for await (const e of t.rt.audit.entries({ requestId: rec.id })) entries.push(e);
    expect(entries.map((e) => e.action)).toContain('request.fanned_out');
    const outcome = entries.find((e) => e.action === 'request.unverifiable');
    expect(JSON.parse(String(outcome?.detail?.connectionsJson))).toEqual([
      { connection: 'idaas', status: 'verified' },
      expect.objectContaining({ connection: 'okta', status: 'unverifiable' }),
    ]);
    for (const conn of ['idaas', 'okta']) {
      const child: string[] = [];
      for await (const e of t.rt.audit.entries({ requestId: `${rec.id}.${conn}` })) {
        if (e.action.startsWith('request.') && e.detail?.connection === conn) child.push(e.action);
      }
      expect(child).toContain(conn === 'idaas' ? 'request.verified' : 'request.unverifiable');
    }
  });

  it('a person without an account in one connection: that line says no account, and it counts as done', async () => {
    const erin = await mintOne(t, 'erin');
    const started = new Date().toISOString();
    expect((await terminate('erin@example.com')).status).toBe(202);
    const rec = await hrRequestFor(erin.userId, started);
    const done = await t.rt.intake.waitForOutcome(rec.id, 30_000);
    expect(done.connections?.map((c) => [c.connection, c.status])).toEqual([
      ['idaas', 'verified'],
      ['okta', 'no_account'],
    ]);
    expect(done.state).toBe('verified');
    expect(await isDead(t.idaas, erin)).toBe(true);
  });

  it('two active Okta accounts with the email: that line fails naming both ids (never a guess); the IDaaS is still revoked', async () => {
    const dave = await mintOne(t, 'dave');
    okta.addUser({ id: '00udave1', login: 'dave@example.com', email: 'dave@example.com', firstName: 'Dave' });
    okta.addUser({
      id: '00udave2',
      login: 'dave.d@example.com',
      email: 'dave@example.com',
      firstName: 'Dave',
    });
    okta.issueRefreshToken('00udave1', '0oawiki', 'austhings');
    const started = new Date().toISOString();
    expect((await terminate('dave@example.com')).status).toBe(202);
    const rec = await hrRequestFor(dave.userId, started);
    const done = await t.rt.intake.waitForOutcome(rec.id, 30_000);
    expect(lineOf(done, 'idaas')?.status).toBe('verified');
    expect(lineOf(done, 'okta')?.status).toBe('failed');
    expect(lineOf(done, 'okta')?.why).toMatch(/00udave1/);
    expect(lineOf(done, 'okta')?.why).toMatch(/00udave2/);
    expect(done.state).toBe('failed');
    expect(await isDead(t.idaas, dave)).toBe(true);
    // Nothing was revoked at Okta for either account: an ambiguous look-up revokes nobody.
    expect(okta.stillWorks({ kind: 'user', userId: '00udave1' }).length).toBeGreaterThan(0);
  });

  it('with Okta down, the IDaaS is verified and the request says it waits for okta; it completes when Okta is back', async () => {
    const dave = await mintOne(t, 'dave');
    const { userId: oktaDave } = daveAtOkta();
    // Okta answers every call 503 (no Retry-After): its jobs back off and retry.
    server.use(http.all(`${OKTA_SIM_ORIGIN}/*`, () => new HttpResponse(null, { status: 503 })));
    const started = new Date().toISOString();
    expect((await terminate('dave@example.com')).status).toBe(202);
    const rec = await hrRequestFor(dave.userId, started);

    const waiting = await until('the IDaaS verified while the request waits for okta', async () => {
      const now = await t.rt.intake.get(rec.id);
      return now && lineOf(now, 'idaas')?.status === 'verified' && lineOf(now, 'okta')?.status === 'waiting'
        ? now
        : undefined;
    });
    expect(waiting.state).toBe('running');
    expect(lineOf(waiting, 'okta')?.why).toMatch(/idp_unavailable|503/);
    expect(await isDead(t.idaas, dave)).toBe(true);
    expect(okta.stillWorks({ kind: 'user', userId: oktaDave }).length).toBeGreaterThan(0);

    server.resetHandlers();
    const done = await t.rt.intake.waitForOutcome(rec.id, 60_000);
    expect(lineOf(done, 'okta')?.status).toBe('unverifiable');
    expect(lineOf(done, 'idaas')?.status).toBe('verified');
    expect(okta.stillWorks({ kind: 'user', userId: oktaDave })).toEqual([]);
  });
});
