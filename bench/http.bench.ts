/**
 * HTTP overhead of the service's express composition (request id, child logger, access log, histogram,
 * JSON 404/error handling) against a bare Node `http` server, both at the same fixed rate in this
 * process. Targets: p99 <= 50 ms (the Slack ack budget, DESIGN §8) and the offered rate sustained.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import express from 'express';
import { pino } from 'pino';
import { createHttpApp, startHttpServer } from '../src/http/index.ts';
import { createMetrics } from '../src/metrics.ts';
import { fixedRateLoad, type LoadResult, printFigure, printHeader } from './lib.ts';

const RATE = Number(process.env.BENCH_HTTP_RATE ?? 1000);
const DURATION_SEC = Number(process.env.BENCH_HTTP_DURATION ?? 5);
const WARMUP_SEC = 1;

async function startBare(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(202, { 'content-type': 'application/json' });
    res.end('{"status":"accepted"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function compare(label: string, result: LoadResult, base: LoadResult): void {
  printFigure({
    name: `${label} p50`,
    value: result.p50Ms,
    unit: 'ms',
    baseline: base.p50Ms,
    baselineName: 'bare node 202',
    higherIsBetter: false,
  });
  printFigure({
    name: `${label} p99`,
    value: result.p99Ms,
    unit: 'ms',
    baseline: base.p99Ms,
    baselineName: 'bare node 202',
    target: { op: '<=', value: 50 },
    higherIsBetter: false,
  });
  printFigure({
    name: `${label} throughput`,
    value: result.rps,
    unit: 'req/s',
    baseline: base.rps,
    baselineName: 'bare node 202',
    target: { op: '>=', value: RATE * 0.95 },
    higherIsBetter: true,
  });
  if (result.non2xx > 0 || result.errors > 0) {
    process.stdout.write(
      `   ${label}: ${result.non2xx} non-2xx, ${result.errors} errors of ${result.sent} sent\n`,
    );
  }
}

export default async function run(): Promise<void> {
  printHeader(`http: express composition vs bare node http, ${RATE} req/s for ${DURATION_SEC} s each`);
  // Info-level logging into a discarding stream: the access-log cost is part of what is measured.
  const sink = new Writable({ write: (_chunk, _enc, done) => done() });
  const echo = express.Router();
  echo.post('/', express.json({ limit: '64kb' }), (_req, res) => {
    res.status(202).json({ status: 'accepted' });
  });
  const app = createHttpApp({
    logger: pino({ level: 'info' }, sink),
    metrics: createMetrics(),
    readiness: { noop: async () => {} },
    mounts: [{ path: '/echo', handler: echo, group: 'echo' }],
  });
  const bare = await startBare();
  const service = await startHttpServer(app, { port: 0, host: '127.0.0.1' });
  const load = { rate: RATE, durationSec: DURATION_SEC, warmupSec: WARMUP_SEC, connections: 10 };
  try {
    const base = await fixedRateLoad({ url: `${bare.url}/`, ...load });
    const healthz = await fixedRateLoad({ url: `${service.url}/healthz`, ...load });
    const json = await fixedRateLoad({
      url: `${service.url}/echo`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      bodies: (i) =>
        JSON.stringify({ id: `req_${i}`, target: { kind: 'token', userId: 'u_1', tokenId: `tok_${i}` } }),
      ...load,
    });
    compare('GET /healthz', healthz, base);
    compare('POST /echo json', json, base);
  } finally {
    await service.close();
    await bare.close();
  }
}
