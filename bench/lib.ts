import http from 'node:http';
/**
 * Benchmark harness.
 *
 * Every `bench/<name>.bench.ts` exports `default async function run(): Promise<void>`; `npm run bench`
 * runs them all in file-name order, `npm run bench -- http hr` only the named ones (see bench/run.ts).
 *
 * A bench measures its figure AND a baseline in the same run, on the same machine, and prints both with
 * `printFigure`, so the ratio means something even on a noisy laptop or CI box. Typical shape:
 *
 * ```ts
 * import { fixedRateLoad, printFigure, printHeader } from './lib.ts';
 * export default async function run(): Promise<void> {
 *   printHeader('hr webhooks');
 *   const base = await fixedRateLoad({ url: bareUrl, rate: 500, durationSec: 5 });
 *   const hr = await fixedRateLoad({
 *     url: `${serviceUrl}/webhooks/hr/standard`, method: 'POST', rate: 500, durationSec: 5,
 *     bodies: (i) => sign({ type: 'employee.terminated', data: { employeeId: `E${i}` } }), // fresh per request
 *   });
 *   printFigure({ name: 'hr p99', value: hr.p99Ms, unit: 'ms', baseline: base.p99Ms,
 *     baselineName: 'bare http', target: { op: '<=', value: 50 }, higherIsBetter: false });
 * }
 * ```
 *
 * `fixedRateLoad` drives autocannon at a fixed overall rate rather than flat out, so p50/p99 describe a
 * service under a stated load and compare across runs. Mind autocannon's metering: each connection gets
 * `rate / connections` requests per second and sends them back-to-back (one in flight at a time), then
 * idles until the next second; latencies are thus those of `connections` concurrent clients in bursts.
 * Percentiles come from every response's exact time (autocannon's own histogram rounds to whole ms).
 * The load generator shares the process (and the 2 cores) with in-process servers: compare against the
 * baseline from the same run, not against absolute numbers from another machine.
 * Benches clean up what they start (servers, Redis keys, workers); the runner exits when all are done.
 */
import autocannon from 'autocannon';

export interface PreparedRequest {
  body: string | Buffer;
  /** Merged over the load's `headers`, e.g. a fresh signature and timestamp. */
  headers?: Record<string, string>;
}

export interface FixedRateOptions {
  url: string;
  /** Default `GET`. */
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Sent with every request. Default none. */
  headers?: Record<string, string>;
  /** One body for every request. Ignored when `bodies` is given. */
  body?: string | Buffer;
  /**
   * Called once per request (index from 0) for its body, or body plus headers, so each request can
   * carry a fresh signature, timestamp or id.
   */
  bodies?: (index: number) => string | Buffer | PreparedRequest;
  /** Requests per second over all connections. */
  rate: number;
  durationSec: number;
  /** Concurrent connections (capped at `rate` by autocannon). Default 10. */
  connections?: number;
  /** Unmeasured run before the measured one, to warm the JIT and connection pools. Default 0. */
  warmupSec?: number;
  /** A request taking longer than this counts as an error. Default 10 s. */
  timeoutSec?: number;
}

export interface LoadResult {
  /** Requests written to the wire. */
  sent: number;
  /** Responses received (any status). */
  completed: number;
  /** Responses outside 2xx. */
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  p50Ms: number;
  p99Ms: number;
  /** Completed responses per second over the measured duration. */
  rps: number;
}

function isPrepared(value: string | Buffer | PreparedRequest): value is PreparedRequest {
  return typeof value === 'object' && !Buffer.isBuffer(value);
}

/** Nearest-rank percentile of ascending `sorted`; 0 when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** The figures of one autocannon run, from its raw latency samples (ms) and the seconds it took. */
function summarise(result: autocannon.Result, samples: number[], seconds: number): LoadResult {
  samples.sort((a, b) => a - b);
  return {
    sent: result.requests.sent,
    completed: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    p50Ms: percentile(samples, 0.5),
    p99Ms: percentile(samples, 0.99),
    rps: result.requests.total / Math.max(seconds, 1e-9),
  };
}

/** How one autocannon run ends: after `durationSec`, or once exactly `rate × durationSec` were answered. */
export interface RunShape {
  durationSec: number;
  /** Send exactly `rate × durationSec` requests and wait for every answer (none cut off in flight). */
  exact?: boolean;
  /** Called with each response's status. */
  onStatus?: (status: number) => void;
}

