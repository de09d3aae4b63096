import { ErrorCode, RevokerError } from '../domain/errors.ts';

/** Missing, malformed or wrong signature: the delivery is not from the vendor we share the secret with. */
export class SignatureInvalidError extends RevokerError {
  readonly code = ErrorCode.SignatureInvalid;
}

/** A correctly signed delivery whose timestamp is outside the accepted window (a replay, or a bad clock). */
export class SignatureStaleError extends RevokerError {
  readonly code = ErrorCode.SignatureStale;
}

/**
 * Fetching facts from an HR vendor's API failed. `retryable` (5xx, 429, network, and 401/403: the
 * credentials may be fixed while the vendor still retries) ⇒ the worker retries with backoff across the
 * vendor's redelivery span; otherwise (404, unreadable answer) retrying cannot help.
 */
export class VendorLookupError extends RevokerError {
  readonly code = ErrorCode.IdpBadResponse;
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
  }

  /** The vendor refused our credentials (401/403): the operator must fix them; we keep retrying. */
  get authFailure(): boolean {
    return this.status === 401 || this.status === 403;
  }
}
