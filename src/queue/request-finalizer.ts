import type { Job } from 'bullmq';
import { truncateGraphemes } from '../domain/outside-text.ts';
import { aggregateParts, boundParts, describeParts, partsOf } from '../identity/part-outcomes.ts';
import type { PartOutcome, TokenRef } from '../identity/port.ts';
import type { RequestJob } from './job-schemas.ts';
import type { PipelineContext } from './pipeline-context.ts';

/**
 * The `finalize` job, after every step has settled: the sweep (a last bulk call, when the plan has one),
 * then the verifying check, and the request's outcome from its parts (issue 18).
 */
export class RequestFinalizer {
  constructor(private readonly c: PipelineContext) {}

  /** After every step: catch stragglers with the bulk call, then prove the tokens are gone. */
  async finalize(job: Job<RequestJob>, requestId: string): Promise<void> {
    const rec = await this.c.o.store.get(requestId);
    if (rec?.state !== 'running') return;
    const [plan, failedSteps] = await Promise.all([
      this.c.o.store.planInfo(requestId),
      this.c.o.store.countFailed(requestId),
    ]);
    const conn = this.c.connectionOf(rec);
    if (await this.c.o.store.sawNoAccount(requestId)) {
      await this.c.endNoAccount(rec, 'the connection answered that it has no such person');
      return;
    }
    const sweep = plan?.sweep;
    if (sweep) {
      const result = await this.c.idpCall(conn, 'revoke', () => conn.idp.revoke(sweep));
      await this.c.auditRevoked(requestId, result.revoked);
      await this.c.o.store.addRevoked(requestId, ...result.revoked.map((t) => t.id));
    }
    // Taken when the plan was made, before any step ran: a cut-off the IdP shows must not be older, and
    // tokens issued after it (a user signing in again mid-request) are out of this request's scope.
    const since = new Date(plan?.since ?? job.timestamp);
    const verify = await this.c.idpCall(conn, 'verify', () => conn.idp.verify(rec.target, { since }));
    if (verify.method === 'list') await this.reconcileRecord(requestId, verify.remaining);
    const revokedCount = await this.c.o.store.countRevoked(requestId);
    if (!verify.ok && job.attemptsMade + 1 < this.c.verifyAttempts) {
      throw new Error(`${verify.remaining.length} token(s) still alive; verifying again`);
    }
    // A call that failed for good is a failed part naming the call: it never lets the request end verified,
    // whatever a listing shows (the listing may not see what that call was for).
    const failedCalls = (await this.c.o.store.failedSteps(requestId)).map(
      (f): PartOutcome => ({
        part: `call ${f.stepKey}`,
        outcome: 'failed',
        why: `the IdP call failed for good${f.why ? ` (${f.why})` : ''}`,
      }),
    );
    const parts = boundParts([...partsOf(verify), ...failedCalls]);
    const to = aggregateParts(parts);
    const unverifiableParts = parts.filter((p) => p.outcome === 'unverifiable');
    const unverifiable =
      to !== 'unverifiable'
        ? undefined
        : verify.method === 'none' && unverifiableParts.length === 1 && !verify.parts
          ? verify.unverifiable
          : describeParts(unverifiableParts);
    const failedText = describeParts(parts.filter((p) => p.outcome === 'failed'));
    const result = {
      ok: to !== 'failed',
      revoked: revokedCount,
      remaining: verify.remaining.length,
      ...(unverifiable === undefined ? {} : { unverifiable }),
      ...(to === 'failed'
        ? {
            error: truncateGraphemes(
              [
                verify.remaining.length > 0
                  ? `${verify.remaining.length} token(s) still work after revocation`
                  : undefined,
                failedSteps > 0 ? `${failedSteps} call(s) failed for good` : undefined,
                failedText,
              ]
                .filter(Boolean)
                .join('; '),
              500,
            ),
          }
        : {}),
      parts,
    };
    const res = await this.c.o.store.transition(requestId, ['running'], to, {
      result,
      progress: { ...rec.progress, done: rec.progress.total },
    });
    if (!res.ok) return;
    // A fan-out's children are counted once, as their parent's outcome.
    if (rec.parent === undefined) this.c.o.metrics.outcomes.inc({ outcome: to, scope: rec.target.kind });
    await this.c.stateChanged(`request.${to}`, res.record, {
      // The connection this outcome is of (reports read a per-connection outcome from it).
      ...(rec.connection ? { connection: rec.connection } : {}),
      revoked: result.revoked,
      remaining: result.remaining,
      method: verify.method,
      failedCalls: failedSteps,
      ...(unverifiable === undefined ? {} : { unverifiable: truncateGraphemes(unverifiable, 500) }),
      // The parts in words and as JSON (the audit's detail is flat: small non-secret facts).
      parts: truncateGraphemes(describeParts(parts), 1000),
      // Whole JSON, never cut (bounded already: at most 20 parts, names of at most 200 characters).
      partsJson: JSON.stringify(parts.map(({ part, outcome }) => ({ part, outcome }))),
    });
  }

  /**
   * Tokens of the plan's record that the verifying listing no longer shows, and that no call's answer
   * named (a bulk call that answers nothing, like Okta's 204): audited now, exactly once.
   */
  private async reconcileRecord(requestId: string, remaining: TokenRef[]): Promise<void> {
    const unaudited = await this.c.o.store.notRevokedInScope(requestId);
    if (unaudited.length === 0) return;
    const alive = new Set(remaining.map((t) => t.id));
    const gone = unaudited.filter((t) => !alive.has(t.id));
    if (gone.length === 0) return;
    await this.c.auditRevoked(requestId, gone);
    await this.c.o.store.addRevoked(requestId, ...gone.map((t) => t.id));
  }
}