/** One autocannon run at `options.rate`; `index` numbers requests across runs (fresh bodies). */
export async function runAutocannon(
  options: FixedRateOptions,
  shape: RunShape,
  index: { next: number } = { next: 0 },
): Promise<LoadResult> {
  const bodies = options.bodies;
  const baseHeaders = options.headers ?? {};
  // autocannon's histogram rounds to whole milliseconds; sub-millisecond figures need the raw samples.
  const samples: number[] = [];
  const started = process.hrtime.bigint();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        method: options.method ?? 'GET',
        headers: baseHeaders,
        body: bodies ? undefined : options.body,
        overallRate: options.rate,
        ...(shape.exact
          ? { amount: Math.round(options.rate * shape.durationSec) }
          : { duration: shape.durationSec }),
        connections: options.connections ?? 10,
        timeout: options.timeoutSec ?? 10,
        requests: bodies
          ? [
              {
                setupRequest: (request) => {
                  const prepared = bodies(index.next++);
                  if (!isPrepared(prepared)) return { ...request, body: prepared };
                  return {
                    ...request,
                    body: prepared.body,
                    headers: { ...baseHeaders, ...prepared.headers },
                  };
                },
              },
            ]
          : undefined,
      },
      // autocannon types its callback error as any; it is an Error or null.
      (err: unknown, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on('response', (_client, status, _bytes, responseTime) => {
      samples.push(responseTime);
      shape.onStatus?.(status);
    });
  });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  // An exact run's last share goes out at `durationSec - 1`: a service that keeps up finishes within
  // `durationSec`; one that lags stretches the run, and the rate falls accordingly.
  return summarise(result, samples, shape.exact ? Math.max(elapsed, shape.durationSec) : result.duration);
}

/**
 * Open-loop, evenly paced load: request `i` is sent at `start + i / rate` whatever happened to earlier
 * ones (autocannon's `overallRate` sends each connection's share of a second in a burst, which measures a
 * burst of `rate` simultaneous requests rather than `rate` requests per second). Latency is counted from
 * the scheduled send time, so a server that falls behind is charged for the wait (no coordinated
 * omission). Keep-alive sockets, at most `connections` at once.
 */
export async function pacedLoad(options: FixedRateOptions): Promise<LoadResult> {
  const run = async (durationSec: number): Promise<LoadResult> => {
    const url = new URL(options.url);
    const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections ?? 10 });
    const total = Math.round(options.rate * durationSec);
    const samples: number[] = [];
    let completed = 0;
    let non2xx = 0;
    let errors = 0;
    const start = performance.now() + 20;
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / options.rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const prepared = options.bodies ? options.bodies(i) : (options.body ?? '');
      const body = isPrepared(prepared) ? prepared.body : prepared;
      const headers = { ...options.headers, ...(isPrepared(prepared) ? prepared.headers : {}) };
      inFlight.push(
        new Promise<void>((resolve) => {
          const req = http.request(
            url,
            { method: options.method ?? 'GET', headers, agent, timeout: (options.timeoutSec ?? 10) * 1000 },
            (res) => {
              res.resume();
              res.on('end', () => {
                samples.push(performance.now() - due);
                completed++;
                if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) non2xx++;
                resolve();
              });
            },
          );
          req.on('error', () => {
            errors++;
            resolve();
          });
          req.on('timeout', () => req.destroy(new Error('timeout')));
          req.end(body);
        }),
      );
    }
    await Promise.all(inFlight);
    const elapsed = (performance.now() - start) / 1000;
    agent.destroy();
    samples.sort((a, b) => a - b);
    return {
      sent: total,
      completed,
      non2xx,
      errors,
      p50Ms: percentile(samples, 0.5),
      p99Ms: percentile(samples, 0.99),
      rps: completed / Math.max(elapsed, durationSec),
    };
  };
  if ((options.warmupSec ?? 0) > 0) await run(options.warmupSec!);
  return run(options.durationSec);
}

/** Drives `url` at a fixed overall rate for `durationSec` and reports latency and throughput. */
export async function fixedRateLoad(options: FixedRateOptions): Promise<LoadResult> {
  const index = { next: 0 };
  if ((options.warmupSec ?? 0) > 0) await runAutocannon(options, { durationSec: options.warmupSec! }, index);
  return runAutocannon(options, { durationSec: options.durationSec }, index);
}

