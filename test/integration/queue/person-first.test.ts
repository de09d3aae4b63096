import { afterEach, describe, expect, it } from 'vitest';
import { BudgetedMemoryIdp } from '../../helpers/budgeted-memory-idp.ts';
import { createPipeline, type Pipeline } from '../../helpers/pipeline.ts';

const RATE = 40;
const BATCH = 30;
/** The intake's name look-up, the plan, the token's revoke, the sweep, the verifying listing. */
const CALLS_PER_REQUEST = 5;

let pipe: Pipeline | undefined;
afterEach(async () => {
  await pipe?.close();
  pipe = undefined;
});

describe('a person waiting goes before the batch (issue 22)', () => {
  it("a Slack request's steps run before a queued HR backlog's, on the interactive lane, within the one budget", async () => {
    const idp = new BudgetedMemoryIdp();
    const batch = Array.from({ length: BATCH }, (_, i) => `hr_leaver_${i}`);
    for (const userId of [...batch, 'slack_target']) {
      idp.addUser(userId);
      idp.addToken(userId, 'expense-portal');
    }
    pipe = await createPipeline({ idp, rateLimitPerSecond: RATE });
    // Few IdP-call slots: the backlog waits in the queues, not in flight.
    await pipe.startWorkers({ concurrency: 2 });

    const offboardings = await Promise.all(
      batch.map(async (userId) => {
        const { request } = await pipe!.intake.submit({
          target: { kind: 'user', userId },
          reason: 'terminated',
          requestedBy: { source: 'hr', id: 'standard' },
          source: 'hr',
        });
        return request.id;
      }),
    );
    await idp.revoking;
    const revokedBefore = idp.calls.filter((c) => c.operation === 'revoke-token').length;
    const urgent = await pipe.submitAndWait({
      target: { kind: 'user', userId: 'slack_target' },
      reason: 'laptop stolen',
      requestedBy: { source: 'slack', id: 'UADMIN1' },
      source: 'slack',
    });
    expect(urgent.state).toBe('verified');
    for (const id of offboardings) {
      expect((await pipe.intake.waitForOutcome(id, 20_000)).state).toBe('verified');
    }

    const revokes = idp.calls.filter((c) => c.operation === 'revoke-token');
    const at = revokes.findIndex((c) => c.userId === 'slack_target');
    // Only the batch's steps already taken (two slots, and what they picked while the person's plan ran)
    // went in between; most of the backlog came after.
    expect(at - revokedBefore).toBeLessThanOrEqual(6);
    expect(revokes.length - at - 1).toBeGreaterThanOrEqual(BATCH / 2);

    // The person's calls drew from the interactive lane, the batch's from the batch lane.
    const lanes = (user: (id: string) => boolean) =>
      new Set(idp.calls.filter((c) => user(c.userId)).map((c) => c.lane));
    expect(lanes((id) => id === 'slack_target')).toEqual(new Set(['interactive']));
    expect(lanes((id) => id !== 'slack_target')).toEqual(new Set(['batch']));

    // Going first cost the batch no call, and no second of calls went over the budget's rate (its burst
    // tolerance is a tenth of a second of calls).
    expect(idp.calls.length).toBe((BATCH + 1) * CALLS_PER_REQUEST);
    const times = idp.calls.map((c) => c.at).sort((a, b) => a - b);
    const busiest = Math.max(...times.map((t, i) => times.filter((u, j) => j >= i && u < t + 1000).length));
    expect(busiest).toBeLessThanOrEqual(RATE + RATE / 10 + 1);
  });
});
