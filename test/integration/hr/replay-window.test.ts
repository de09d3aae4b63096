import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HrEvent } from '../../../src/hr/hr-event.ts';
import { type HrProcessorDeps, processHrEvent } from '../../../src/hr/hr-event-processor.ts';
import type { HrEventQueue } from '../../../src/hr/hr-event-queue.ts';
import { type HrRouterFixture, startHrRouter } from '../../helpers/hr-router-fixture.ts';
import { HR_TEST_SECRETS, signHrDelivery } from '../../helpers/hr-signing.ts';
import { MemoryAuditLog } from '../../helpers/memory-audit.ts';
import { MemoryIdp } from '../../helpers/memory-idp.ts';
import { createPipeline, type Pipeline, RecordingNotifier } from '../../helpers/pipeline.ts';
import { deleteKeys } from '../../helpers/redis.ts';

/**
 * Issue 9, finding 4: Gusto, HiBob and Deel sign no timestamp, so a captured delivery could be replayed
 * once its dedupe marker expired. The event time in the signed body now has to be within the replay
 * window (default one day), and a cancellation only calls off a request created before it.
 */
const DAY = 86_400_000;
let hr: HrRouterFixture;
let redis: Redis;
let prefix: string;
let queue: HrEventQueue;
let base: string;
let now: Date;

beforeEach(async () => {
  now = new Date();
  hr = await startHrRouter(
    {
      secrets: { gusto: HR_TEST_SECRETS.gusto!, hibob: HR_TEST_SECRETS.hibob!, deel: HR_TEST_SECRETS.deel! },
      clock: () => now,
    },
    { prefixLabel: 'hr-replay' },
  );
  ({ redis, prefix, queue, base } = hr);
});

afterEach(() => hr.close());

function deliver(source: string, body: string) {
  return fetch(`${base}/webhooks/hr/${source}`, {
    method: 'POST',
    body,
    headers: signHrDelivery(source, HR_TEST_SECRETS[source]!, body),
  });
}

const jobCount = async () => Object.values(await queue.getJobCounts()).reduce((a, b) => a + b, 0);

describe('replay window for vendors that sign no timestamp', () => {
  it('a captured Gusto termination_cancelled replayed after its marker expired is refused', async () => {
    const captured = JSON.stringify({
      uuid: 'c2a3f0e4-0d6c-4d1b-9b1a-6f1f1c1a0b01',
      event_type: 'employee.termination_cancelled',
      resource_type: 'Company',
      resource_uuid: 'co-1',
      entity_type: 'Employee',
      entity_uuid: 'emp-1',
      timestamp: Math.floor(now.getTime() / 1000),
    });
    expect((await deliver('gusto', captured)).status).toBe(202);
    // Five days on, the 4-day marker and the completed job are gone; the bytes are the same.
    await deleteKeys(redis, prefix);
    now = new Date(now.getTime() + 5 * DAY);
    const before = await jobCount();
    const replay = await deliver('gusto', captured);
    expect(replay.status).toBe(401);
    expect(await replay.json()).toMatchObject({ error: 'event_stale' });
    expect(await jobCount()).toBe(before);
  });

  it('a HiBob delivery whose triggeredAt is 11 months old is refused; a fresh one is accepted', async () => {
    const event = (triggeredAt: string) =>
      JSON.stringify({
        companyId: 1,
        type: 'employee.left',
        triggeredBy: 'x',
        triggeredAt,
        version: 'v2',
        data: { employeeId: '42', email: 'bob@example.com' },
      });
    const old = new Date(now.getTime() - 330 * DAY).toISOString().replace('Z', '');
    expect((await deliver('hibob', event(old))).status).toBe(401);
    expect((await deliver('hibob', event(now.toISOString().replace('Z', '')))).status).toBe(202);
  });

  it('a Deel delivery without an event time is refused: nothing would date a replay', async () => {
    const body = JSON.stringify({
      data: {
        meta: { event_type: 'contract.terminated', tracking_id: 'trk-1' },
        resource: { id: 'ct-1', completion_date: '2026-01-01', worker: { email: 'bob@example.com' } },
      },
    });
    expect((await deliver('deel', body)).status).toBe(401);
  });

  it('keeps the delivery marker at least as long as the window', async () => {
    const body = JSON.stringify({
      uuid: 'c2a3f0e4-0d6c-4d1b-9b1a-6f1f1c1a0b02',
      event_type: 'employee.rehired',
      entity_type: 'Employee',
      entity_uuid: 'emp-2',
      timestamp: Math.floor(now.getTime() / 1000),
    });
    expect((await deliver('gusto', body)).status).toBe(202);
    const [marker] = await redis.keys(`${prefix}:hr-events:delivery:*`);
    expect(await redis.ttl(marker!)).toBeGreaterThanOrEqual(DAY / 1000);
  });
});

describe('a cancellation only calls off a request created before it', () => {
  const NOW = new Date('2026-06-01T12:00:00Z');
  let pipe: Pipeline;
  let deps: HrProcessorDeps & { intake: Pipeline['intake'] };

  beforeEach(async () => {
    const idp = new MemoryIdp();
    idp.addUser('u_alice', 'alice@example.com');
    // The real intake on the test's clock, deciding with the real workflow engine; no workers run.
    pipe = await createPipeline({ idp, clock: () => NOW });
    deps = {
      idp,
      intake: pipe.intake,
      audit: new MemoryAuditLog(),
      notifier: new RecordingNotifier(),
      redis,
      prefix,
      clock: () => NOW,
    };
  });

  afterEach(async () => {
    await pipe.close();
  });

  const event = (over: Partial<HrEvent>): HrEvent => ({
    source: 'hibob',
    eventId: 'e',
    employeeId: 'E1',
    email: 'alice@example.com',
    kind: 'terminate',
    effectiveAt: '2026-12-01T00:00:00Z',
    ...over,
  });

  it('an older cancellation (replayed, or late) leaves a later termination scheduled', async () => {
    const submitted = await processHrEvent(event({ eventId: 't1', occurredAt: NOW.toISOString() }), deps);
    const requestId = (submitted as { requestId: string }).requestId;
    const stale = await processHrEvent(
      event({ eventId: 'c0', kind: 'cancel', occurredAt: new Date(NOW.getTime() - DAY).toISOString() }),
      deps,
    );
    expect(stale).toEqual({ action: 'stale_cancel', requestId });
    expect((await deps.intake.get(requestId))?.state).toBe('scheduled');
    const fresh = await processHrEvent(
      event({ eventId: 'c1', kind: 'cancel', occurredAt: new Date(NOW.getTime() + 60_000).toISOString() }),
      deps,
    );
    expect(fresh).toEqual({ action: 'cancelled', requestId });
  });
});
