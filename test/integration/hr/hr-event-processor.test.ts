import type { Redis } from 'ioredis';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadHrConfig } from '../../../src/config/hr-settings.ts';
import { ConflictError } from '../../../src/domain/errors.ts';
import type { HrEvent } from '../../../src/hr/hr-event.ts';
import { type HrProcessorDeps, pendingKey, processHrEvent } from '../../../src/hr/hr-event-processor.ts';
import { createHrEventQueue, enqueueHrEvent } from '../../../src/hr/hr-event-queue.ts';
import { startHrEventWorker } from '../../../src/hr/hr-event-worker.ts';
import { IdpTransientError } from '../../../src/identity/errors.ts';
import { HrVendorApis } from '../../helpers/hr-vendor-apis.ts';
import { MemoryAuditLog } from '../../helpers/memory-audit.ts';
import { MemoryIdp } from '../../helpers/memory-idp.ts';
import { createPipeline, type Pipeline, RecordingNotifier } from '../../helpers/pipeline.ts';
import { connectRedis, deleteKeys, randomPrefix } from '../../helpers/redis.ts';

const NOW = new Date('2026-06-01T12:00:00Z');
const apis = new HrVendorApis(
  {
    bamboohr: 'https://bamboo.test/api/gateway.php/acme',
    hibob: 'https://hibob.test',
    gusto: 'https://gusto.test',
    deel: 'https://deel.test',
  },
  {
    BAMBOOHR_API_KEY: 'bk',
    HIBOB_API_USER: 'hu',
    HIBOB_API_TOKEN: 'ht',
    GUSTO_API_TOKEN: 'gt',
    DEEL_API_TOKEN: 'dt',
  },
  () => NOW.toISOString().slice(0, 10),
);
const vendors = setupServer(...apis.handlers());
beforeAll(() => vendors.listen({ onUnhandledFrame: 'error' }));
afterAll(() => vendors.close());

let redis: Redis;
let pipe: Pipeline;
let deps: HrProcessorDeps & {
  intake: Pipeline['intake'];
  audit: MemoryAuditLog;
  notifier: RecordingNotifier;
  idp: MemoryIdp;
};

beforeEach(async () => {
  redis = connectRedis();
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
    prefix: randomPrefix('hrp'),
    clock: () => NOW,
    hrConfig: loadHrConfig({
      GUSTO_API_URL: 'https://gusto.test',
      GUSTO_API_TOKEN: 'gt',
      BAMBOOHR_API_URL: 'https://bamboo.test/api/gateway.php/acme',
      BAMBOOHR_API_KEY: 'bk',
    }),
  };
});

afterEach(async () => {
  vendors.resetHandlers();
  await pipe.close();
  await deleteKeys(redis, deps.prefix);
  redis.disconnect();
});

/** Every HR request the intake holds. */
const hrRequests = () => deps.intake.list({ source: 'hr', limit: 100 });

const terminate = (over: Partial<HrEvent> = {}): HrEvent => ({
  source: 'standard',
  eventId: 'evt-1',
  employeeId: 'E1',
  email: 'alice@example.com',
  effectiveAt: '2026-12-01T00:00:00Z',
  kind: 'terminate',
  ...over,
});