export interface FigureOptions {
  name: string;
  value: number;
  unit: string;
  /** The same quantity for the baseline, measured in the same run. */
  baseline: number;
  baselineName: string;
  /** Absolute objective (e.g. p99 <= 50 ms); without it the line says `-` instead of PASS/MISS. */
  target?: { op: '>=' | '<='; value: number };
  higherIsBetter: boolean;
}

export interface Figure extends FigureOptions {
  /** value / baseline (Infinity when the baseline is 0 and the value is not). */
  ratio: number;
  /** Undefined without a target. */
  pass?: boolean;
}

function fmt(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  return abs >= 100 ? value.toFixed(0) : abs >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/** Prints a section title, so a run's output reads as one block per bench. */
export function printHeader(title: string): void {
  process.stdout.write(`\n== ${title} ==\n`);
}

/**
 * Prints one aligned line: figure, baseline, ratio (and whether that is better or worse), target and
 * PASS/MISS. Returns the figure so a bench can also assert or aggregate.
 */
export function printFigure(options: FigureOptions): Figure {
  const { name, value, unit, baseline, baselineName, target, higherIsBetter } = options;
  const ratio = baseline === 0 ? (value === 0 ? 1 : Number.POSITIVE_INFINITY) : value / baseline;
  const better = higherIsBetter ? ratio >= 1 : ratio <= 1;
  const pass = target ? (target.op === '>=' ? value >= target.value : value <= target.value) : undefined;
  const verdict = pass === undefined ? '-' : pass ? 'PASS' : 'MISS';
  const targetText = target ? `target ${target.op} ${fmt(target.value)} ${unit}` : 'no target';
  const line = [
    name.padEnd(30),
    `${fmt(value)} ${unit}`.padStart(14),
    `  vs ${baselineName.padEnd(16)}`,
    `${fmt(baseline)} ${unit}`.padStart(14),
    `  x${fmt(ratio)} ${better ? '(better)' : '(worse) '}`.padEnd(20),
    `  ${targetText}`.padEnd(24),
    `  ${verdict}`,
  ].join('');
  process.stdout.write(`${line}\n`);
  return { ...options, ratio, pass };
}

export interface ClosedLoadOptions {
  /** Origin, e.g. `http://127.0.0.1:4000`; each request's path comes from `paths`. */
  url: string;
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers?: Record<string, string>;
  /** Path (with query) of request `index`, from 0 to `amount - 1`. */
  paths: (index: number) => string;
  /** Requests in all; the run ends when every one has been answered. */
  amount: number;
  /** Keep-alive connections, each with one request in flight at a time. Default 10. */
  connections?: number;
  timeoutSec?: number;
}

/**
 * Sends exactly `amount` requests flat out over `connections` keep-alive connections (a closed loop: a
 * connection sends its next request as soon as the previous one is answered), so `rps` is the server's
 * capacity at that concurrency rather than an offered rate.
 */
export async function closedLoad(options: ClosedLoadOptions): Promise<LoadResult> {
  let index = 0;
  const samples: number[] = [];
  const started = process.hrtime.bigint();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        amount: options.amount,
        connections: options.connections ?? 10,
        timeout: options.timeoutSec ?? 10,
        requests: [
          {
            setupRequest: (request) => ({ ...request, path: options.paths(index++) }),
          },
        ],
      },
      (err: unknown, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => samples.push(responseTime));
  });
  return summarise(result, samples, Number(process.hrtime.bigint() - started) / 1e9);
}

/** The share of IdP calls answered 429, against the ≤ 2 % target (DESIGN §8). */
export function print429Share(calls: number, limited: number): Figure {
  return printFigure({
    name: 'calls answered 429',
    value: calls === 0 ? 0 : (100 * limited) / calls,
    unit: '%',
    baseline: 0,
    baselineName: 'none',
    target: { op: '<=', value: 2 },
    higherIsBetter: false,
  });
}

/** A person's request while a batch runs, beside its idle time: the time, and the ratio against ≤ ×2 (issue 22). */
export function printUrgentFigures(atSeconds: number, seconds: number, idleSeconds: number): void {
  printFigure({
    name: `urgent, ${atSeconds} s into the batch`,
    value: seconds,
    unit: 's',
    baseline: idleSeconds,
    baselineName: 'idle (median)',
    higherIsBetter: false,
  });
  printFigure({
    name: 'urgent ÷ idle',
    value: seconds / idleSeconds,
    unit: 'x',
    baseline: 1,
    baselineName: 'idle',
    target: { op: '<=', value: 2 },
    higherIsBetter: false,
  });
}
