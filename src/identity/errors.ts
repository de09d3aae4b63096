import { ErrorCode, RevokerError } from '../domain/errors.ts';

/**
 * What an IdP call can fail with. Workers decide from the class alone:
 * rate-limited ⇒ wait exactly `retryAfterMs`; transient ⇒ back off and retry; permanent ⇒ fail fast.
 */
export abstract class IdpError extends RevokerError {
  /** HTTP status the IdP answered, when there was an answer. */
  readonly status: number | undefined;
  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.status = options.status;
  }
  abstract readonly retryable: boolean;
}

export class IdpRateLimitedError extends IdpError {
  readonly code = ErrorCode.IdpRateLimited;
  readonly retryable = true;
  /** How long the IdP asked us to wait (Retry-After, X-Rate-Limit-Reset, …), in ms. */
  readonly retryAfterMs: number;
  constructor(message: string, options: { status?: number; retryAfterMs: number; cause?: unknown }) {
    super(message, options);
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** 5xx, timeouts, connection refused: try again later. */
export class IdpTransientError extends IdpError {
  readonly code = ErrorCode.IdpTransient;
  readonly retryable = true;
  /** When the IdP said how long to wait (a 503 with Retry-After), in ms; otherwise back off as usual. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: { status?: number; retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, options);
    this.retryAfterMs = options.retryAfterMs;
  }
}

export abstract class IdpPermanentError extends IdpError {
  readonly retryable = false;
}

export class IdpNotFoundError extends IdpPermanentError {
  readonly code = ErrorCode.IdpNotFound;
}

export class IdpUnauthorizedError extends IdpPermanentError {
  readonly code = ErrorCode.IdpUnauthorized;
}

export class IdpUnsupportedError extends IdpPermanentError {
  readonly code = ErrorCode.IdpUnsupported;
}

/** The IdP answered something we could not read (schema mismatch, 4xx we do not expect). */
export class IdpBadResponseError extends IdpPermanentError {
  readonly code = ErrorCode.IdpBadResponse;
}

export function isIdpError(err: unknown): err is IdpError {
  return err instanceof IdpError;
}
