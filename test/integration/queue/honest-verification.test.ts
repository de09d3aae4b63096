import { afterEach, describe, expect, it } from 'vitest';
import type { Actor } from '../../../src/domain/request.ts';
import type { Target } from '../../../src/domain/target.ts';
import type {
  RevocationPlan,
  RevokeResult,
  VerifyContext,
  VerifyResult,
} from '../../../src/identity/port.ts';
import { statusLine } from '../../../src/slack/messages/request-summary.ts';
import { MemoryIdp } from '../../helpers/memory-idp.ts';
import { createPipeline, type Pipeline } from '../../helpers/pipeline.ts';

const admin: Actor = { source: 'slack', id: 'UADMIN1', name: 'Ada' };

let pipe: Pipeline | undefined;
afterEach(async () => {
  await pipe?.close();
  pipe = undefined;
});

/** An IdP that can revoke but cannot observe the result (no listing, no read-back). */
class BlindIdp extends MemoryIdp {
  override async verify(): Promise<VerifyResult> {
    return { ok: true, remaining: [], method: 'none', unverifiable: 'this IdP cannot list tokens' };
  }
}

/** An IdP whose steps are calls that may find nothing to revoke (one delete per user, as Google's used to). */
class NoOpStepsIdp extends MemoryIdp {
  seenSince: Date | undefined;
  firstRevokeAt: number | undefined;
  override async plan(target: Target): Promise<RevocationPlan> {
    const users = ['usr_0', 'usr_1', 'usr_2'];
    const steps: Target[] = users.map((u) => ({ kind: 'token', userId: u, tokenId: `app-1-of-${u}` }));
    return { target, steps, tokens: [], userCount: users.length, tokenCount: undefined };
  }
  override async revoke(step: Target): Promise<RevokeResult> {
    this.firstRevokeAt ??= Date.now();
    if (step.kind !== 'token') return { revoked: [] };
    // Only usr_0 holds the app's token: the IdP revokes it; for the others it answers "nothing here".
    const held = [...this.tokens.values()].find((t) => t.userId === step.userId);
    if (!held) return { revoked: [] };
    this.tokens.delete(held.id);
    return { revoked: [{ id: step.tokenId, userId: step.userId }] };
  }
  override async verify(target: Target, context?: VerifyContext): Promise<VerifyResult> {
    this.seenSince = context?.since;
    return super.verify(target);
  }
}

describe('honest verification and audit (issue 13)', () => {
  it('a verification that cannot observe the result ends "unverifiable", never "verified"', async () => {
    const idp = new BlindIdp();
    idp.addUser('usr_0');
    idp.addToken('usr_0', 'app-1', 'rs-1');
    pipe = await createPipeline({ idp });
    await pipe.startWorkers();
    const done = await pipe.submitAndWait({
      target: { kind: 'user', userId: 'usr_0' },
      reason: 'offboarding',
      requestedBy: admin,
      source: 'slack',
    });
    expect(done.state).toBe('unverifiable');
    expect(done.result).toMatchObject({ ok: true, unverifiable: 'this IdP cannot list tokens' });
    const actions = (await pipe.auditEntries()).map((e) => e.action);
    expect(actions).toContain('request.unverifiable');
    expect(actions).not.toContain('request.verified');
    const entry = (await pipe.auditEntries()).find((e) => e.action === 'request.unverifiable');
    expect(entry?.detail).toMatchObject({ method: 'none', unverifiable: 'this IdP cannot list tokens' });
    // Slack shows it as its own outcome.
    expect(statusLine(done)).toBe(
      ':grey_question: Done, unverifiable: this IdP cannot list tokens (1 revoked)',
    );
  });

  it('a step that revoked nothing writes no token.revoked; verify is told when the revocation began', async () => {
    const idp = new NoOpStepsIdp();
    for (const u of ['usr_0', 'usr_1', 'usr_2']) idp.addUser(u);
    idp.addToken('usr_0', 'app-1', 'rs-1');
    pipe = await createPipeline({ idp });
    await pipe.startWorkers();
    const done = await pipe.submitAndWait({
      target: { kind: 'application', applicationId: 'app-1' },
      reason: 'app compromised',
      requestedBy: admin,
      source: 'slack',
    });
    const revoked = (await pipe.auditEntries()).filter((e) => e.action === 'token.revoked');
    // Before: one token.revoked per step, whatever the IdP said. Now only the one the IdP confirmed.
    expect(revoked.map((e) => e.detail?.tokenId)).toEqual(['app-1-of-usr_0']);
    expect(done.state).toBe('verified');
    expect(done.result).toMatchObject({ revoked: 1, remaining: 0 });
    expect(idp.seenSince).toBeInstanceOf(Date);
    expect(idp.seenSince!.getTime()).toBeLessThanOrEqual(idp.firstRevokeAt!);
  });
});
