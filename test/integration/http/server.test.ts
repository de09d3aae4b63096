import { Writable } from 'node:stream';
import express from 'express';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/domain/errors.ts';
import {
  createHttpApp,
  type HttpAppOptions,
  type RunningHttpServer,
  rawBody,
  startHttpServer,
} from '../../../src/http/index.ts';
import { createMetrics } from '../../../src/metrics.ts';

/** A pino logger writing JSON lines into an array, to assert on what the server logs. */
function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

let running: RunningHttpServer | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function start(options: HttpAppOptions = {}): Promise<RunningHttpServer> {
  running = await startHttpServer(createHttpApp(options), { port: 0, host: '127.0.0.1' });
  return running;
}

describe('liveness, readiness, request ids', () => {
  it('GET /healthz answers 200 {status:"ok"} with a generated request id', async () => {
    const { url } = await start();
    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('echoes a safe x-request-id and replaces an unsafe one', async () => {
    const { url } = await start();
    const echoed = await fetch(`${url}/healthz`, { headers: { 'x-request-id': 'req-123.abc' } });
    expect(echoed.headers.get('x-request-id')).toBe('req-123.abc');
    const unsafe = await fetch(`${url}/healthz`, {
      headers: { 'x-request-id': `bad id ${'x'.repeat(100)}` },
    });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('GET /readyz answers 200 with each check when all pass', async () => {
    const { url } = await start({ readiness: { redis: async () => {}, idp: async () => {} } });
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready', checks: { redis: 'ok', idp: 'ok' } });
  });

  it('GET /readyz answers 503 naming a rejecting check and one that hangs past the timeout', async () => {
    const { url } = await start({
      readinessTimeoutMs: 50,
      readiness: {
        redis: async () => {},
        idp: () => Promise.reject(new Error('connect ECONNREFUSED')),
        slow: () => new Promise<void>(() => {}),
      },
    });
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body).toEqual({
      status: 'unready',
      checks: { redis: 'ok', idp: 'error', slow: 'timeout' },
      failing: ['idp', 'slow'],
    });
    expect(JSON.stringify(body)).not.toContain('ECONNREFUSED');
  });
});

describe('body errors and failures through the error handler', () => {
  function echoRouter() {
    const router = express.Router();
    router.post('/', express.json({ limit: '1kb' }), (req, res) => {
      res.status(200).json({ got: req.body });
    });
    return router;
  }

  it('413 for an oversized JSON body, 400 for malformed JSON, then serves the next request', async () => {
    const { url } = await start({ mounts: [{ path: '/echo', handler: echoRouter(), group: 'echo' }] });
    const json = { 'content-type': 'application/json' };
    const big = await fetch(`${url}/echo`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ pad: 'x'.repeat(2048) }),
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({
      error: 'payload_too_large',
      message: 'request body exceeds the limit',
    });

    const bad = await fetch(`${url}/echo`, { method: 'POST', headers: json, body: '{"secret": nope' });
    expect(bad.status).toBe(400);
    const badBody = (await bad.json()) as { error: string };
    expect(badBody.error).toBe('invalid_body');
    expect(JSON.stringify(badBody)).not.toContain('nope');

    const ok = await fetch(`${url}/echo`, { method: 'POST', headers: json, body: '{"a":1}' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ got: { a: 1 } });
  });

  it('rawBody gives mounted routes the exact bytes whatever the content type (no global parser), 413 over limit', async () => {
    const router = express.Router();
    router.post('/', rawBody('1kb'), (req, res) => {
      const body = req.body as Buffer;
      res.status(202).json({ isBuffer: Buffer.isBuffer(body), hex: body.toString('hex') });
    });
    const { url } = await start({ mounts: [{ path: '/raw', handler: router, group: 'raw' }] });
    const exact = '{ "a" :1 }';
    const res = await fetch(`${url}/raw`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: exact,
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ isBuffer: true, hex: Buffer.from(exact).toString('hex') });
    const big = await fetch(`${url}/raw`, { method: 'POST', body: 'x'.repeat(1025) });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: string }).error).toBe('payload_too_large');
  });

  it('a throwing handler (sync or async) gives 500 {error:"internal"} without a stack; the next request works', async () => {
    const { logger, lines } = captureLogger();
    const router = express.Router();
    router.get('/sync', () => {
      throw new Error('boom sync');
    });
    router.get('/async', async () => {
      throw new Error('boom async');
    });
    const { url } = await start({ logger, mounts: [{ path: '/fail', handler: router, group: 'fail' }] });
    for (const path of ['/fail/sync', '/fail/async']) {
      const res = await fetch(`${url}${path}`);
      expect(res.status).toBe(500);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({ error: 'internal' });
      expect(text).not.toContain('boom');
    }
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const errors = lines.filter((l) => l.msg === 'unhandled error');
    expect(errors).toHaveLength(2);
    expect(errors.every((l) => typeof l.reqId === 'string')).toBe(true);
  });

  it('coded domain errors passed to next() keep their 4xx and code', async () => {
    const router = express.Router();
    router.get('/', (_req, _res, next) => next(new ValidationError('target is required')));
    const { url } = await start({ mounts: [{ path: '/coded', handler: router, group: 'coded' }] });
    const res = await fetch(`${url}/coded`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'revoker_validation_error', message: 'target is required' });
  });

  it('unknown routes answer a JSON 404', async () => {
    const { url } = await start();
    const res = await fetch(`${url}/nope?token=abc`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'not_found' });
  });
});

