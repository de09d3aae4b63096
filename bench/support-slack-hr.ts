/**
 * Shared by bench/slack.bench.ts and bench/hr.bench.ts: the whole service on a random Redis prefix (as
 * `revoker serve --role …` runs it, configured through env vars), logging at info level into a
 * discarding stream so the access log's cost is measured; a no-op Slack Web API; a bare 202 server;
 * and a fixed-rate load that sends an exact number of requests and waits for every answer, so the
 * 2xx answers can be checked one for one against what the service stored.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { REDACT_PATHS } from '../src/log.ts';
import type { Role } from '../src/service.ts';
import { startTestService, type TestService } from '../test/helpers/service.ts';
import { type FixedRateOptions, type LoadResult, runAutocannon } from './lib.ts';

export type BenchService = TestService;

/**
 * The service with embedded IDaaS on a fresh `bench-…` Redis prefix (`close()` deletes its keys), logging
 * at info into a discarding stream so the access log's cost is measured.
 */
export function startBenchService(env: Record<string, string>, role: Role): Promise<BenchService> {
  const sink = new Writable({ write: (_chunk, _enc, done) => done() });
  const logger = pino({ level: 'info', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink);
  return startTestService({ LOG_LEVEL: 'info', ...env }, { role, logger, prefixLabel: 'bench' });
}

export interface LocalServer {
  url: string;
  /** Requests served so far. */
  readonly hits: number;
  /** Requests served so far whose path starts with `prefix`. */
  hitsOn(prefix: string): number;
  close(): Promise<void>;
}

/** A plain `http` server answering every request with `status` and `body` once the request body is read. */
export async function startPlainServer(status: number, body: string): Promise<LocalServer> {
  let hits = 0;
  const byPath = new Map<string, number>();
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hits++;
      const path = req.url ?? '/';
      byPath.set(path, (byPath.get(path) ?? 0) + 1);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get hits() {
      return hits;
    },
    hitsOn: (prefix) => {
      let n = 0;
      for (const [path, count] of byPath) if (path.startsWith(prefix)) n += count;
      return n;
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Stand-in for the Slack Web API and `response_url`s: real HTTP, `{ok:true}` for anything. */
export function startNoopSlackApi(): Promise<LocalServer> {
  return startPlainServer(200, '{"ok":true}');
}

export interface ExactLoadResult extends LoadResult {
  /** Responses by status code. */
  statuses: Map<number, number>;
}

/**
 * Like `fixedRateLoad` (same metering: `rate` over `connections`, each sending its share back-to-back),
 * but sends exactly `rate × durationSec` requests and resolves only when each has been answered (or has
 * failed), so no request is cut off in flight at the end: every 2xx can be matched against the store.
 * The warm-up, if any, is a separate exact run whose statuses are added to the result's `statuses`.
 */
export async function exactRateLoad(
  options: Omit<FixedRateOptions, 'connections'> & { connections?: number },
): Promise<ExactLoadResult> {
  const statuses = new Map<number, number>();
  const onStatus = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);
  const index = { next: 0 };
  if ((options.warmupSec ?? 0) > 0) {
    await runAutocannon(options, { durationSec: options.warmupSec!, exact: true, onStatus }, index);
  }
  const measured = await runAutocannon(
    options,
    { durationSec: options.durationSec, exact: true, onStatus },
    index,
  );
  return { ...measured, statuses };
}
