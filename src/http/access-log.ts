import type { RequestHandler } from 'express';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';

/** `2xx`, `4xx`, …: bounded label values, unlike raw status codes. */
export function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}

/**
 * One access-log line and one histogram sample per request, when the response finishes or the client
 * goes away. Logs method, route group, status and duration only: URLs and query strings can carry
 * secrets (tokens, signatures), and bodies always can.
 */
export function accessLog(metrics: Metrics, fallbackLogger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    let done = false;
    const record = (aborted: boolean) => {
      if (done) return;
      done = true;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = res.locals.routeGroup ?? 'other';
      const status = aborted ? 'aborted' : statusClass(res.statusCode);
      metrics.http.observe({ route, status }, seconds);
      const log: Logger = res.locals.log ?? fallbackLogger;
      const line = { method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1e4) / 10 };
      if (aborted) log.info({ ...line, aborted: true }, 'request aborted');
      else log.info(line, 'request');
    };
    res.once('finish', () => record(false));
    // 'close' without 'finish' means the client left before the response was written.
    res.once('close', () => record(!res.writableFinished));
    next();
  };
}
