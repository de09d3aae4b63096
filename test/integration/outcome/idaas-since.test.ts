import { afterEach, describe, expect, it } from 'vitest';
import type { Target } from '../../../src/domain/target.ts';
import { type Idaas, startIdaas } from '../../../src/idaas/index.ts';
import { IdaasIdentityProvider } from '../../../src/identity/adapters/idaas.ts';
import type { RevokeResult } from '../../../src/identity/port.ts';
import { createPipeline, type Pipeline } from '../../helpers/pipeline.ts';
import { expectAlive, expectDead, IN_SCOPE_APP, requester } from '../faults/fixtures.ts';

/**
 * Issue 18 item 15, on the real embedded IDaaS: a user who signs in again while their revocation runs gets
 * tokens this request never covered. The verifying listing counts only tokens issued before the request
 * started (`since`), so the request ends verified, says so, and the new sign-in keeps working.
 */
let idaas: Idaas | undefined;
let pipe: Pipeline | undefined;
afterEach(async () => {
  await pipe?.close();
  await idaas?.close();
  pipe = undefined;
  idaas = undefined;
});

/** The real adapter; right after the bulk call, the user signs in again (real tokens, minted as a client does). */
class SignsInAgain extends IdaasIdentityProvider {
  again: Awaited<ReturnType<Idaas['mintTokens']>> = [];
  constructor(private readonly server: Idaas) {
    super({ baseUrl: server.url, adminToken: server.adminToken });
  }
  override async revoke(step: Target): Promise<RevokeResult> {
    const result = await super.revoke(step);
    if (step.kind === 'user' && this.again.length === 0) {
      // Issued after the request started: out of its scope. The IDaaS stamps `iat` in whole seconds, and a
      // token of the very second the request started counts as in scope (the safe side), so this sign-in
      // happens in the next second.
      await new Promise((r) => setTimeout(r, 1001 - (Date.now() % 1000)));
      this.again = await this.server.mintTokens({ user: step.userId, application: IN_SCOPE_APP, count: 1 });
    }
    return result;
  }
}

describe('verify counts only tokens issued before the request started (issue 18 item 15)', () => {
  it('a sign-in during the revocation does not make the request fail; the outcome says what was counted', {
    timeout: 30_000,
  }, async () => {
    idaas = await startIdaas({ port: 0, store: 'memory' });
    const user = await idaas.addUser({
      userId: 'erin-since',
      email: 'erin-since@example.com',
      name: 'Erin',
      password: 'password-erin-xyz',
    });
    const before = await idaas.mintTokens({ user: user.id, application: IN_SCOPE_APP, count: 2 });
    const idp = new SignsInAgain(idaas);
    pipe = await createPipeline({ idp });
    await pipe.startWorkers();
    const done = await pipe.submitAndWait({
      target: { kind: 'user', userId: user.id },
      reason: 'offboarding',
      requestedBy: requester,
      source: 'cli',
    });
    expect(idp.again).toHaveLength(1);
    expect(done.result?.error).toBeUndefined();
    expect(done.state).toBe('verified');
    expect(done.result?.parts).toEqual([
      { part: 'tokens issued before the start', outcome: 'verified', method: 'list' },
    ]);
    // Observed at the IDaaS itself, not through the adapter: the old tokens are dead, the new sign-in works.
    await expectDead(idaas, before);
    await expectAlive(idaas, idp.again);
  });
});
