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
 * Fetching facts from an HR vendor's API failed. `retryable` (5xx, 429, network) ⇒ the worker retries
 * with backoff; otherwise (401, 404, unreadable answer) retrying cannot help.
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
}