describe('access log and request metrics', () => {
  it('logs one line per request with reqId, method, route group, status and ms; never the query string', async () => {
    const { logger, lines } = captureLogger();
    const metrics = createMetrics();
    const { url } = await start({ logger, metrics });
    await fetch(`${url}/healthz?token=super-secret-query`, { headers: { 'x-request-id': 'trace-1' } });
    await fetch(`${url}/missing?signature=sig-value`);
    const access = lines.filter((l) => l.msg === 'request');
    expect(access).toHaveLength(2);
    expect(access[0]).toMatchObject({ reqId: 'trace-1', method: 'GET', route: 'health', status: 200 });
    expect(typeof access[0]!.ms).toBe('number');
    expect(access[1]).toMatchObject({ method: 'GET', route: 'other', status: 404 });
    const all = JSON.stringify(lines);
    expect(all).not.toContain('super-secret-query');
    expect(all).not.toContain('sig-value');
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/revoker_http_request_duration_seconds_count\{route="health",status="2xx"\} 1/);
    expect(text).toMatch(/revoker_http_request_duration_seconds_count\{route="other",status="4xx"\} 1/);
  });
});

describe('graceful close', () => {
  it('finishes an in-flight request with Connection: close, then stops listening', async () => {
    const entered = deferred();
    const release = deferred();
    const router = express.Router();
    router.get('/', async (_req, res) => {
      entered.resolve();
      await release.promise;
      res.status(200).json({ done: true });
    });
    const server = await start({ mounts: [{ path: '/slow', handler: router, group: 'slow' }] });
    const pending = fetch(`${server.url}/slow`);
    await entered.promise;
    const closed = server.close();
    release.resolve();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.headers.get('connection')).toBe('close');
    expect(await res.json()).toEqual({ done: true });
    await closed;
    expect(server.server.listening).toBe(false);
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  it('cuts requests still running after the shutdown timeout', async () => {
    const entered = deferred();
    const router = express.Router();
    router.get('/', async () => {
      entered.resolve();
      await new Promise(() => {});
    });
    const app = createHttpApp({ mounts: [{ path: '/stuck', handler: router, group: 'stuck' }] });
    running = await startHttpServer(app, { port: 0, host: '127.0.0.1', shutdownTimeoutMs: 50 });
    const pending = fetch(`${running.url}/stuck`);
    await entered.promise;
    await running.close();
    await expect(pending).rejects.toThrow();
  });
});