describe('processHrEvent', () => {
  it('terminate ⇒ one submit revoking all the user’s tokens, scheduled, remembered per employee', async () => {
    const out = await processHrEvent(terminate(), deps);
    expect(out).toMatchObject({ action: 'submitted' });
    const requestId = (out as { requestId: string }).requestId;
    expect(await hrRequests()).toEqual([
      expect.objectContaining({
        id: requestId,
        target: { kind: 'user', userId: 'u_alice' },
        source: 'hr',
        requestedBy: { source: 'hr', id: 'standard' },
        effectiveAt: '2026-12-01T00:00:00.000Z',
        state: 'scheduled',
      }),
    ]);
    expect(await redis.get(pendingKey(deps.prefix, 'standard', 'E1'))).toBe(requestId);
    // Re-running the same event (at-least-once) creates nothing new.
    expect(await processHrEvent(terminate(), deps)).toEqual({ action: 'unchanged', requestId });
    expect(await hrRequests()).toHaveLength(1);
  });

  it('a later terminate with a different date reschedules the scheduled request', async () => {
    const first = (await processHrEvent(terminate(), deps)) as { requestId: string };
    const out = await processHrEvent(
      terminate({ eventId: 'evt-2', effectiveAt: '2026-11-15T09:00:00Z' }),
      deps,
    );
    expect(out).toEqual({ action: 'rescheduled', requestId: first.requestId });
    expect(await deps.intake.get(first.requestId)).toMatchObject({
      state: 'scheduled',
      effectiveAt: '2026-11-15T09:00:00.000Z',
    });
    const moved = (await pipe.auditEntries()).filter((e) => e.action === 'request.rescheduled');
    expect(moved).toEqual([
      expect.objectContaining({
        requestId: first.requestId,
        actor: expect.objectContaining({ id: 'standard' }),
      }),
    ]);
    expect(await hrRequests()).toHaveLength(1);
  });

  it('cancel ⇒ the scheduled request is cancelled and forgotten; a second cancel finds nothing', async () => {
    const first = (await processHrEvent(terminate(), deps)) as { requestId: string };
    const out = await processHrEvent(terminate({ eventId: 'evt-3', kind: 'cancel', email: undefined }), deps);
    expect(out).toEqual({ action: 'cancelled', requestId: first.requestId });
    expect((await deps.intake.get(first.requestId))?.state).toBe('cancelled');
    expect(await redis.get(pendingKey(deps.prefix, 'standard', 'E1'))).toBeNull();
    expect(await processHrEvent(terminate({ eventId: 'evt-4', kind: 'cancel' }), deps)).toEqual({
      action: 'nothing_to_cancel',
    });
  });

  it('cancel after the revocation started is refused: it goes ahead', async () => {
    const first = (await processHrEvent(terminate(), deps)) as { requestId: string };
    // A worker took it: the store moves it on, as the start job would.
    expect((await pipe.store.transition(first.requestId, ['scheduled'], 'running')).ok).toBe(true);
    const out = await processHrEvent(terminate({ eventId: 'evt-5', kind: 'cancel' }), deps);
    expect(out).toEqual({ action: 'not_cancellable', requestId: first.requestId, state: 'running' });
    expect((await deps.intake.get(first.requestId))?.state).toBe('running');
  });

  it('unknown employee ⇒ audited once and announced, nothing submitted', async () => {
    const event = terminate({ email: 'nobody@example.com' });
    expect(await processHrEvent(event, deps)).toEqual({ action: 'unknown_employee' });
    await processHrEvent(event, deps);
    expect(await hrRequests()).toEqual([]);
    expect(deps.audit.of('webhook.unknown_employee')).toHaveLength(1);
    expect(deps.notifier.events[0]).toEqual({
      type: 'hr.unknown_employee',
      source: 'standard',
      employeeId: 'E1',
      email: 'nobody@example.com',
      eventId: 'evt-1',
    });
  });

  it('a transient IdP error propagates (BullMQ retries) and leaves no trace', async () => {
    deps.idp.findUserByEmail = async () => {
      throw new IdpTransientError('IdP 503', { status: 503 });
    };
    await expect(processHrEvent(terminate(), deps)).rejects.toBeInstanceOf(IdpTransientError);
    expect(await hrRequests()).toEqual([]);
    // The per-employee lock was released.
    expect(await redis.keys(`${deps.prefix}:hr:lock:*`)).toEqual([]);
  });

  it('Gusto id-only delivery ⇒ email and last day fetched from the Gusto API (documented shapes)', async () => {
    apis.add('gusto', { employeeId: 'bcfc9744', email: 'alice@example.com', lastDay: '2026-06-30' });
    const out = await processHrEvent(
      {
        source: 'gusto',
        eventId: 'g-1',
        employeeId: 'bcfc9744',
        kind: 'terminate',
        type: 'employee.terminated',
        needsLookup: true,
      },
      deps,
    );
    expect(out).toMatchObject({ action: 'submitted' });
    expect(await deps.intake.get((out as { requestId: string }).requestId)).toMatchObject({
      target: { kind: 'user', userId: 'u_alice' },
      effectiveAt: '2026-07-01T00:00:00.000Z',
    });
  });

  it('BambooHR status change ⇒ the API decides: Active again with no termination date ⇒ cancel', async () => {
    // Active again, no termination date.
    apis.add('bamboohr', { employeeId: '67890', email: 'alice@example.com' });
    await processHrEvent(terminate({ source: 'bamboohr', employeeId: '67890', eventId: 'b-0' }), deps);
    const out = await processHrEvent(
      { source: 'bamboohr', eventId: 'b-1', employeeId: '67890', kind: 'terminate', needsLookup: true },
      deps,
    );
    expect(out).toMatchObject({ action: 'cancelled' });
  });

  it('a vendor 5xx is retryable; a 404 is not', async () => {
    vendors.use(
      http.get('https://gusto.test/v1/employees/:id', () => new HttpResponse(null, { status: 502 })),
    );
    const event: HrEvent = {
      source: 'gusto',
      eventId: 'g-2',
      employeeId: 'x',
      kind: 'terminate',
      needsLookup: true,
    };
    await expect(processHrEvent(event, deps)).rejects.toMatchObject({ retryable: true });
    vendors.resetHandlers(
      http.get('https://gusto.test/v1/employees/:id', () => new HttpResponse(null, { status: 404 })),
    );
    await expect(processHrEvent(event, deps)).rejects.toMatchObject({ retryable: false });
  });
});

