/**
 * HR webhook intake: signed Standard Webhooks deliveries (a fresh `webhook-id`, timestamp and signature
 * each, so none is a duplicate) against the real service's `POST /webhooks/hr/standard`, which answers
 * 202 only after the event is durably on the `hr-events` BullMQ queue; beside a bare Node `http` server
 * answering 202, at the same fixed rate in this process. The service runs with role `web` (no workers):
 * this measures verification and enqueueing, not processing. Targets (DESIGN §8): ≥ 1,000 deliveries/s
 * verified and enqueued, p99 ≤ 50 ms. Afterwards the queue must hold exactly one job per 202 answer.
 */
import { randomBytes } from 'node:crypto';
import { HR_EVENTS_QUEUE } from '../src/hr/hr-event-queue.ts';
import { signHrDelivery } from '../src/hr/signing.ts';
import { printFigure, printHeader } from './lib.ts';
import {
  type ExactLoadResult,
  exactRateLoad,
  startBenchService,
  startPlainServer,
} from './support-slack-hr.ts';

const RATE = Number(process.env.BENCH_HR_RATE ?? 1200);
const DURATION_SEC = Number(process.env.BENCH_HR_DURATION ?? 12);
const WARMUP_SEC = 2;
const CONNECTIONS = Number(process.env.BENCH_HR_CONNECTIONS ?? 20);

const JOB_STATES = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
  'completed',
  'failed',
] as const;

export default async function run(): Promise<void> {
  printHeader(
    `hr webhooks: POST /webhooks/hr/standard (service role web: intake only, no HR worker) vs bare node 202, ` +
      `${RATE}/s for ${DURATION_SEC} s each (+${WARMUP_SEC} s warm-up), ${CONNECTIONS} connections`,
  );
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const runId = randomBytes(4).toString('hex');
  const bare = await startPlainServer(202, '{"status":"accepted","events":1}');
  const svc = await startBenchService({ HR_STANDARD_SECRET: secret }, 'web');
  const load = {
    method: 'POST' as const,
    rate: RATE,
    durationSec: DURATION_SEC,
    warmupSec: WARMUP_SEC,
    connections: CONNECTIONS,
  };
  try {
    // The same signed bodies for both, so the load generator does the same work in each run.
    const delivery = (prefix: string) => (i: number) => {
      const body = JSON.stringify({
        type: 'employee.terminated',
        data: { employeeId: `E${i}`, email: `e${i}@example.com`, reason: 'bench' },
      });
      return { body, headers: signHrDelivery('standard', secret, body, new Date(), `${prefix}_${i}`) };
    };
    const cpu0 = process.cpuUsage();
    const base = await exactRateLoad({ url: `${bare.url}/`, bodies: delivery(`bare_${runId}`), ...load });
    const cpu1 = process.cpuUsage();
    const hr = await exactRateLoad({
      url: `${svc.url}/webhooks/hr/standard`,
      bodies: delivery(`bench_${runId}`),
      ...load,
    });
    const cpu2 = process.cpuUsage();

    const counts = await svc.service.hrQueue.getJobCounts(...JOB_STATES);
    const jobs = Object.values(counts).reduce((a, b) => a + b, 0);
    const accepted = hr.statuses.get(202) ?? 0;

    report(hr, base);
    // This process's CPU per request, load generator included (same share in both runs).
    const perRequest = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage, r: ExactLoadResult) =>
      (b.user + b.system - a.user - a.system) / Math.max(sumStatuses(r), 1);
    process.stdout.write(
      `   cpu per request (this process, load generator included): service ${perRequest(cpu1, cpu2, hr).toFixed(0)} µs, ` +
        `bare ${perRequest(cpu0, cpu1, base).toFixed(0)} µs\n`,
    );
    const answers = [...hr.statuses].map(([s, n]) => `${s}×${n}`).join(', ');
    process.stdout.write(
      `   durability: ${HR_EVENTS_QUEUE} holds ${jobs} jobs for ${accepted} answers 202 ` +
        `(warm-up included; all answers: ${answers || 'none'}; ${hr.errors} errors) ` +
        `${jobs === accepted ? 'OK: one job per 202' : 'MISMATCH'}\n`,
    );
  } finally {
    await svc.close();
    await bare.close();
  }
}

function sumStatuses(r: ExactLoadResult): number {
  return [...r.statuses.values()].reduce((a, b) => a + b, 0);
}

function report(hr: ExactLoadResult, base: ExactLoadResult): void {
  printFigure({
    name: 'hr verified+enqueued',
    value: hr.rps * ((hr.completed - hr.non2xx) / Math.max(hr.completed, 1)),
    unit: '/s',
    baseline: base.rps,
    baselineName: 'bare node 202',
    target: { op: '>=', value: 1000 },
    higherIsBetter: true,
  });
  printFigure({
    name: 'hr p50',
    value: hr.p50Ms,
    unit: 'ms',
    baseline: base.p50Ms,
    baselineName: 'bare node 202',
    higherIsBetter: false,
  });
  printFigure({
    name: 'hr p99',
    value: hr.p99Ms,
    unit: 'ms',
    baseline: base.p99Ms,
    baselineName: 'bare node 202',
    target: { op: '<=', value: 50 },
    higherIsBetter: false,
  });
  process.stdout.write(
    `   hr: ${hr.completed} answered, ${hr.non2xx} non-2xx, ${hr.errors} errors; ` +
      `bare: ${base.completed} answered, ${base.non2xx} non-2xx (${RATE * DURATION_SEC} requested each)\n`,
  );
}
