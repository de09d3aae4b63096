import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Source } from '../../../src/domain/request.ts';
import { dedupeTtlSeconds } from '../../../src/hr/hr-event-queue.ts';
import { REDELIVERY_SPAN_MS, replayWindowMs } from '../../../src/hr/replay-windows.ts';
import { MemoryIdp } from '../../helpers/memory-idp.ts';
import { createPipeline, type Pipeline } from '../../helpers/pipeline.ts';
import { testWorkflowEngine } from '../../helpers/test-workflows.ts';

/**
 * Issue 21 item 11: intake idempotency keys are bounded (no longer 400 days), yet HR keys outlive every
 * HR redelivery window (the delivery markers and completed jobs), so a redelivery inside it still finds
 * its request.
 */
let pipe: Pipeline | undefined;
afterEach(async () => {
  await pipe?.close();
  pipe = undefined;
});

const DAY = 86_400;

async function setUp(hrReplayWindowMs: number): Promise<Pipeline> {
  const idp = new MemoryIdp();
  for (const id of ['bob', 'carol', 'dave']) idp.addUser(id);
  return createPipeline({
    idp,
    workflows: await testWorkflowEngine([{ name: 'all', required: 0 }]),
    intakeOptions: { hrReplayWindowMs },
  });
}

/** Submits for `userId` under `key`, scheduled a day ahead (no worker needed); the key's TTL in Redis (s). */
async function submitted(p: Pipeline, source: Source, key: string, userId: string) {
  const result = await p.intake.submit({
    target: { kind: 'user', userId },
    reason: 'leaver',
    requestedBy: source === 'slack' ? { source, id: 'UADMIN' } : { source, id: 'standard' },
    source,
    effectiveAt: new Date(Date.now() + DAY * 1000).toISOString(),
    idempotencyKey: key,
  });
  // The store's index key: `{prefix}:req:idem:{sha256(key)}` (base64url).
  const idem = `${p.prefix}:req:idem:${createHash('sha256').update(key).digest('base64url')}`;
  return { ...result, ttl: await p.redis.ttl(idem) };
}

describe('idempotency keys: bounded, and longer than every redelivery window', () => {
  it('HR keys outlive every vendor window and the delivery markers by at most a day; a redelivery is still a duplicate', async () => {
    pipe = await setUp(86_400_000);
    const first = await submitted(pipe, 'hr', 'hr.standard:msg_1', 'bob');
    expect(first.duplicate).toBe(false);
    const markers = dedupeTtlSeconds(86_400_000);
    expect(first.ttl).toBeGreaterThan(markers);
    expect(first.ttl).toBeLessThanOrEqual(markers + DAY);
    for (const source of Object.keys(REDELIVERY_SPAN_MS)) {
      expect(first.ttl, source).toBeGreaterThan((2 * replayWindowMs(source, 86_400_000)) / 1000);
    }
    // A redelivery inside the window (the key still has more than the whole dedupe window to live).
    const again = await submitted(pipe, 'hr', 'hr.standard:msg_1', 'bob');
    expect(again.duplicate).toBe(true);
    expect(again.request.id).toBe(first.request.id);
  });

  it('a longer HR_REPLAY_WINDOW_SECONDS lengthens HR keys with it', async () => {
    pipe = await setUp(10 * DAY * 1000);
    const { ttl } = await submitted(pipe, 'hr', 'hr.hibob:evt_9', 'bob');
    expect(ttl).toBeGreaterThan(20 * DAY);
    expect(ttl).toBeLessThanOrEqual(21 * DAY);
  });

  it('SCIM and Slack keys (retries within seconds; SCIM has its own deactivation record) live a day', async () => {
    pipe = await setUp(86_400_000);
    const scim = await submitted(pipe, 'scim', 'scim.carol.0', 'carol');
    const slack = await submitted(pipe, 'slack', 'slack:V123', 'dave');
    for (const { ttl } of [scim, slack]) {
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(DAY);
    }
    expect((await submitted(pipe, 'scim', 'scim.carol.0', 'carol')).duplicate).toBe(true);
  });
});
