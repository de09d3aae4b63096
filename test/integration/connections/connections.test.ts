import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { ConnectionRegistry } from '../../../src/connections/connection-registry.ts';
import { connectionSpecs } from '../../../src/connections/connection-specs.ts';
import { createConnections } from '../../../src/connections/create-connections.ts';
import { ValidationError } from '../../../src/domain/errors.ts';
import type { Actor } from '../../../src/domain/request.ts';
import { type Idaas, startIdaas } from '../../../src/idaas/index.ts';
import { IdpTransientError } from '../../../src/identity/errors.ts';
import type { RequestRecord } from '../../../src/intake/types.ts';
import { MemoryIdp } from '../../helpers/memory-idp.ts';
import { createPipeline, type Pipeline } from '../../helpers/pipeline.ts';
import { connectRedis, deleteKeys } from '../../helpers/redis.ts';
import { probeHeld } from '../../helpers/token-probe.ts';
import { until } from '../../helpers/wait.ts';

const admin: Actor = { source: 'cli', id: 'ops', name: 'Ops' };

let pipe: Pipeline | undefined;
const idaases: Idaas[] = [];
const closeAfter: Array<() => Promise<void>> = [];
afterEach(async () => {
  await pipe?.close();
  pipe = undefined;
  for (const close of closeAfter.splice(0)) await close();
  await Promise.all(idaases.splice(0).map((i) => i.close()));
});

/** Two in-memory systems, `a` (primary: the single-IdP queue names) and `b` (its own queue). */
function twoConnections(a: MemoryIdp, b: MemoryIdp): ConnectionRegistry {
  return new ConnectionRegistry([
    { id: 'a', kind: 'memory', idp: a, suffix: '' },
    { id: 'b', kind: 'memory', idp: b, suffix: '.b' },
  ]);
}

function withUser(id: string): MemoryIdp {
  const idp = new MemoryIdp();
  idp.addUser(id);
  idp.addToken(id, 'app-1');
  idp.addToken(id, 'app-2');
  return idp;
}

/**
 * A request of connection `a` whose first call failed transiently, so its job waits in `idp-calls` (a's
 * queue) for its retry; the workers that ran it are stopped, for the test to change the configuration.
 */
async function requestWaitingInA(a: MemoryIdp, b: MemoryIdp): Promise<[Pipeline, RequestRecord]> {
  a.failNext.push(new IdpTransientError('IdP unavailable'));
  const p = await createPipeline({ idp: a, connections: twoConnections(a, b) });
  pipe = p;
  const first = await p.startWorkers();
  const { request } = await p.intake.submit({
    target: { kind: 'user', userId: 'usr_1' },
    reason: 'offboarding',
    requestedBy: admin,
    source: 'cli',
    connection: 'a',
  });
  await until('the call job to wait for its retry', async () =>
    (await p.queues.idpCalls.getDelayedCount()) === 1 ? true : undefined,
  );
  await first.close(1000);
  return [p, request];
}

