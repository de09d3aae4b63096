import { randomUUID } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import type { Logger } from '../log.ts';

export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * What a caller may choose as request id: short, and only characters that cannot forge log lines or
 * headers. Anything else is replaced by a fresh UUID rather than sanitised, so ids stay trustworthy.
 */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

declare global {
  namespace Express {
    // Typed per-request context every router can rely on (set by `requestContext`).
    interface Locals {
      /** The request id (echoed in `x-request-id`). */
      requestId: string;
      /** Child logger carrying `reqId`; log through it so every line of a request can be found. */
      log: Logger;
      /** Metrics / access-log label of the route group that handled the request (default `other`). */
      routeGroup: string;
    }
  }
}

export function isSafeRequestId(value: unknown): value is string {
  return typeof value === 'string' && SAFE_REQUEST_ID.test(value);
}

/** Accepts a safe incoming `x-request-id` or generates one; echoes it; attaches a child logger. */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.headers[REQUEST_ID_HEADER];
    const requestId = isSafeRequestId(incoming) ? incoming : randomUUID();
    res.setHeader(REQUEST_ID_HEADER, requestId);
    res.locals.requestId = requestId;
    res.locals.log = logger.child({ reqId: requestId });
    res.locals.routeGroup ??= 'other';
    next();
  };
}

/** Labels the rest of the request with a route group (for metrics and the access log). */
export function routeGroup(group: string): RequestHandler {
  return (_req, res, next) => {
    res.locals.routeGroup = group;
    next();
  };
}

/** The request's logger, for code that only holds the response. */
export function requestLog(res: Response): Logger {
  return res.locals.log;
}
