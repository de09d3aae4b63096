import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { ErrorCode, isCodedError } from '../domain/errors.ts';
import type { Logger } from '../log.ts';

/** The one JSON error shape every route of the service answers with: `{ error, message? }`. */
export interface JsonErrorBody {
  /** Stable, machine-readable code (`not_found`, `payload_too_large`, `revoker_forbidden`, …). */
  error: string;
  /** Human-readable reason; never echoes request bodies or secrets. */
  message?: string;
}

export function jsonError(res: Response, status: number, code: string, message?: string): void {
  const body: JsonErrorBody = message === undefined ? { error: code } : { error: code, message };
  res.status(status).json(body);
}

/** Final handler: anything no route claimed. */
export const notFound: RequestHandler = (_req, res) => {
  jsonError(res, 404, 'not_found');
};

/** Errors raised by body-parser (express.json / raw / urlencoded), by their `type`. */
const BODY_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  'entity.too.large': { status: 413, code: 'payload_too_large', message: 'request body exceeds the limit' },
  'entity.parse.failed': { status: 400, code: 'invalid_body', message: 'request body could not be parsed' },
  'entity.verify.failed': {
    status: 403,
    code: 'verification_failed',
    message: 'request body failed verification',
  },
  'encoding.unsupported': {
    status: 415,
    code: 'unsupported_encoding',
    message: 'content encoding not supported',
  },
  'charset.unsupported': { status: 415, code: 'unsupported_charset', message: 'charset not supported' },
  'request.aborted': { status: 400, code: 'request_aborted', message: 'request aborted by the client' },
  'request.size.invalid': { status: 400, code: 'invalid_body', message: 'body length does not match header' },
  'parameters.too.many': { status: 413, code: 'payload_too_large', message: 'too many parameters' },
};

/** Coded domain errors a router may pass to `next(err)`, and the status each answers with. */
const CODED_STATUS: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.ValidationError]: 400,
  [ErrorCode.SignatureInvalid]: 401,
  [ErrorCode.SignatureStale]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.InvalidTransition]: 409,
  [ErrorCode.Unsupported]: 422,
  [ErrorCode.RateLimited]: 429,
  // Too few replicas confirmed the write: retry later (it may not survive a failover yet).
  [ErrorCode.RedisNotReplicated]: 503,
};

interface HttpErrorLike {
  type?: unknown;
  status?: unknown;
  statusCode?: unknown;
  expose?: unknown;
}

/**
 * Last middleware: body-parser errors become 400/413/415 JSON with a reason, coded domain errors their
 * 4xx, anything else 500 `{error:'internal'}` (logged with its stack, never sent). The process keeps
 * serving either way. Parse errors are not logged with their message: it quotes the body.
 */
export function errorHandler(fallbackLogger: Logger): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    const log: Logger = res.locals.log ?? fallbackLogger;
    const like = (typeof err === 'object' && err !== null ? err : {}) as HttpErrorLike;
    if (res.headersSent) {
      // Too late for a JSON answer; cut the connection so the client sees a failure, not a truncated 200.
      log.error({ err }, 'error after response started');
      res.destroy();
      return;
    }
    // Coded first: a verifier throwing SignatureInvalid inside body-parser's `verify` stays a 401.
    if (isCodedError(err) && CODED_STATUS[err.code] !== undefined) {
      log.info({ code: err.code }, 'request refused');
      jsonError(res, CODED_STATUS[err.code]!, err.code, err.message);
      return;
    }
    if (err instanceof URIError) {
      // A path parameter with malformed %-encoding (e.g. `/webhooks/hr/%E0%A4%A`): the client's mistake.
      log.info({ reason: 'bad_path_encoding' }, 'request refused');
      jsonError(res, 400, 'invalid_path', 'the request path has malformed percent-encoding');
      return;
    }
    const bodyError = typeof like.type === 'string' ? BODY_ERRORS[like.type] : undefined;
    if (bodyError) {
      log.info({ reason: like.type }, 'request body refused');
      jsonError(res, bodyError.status, bodyError.code, bodyError.message);
      return;
    }
    const status = typeof like.status === 'number' ? like.status : like.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500 && like.expose === true) {
      // http-errors raised on purpose by middleware (e.g. 405s, 416s): safe to pass the status through.
      log.info({ status }, 'request refused');
      jsonError(res, status, 'bad_request');
      return;
    }
    log.error({ err }, 'unhandled error');
    jsonError(res, 500, 'internal');
  };
}