describe('every job names its connection (issue 22)', () => {
  it('a request for a connection this process no longer has fails visibly and audited; no other connection runs it', async () => {
    const a = withUser('usr_1');
    const b = withUser('usr_1');
    pipe = await createPipeline({ idp: a, connections: twoConnections(a, b) });
    // Submitted while `b` was configured; the workers that run it are configured for `a` alone.
    const { request } = await pipe.intake.submit({
      target: { kind: 'user', userId: 'usr_1' },
      reason: 'offboarding',
      requestedBy: admin,
      source: 'cli',
      connection: 'b',
    });
    expect(request.connection).toBe('b');
    await pipe.startWorkers({
      connections: new ConnectionRegistry([{ id: 'a', kind: 'memory', idp: a, suffix: '' }]),
    });
    const done = await pipe.intake.waitForOutcome(request.id, 20_000);
    expect(done.state).toBe('failed');
    expect(done.result?.error).toContain('revoker_unknown_connection');
    // Never ran elsewhere: neither system was called, every token of both still there.
    expect([a.planCalls, a.revokeCalls, b.planCalls, b.revokeCalls]).toEqual([0, 0, 0, 0]);
    expect([a.tokens.size, b.tokens.size]).toEqual([2, 2]);
    const audit = await pipe.auditEntries();
    expect(audit.find((e) => e.action === 'request.dead_lettered')?.detail).toMatchObject({
      code: 'revoker_unknown_connection',
    });
    expect(audit.some((e) => e.action === 'request.failed' && e.requestId === request.id)).toBe(true);
  });

  it('a running request whose connection was removed fails when the workers start, audited, and runs nowhere else', async () => {
    const a = withUser('usr_1');
    const b = withUser('usr_1');
    const [p, request] = await requestWaitingInA(a, b);
    // The configuration changed: `b` is now the only connection and owns `idp-calls`.
    await p.startWorkers({
      connections: new ConnectionRegistry([{ id: 'b', kind: 'memory', idp: b, suffix: '' }]),
    });
    const done = await p.intake.waitForOutcome(request.id, 20_000);
    expect(done.state).toBe('failed');
    // b was never asked to revoke a's user: its tokens are all there; a's other step ran (in a, before the change).
    expect(b.revokeCalls).toBe(0);
    expect([a.tokens.size, b.tokens.size]).toEqual([1, 2]);
    const failed = (await p.auditEntries()).find((e) => e.action === 'request.failed');
    expect(failed?.detail).toEqual({ error: 'revoker_unknown_connection', connection: 'a' });
  });

  it('a call job planned for one connection is refused by the worker of another that now owns its queue (IDP reordered)', async () => {
    const a = withUser('usr_1');
    const b = withUser('usr_1');
    const [p, request] = await requestWaitingInA(a, b);
    // The configuration changed: `b` is now listed first and owns `idp-calls`; `a` has its own queue.
    await p.startWorkers({
      connections: new ConnectionRegistry([
        { id: 'b', kind: 'memory', idp: b, suffix: '' },
        { id: 'a', kind: 'memory', idp: a, suffix: '.a' },
      ]),
    });
    await (await p.queues.idpCalls.getDelayed())[0]!.promote();
    const done = await p.intake.waitForOutcome(request.id, 20_000);
    expect(done.state).toBe('failed');
    // b was never asked to revoke a's user: its tokens are all there. The refused call is a failed part.
    expect(b.revokeCalls).toBe(0);
    expect(b.tokens.size).toBe(2);
    expect(
      done.result?.parts?.some((p) => p.outcome === 'failed' && p.why.includes('revoker_unknown_connection')),
    ).toBe(true);
    const dead = (await p.auditEntries()).filter((e) => e.action === 'request.dead_lettered');
    expect(dead.map((e) => e.detail?.code)).toContain('revoker_unknown_connection');
  });

  it('the intake refuses a connection that is not configured (400), never another', async () => {
    const a = withUser('usr_1');
    pipe = await createPipeline({ idp: a, connections: twoConnections(a, withUser('usr_1')) });
    await expect(
      pipe.intake.submit({
        target: { kind: 'user', userId: 'usr_1' },
        reason: 'x',
        requestedBy: admin,
        source: 'cli',
        connection: 'okta-eu',
      }),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it('two connections of one kind from CONNECTIONS_FILE work side by side, each in its own system', async () => {
    const [one, two] = await Promise.all([
      startIdaas({ port: 0, store: 'memory' }),
      startIdaas({ port: 0, store: 'memory' }),
    ]);
    idaases.push(one!, two!);
    const dir = mkdtempSync(join(tmpdir(), 'connections-'));
    const file = join(dir, 'connections.yaml');
    writeFileSync(
      file,
      [
        'connections:',
        '  - id: idaas-eu',
        '    kind: idaas',
        '    rate_limit: 30',
        '    env:',
        `      IDAAS_URL: ${one!.adminUrl}`,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the file's own ${VAR} reference
        '      IDAAS_ADMIN_TOKEN: ${EU_ADMIN_TOKEN}',
        '  - id: idaas-us',
        '    kind: idaas',
        '    env:',
        `      IDAAS_URL: ${two!.adminUrl}`,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the file's own ${VAR} reference
        '      IDAAS_ADMIN_TOKEN: ${US_ADMIN_TOKEN}',
      ].join('\n'),
    );
    const env = {
      CONNECTIONS_FILE: file,
      EU_ADMIN_TOKEN: one!.adminToken,
      US_ADMIN_TOKEN: two!.adminToken,
      IDAAS_RATE_LIMIT: '40',
    };
    const specs = connectionSpecs(loadConfig(env), env);
    expect(specs.map((s) => [s.id, s.kind, s.ratePerSecond])).toEqual([
      ['idaas-eu', 'idaas', 30],
      ['idaas-us', 'idaas', 40],
    ]);
    // The same person (the seeded tenant's `bob`) holds real tokens in both systems.
    const [heldEu] = await one!.mintTokens({ user: 'bob', application: 'expense-portal' });
    const [heldUs] = await two!.mintTokens({ user: 'bob', application: 'expense-portal' });
    const held = (t: typeof heldEu) => ({
      applicationId: 'expense-portal',
      accessToken: t!.access_token,
      refreshToken: t!.refresh_token,
    });
    const eu = held(heldEu);
    const us = held(heldUs);
    // Each connection's budget on Redis (its own key), as `serve` builds them.
    const budgetRedis = connectRedis();
    closeAfter.push(async () => {
      await deleteKeys(budgetRedis, 'conn-budgets');
      budgetRedis.disconnect();
    });
    const connections = createConnections({ specs, redis: budgetRedis, prefix: 'conn-budgets' });
    pipe = await createPipeline({ idp: connections.primary.idp, connections });
    await pipe.startWorkers();
    const usDone = await pipe.submitAndWait({
      target: { kind: 'user', userId: heldUs!.userId },
      reason: 'offboarding in the US org',
      requestedBy: admin,
      source: 'cli',
      connection: 'idaas-us',
    });
    expect(usDone.state).toBe('verified');
    expect(usDone.connection).toBe('idaas-us');
    // The oracle is the systems' own tokens: dead in the US one, alive in the EU one.
    expect((await probeHeld(two!, us)).introspection.active).toBe(false);
    expect((await probeHeld(one!, eu)).introspection.active).toBe(true);
    const euDone = await pipe.submitAndWait({
      target: { kind: 'user', userId: heldEu!.userId },
      reason: 'offboarding in the EU org',
      requestedBy: admin,
      source: 'cli',
      connection: 'idaas-eu',
    });
    expect(euDone.state).toBe('verified');
    // The audit names the connection of each request and of its outcome.
    const audit = await pipe.auditEntries();
    const of = (id: string, action: string) =>
      audit.find((e) => e.requestId === id && e.action === action)?.detail?.connection;
    expect([of(usDone.id, 'request.created'), of(usDone.id, 'request.verified')]).toEqual([
      'idaas-us',
      'idaas-us',
    ]);
    expect(of(euDone.id, 'request.verified')).toBe('idaas-eu');
    expect((await probeHeld(one!, eu)).introspection.active).toBe(false);
    // Each connection's calls waited in its own queue.
    expect(await pipe.queues.idpCallsOf('idaas-us').getCompletedCount()).toBeGreaterThan(0);
    expect(pipe.queues.idpCallsOf('idaas-us').name).toBe('idp-calls.idaas-us');
  });
});