describe('startHrEventWorker', () => {
  it('an event that fails for good (the vendor says 404) is audited and announced, not only logged', async () => {
    vendors.use(
      http.get('https://gusto.test/v1/employees/:id', () => new HttpResponse(null, { status: 404 })),
    );
    const queue = createHrEventQueue({ connection: redis, prefix: deps.prefix });
    const workerConnection = connectRedis();
    const worker = startHrEventWorker({ ...deps, connection: workerConnection });
    try {
      const failed = new Promise<void>((resolve) => worker.on('failed', () => resolve()));
      const event: HrEvent = {
        source: 'gusto',
        eventId: 'g-gone',
        employeeId: 'gone',
        kind: 'terminate',
        type: 'employee.terminated',
        needsLookup: true,
      };
      expect(await enqueueHrEvent(queue, event)).toBe('accepted');
      await failed;
      expect(deps.audit.list.filter((e) => e.action === 'webhook.event_failed')).toEqual([
        expect.objectContaining({
          detail: expect.objectContaining({ source: 'gusto', eventId: 'g-gone', retrying: false }),
        }),
      ]);
      expect(deps.notifier.events).toContainEqual(
        expect.objectContaining({ type: 'hr.event_failed', eventId: 'g-gone', final: true }),
      );
    } finally {
      await worker.close();
      await queue.close();
      workerConnection.disconnect();
    }
  });

  it('an ambiguous identity (several IdP accounts share the email) fails at once, audited and announced: never a silent pick', async () => {
    // Issue 18 item 7: the adapters refuse ambiguity with ConflictError (revoker_conflict) naming the candidates.
    deps.idp.findUserByEmail = async () => {
      throw new ConflictError('2 active accounts have alice@example.com: u_alice, u_alice2');
    };
    const queue = createHrEventQueue({ connection: redis, prefix: deps.prefix });
    const workerConnection = connectRedis();
    const worker = startHrEventWorker({ ...deps, connection: workerConnection });
    try {
      const failed = new Promise<number>((resolve) =>
        worker.on('failed', (job) => resolve(job?.attemptsMade ?? -1)),
      );
      expect(await enqueueHrEvent(queue, terminate({ eventId: 'twins' }))).toBe('accepted');
      expect(await failed).toBe(1);
      expect(deps.audit.list.filter((e) => e.action === 'webhook.event_failed')).toEqual([
        expect.objectContaining({
          detail: expect.objectContaining({
            eventId: 'twins',
            retrying: false,
            reason: expect.stringContaining('u_alice2'),
          }),
        }),
      ]);
      expect(deps.notifier.events).toContainEqual(
        expect.objectContaining({ type: 'hr.event_failed', eventId: 'twins', final: true }),
      );
      expect(await hrRequests()).toHaveLength(0);
    } finally {
      await worker.close();
      await queue.close();
      workerConnection.disconnect();
    }
  });

  it('consumes hr-events and applies each event once', async () => {
    const queue = createHrEventQueue({ connection: redis, prefix: deps.prefix });
    const workerConnection = connectRedis();
    const worker = startHrEventWorker({ ...deps, connection: workerConnection });
    try {
      const done = new Promise<unknown>((resolve, reject) => {
        worker.on('completed', (_job, result) => resolve(result));
        worker.on('failed', (_job, err) => reject(err));
      });
      expect(await enqueueHrEvent(queue, terminate())).toBe('accepted');
      expect(await enqueueHrEvent(queue, terminate())).toBe('duplicate');
      expect(await done).toMatchObject({ action: 'submitted' });
      expect(await hrRequests()).toHaveLength(1);
    } finally {
      await worker.close();
      await queue.close();
      workerConnection.disconnect();
    }
  });
});
