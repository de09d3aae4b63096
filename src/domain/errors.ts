/**
 * Coded errors, in the style of bolt-js: every error Revoker raises on purpose carries a stable `code`,
 * one class per error, and `isCodedError` / `asCodedError` narrow unknown values.
 */
export const ErrorCode = {
  ConfigError: 'revoker_config_error',
  ValidationError: 'revoker_validation_error',
  NotFound: 'revoker_not_found',
  Forbidden: 'revoker_forbidden',
  Conflict: 'revoker_conflict',
  InvalidTransition: 'revoker_invalid_transition',
  Unsupported: 'revoker_unsupported',
  RateLimited: 'revoker_rate_limited',
  IdpRateLimited: 'idp_rate_limited',
  IdpTransient: 'idp_transient',
  IdpNotFound: 'idp_not_found',
  IdpUnauthorized: 'idp_unauthorized',
  IdpUnsupported: 'idp_unsupported',
  IdpBadResponse: 'idp_bad_response',
  SignatureInvalid: 'signature_invalid',
  SignatureStale: 'signature_stale',
  UnknownError: 'revoker_unknown_error',
  RedisNotReplicated: 'redis_not_replicated',
  MembershipUnavailable: 'slack_membership_unavailable',
  UnknownConnection: 'revoker_unknown_connection',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface CodedError extends Error {
  readonly code: ErrorCode;
}

export abstract class RevokerError extends Error implements CodedError {
  abstract readonly code: ErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ConfigError extends RevokerError {
  readonly code = ErrorCode.ConfigError;
  /** The environment variable (or CLI option) at fault. */
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

export class ValidationError extends RevokerError {
  readonly code = ErrorCode.ValidationError;
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
  ) {
    super(message);
  }
}

export class NotFoundError extends RevokerError {
  readonly code = ErrorCode.NotFound;
}

export class ForbiddenError extends RevokerError {
  readonly code = ErrorCode.Forbidden;
}

export class ConflictError extends RevokerError {
  readonly code = ErrorCode.Conflict;
}

export class InvalidTransitionError extends RevokerError {
  readonly code = ErrorCode.InvalidTransition;
  constructor(
    readonly from: string,
    readonly to: string,
  ) {
    super(`cannot move a request from ${from} to ${to}`);
  }
}

export class UnsupportedError extends RevokerError {
  readonly code = ErrorCode.Unsupported;
}

/** Too many requests from one requester in a short time (approval fatigue); try again later. */
export class RateLimitedError extends RevokerError {
  readonly code = ErrorCode.RateLimited;
}

/**
 * Who belongs to a Slack user group could not be learnt in time (usergroups.users.list failed, was rate
 * limited or too slow): access is neither granted nor refused for good; the person is asked to try again.
 */
export class MembershipUnavailableError extends RevokerError {
  readonly code = ErrorCode.MembershipUnavailable;
  constructor(message = 'Could not check your access right now (Slack did not answer in time); try again.') {
    super(message);
  }
}

export function isCodedError(err: unknown): err is CodedError {
  return (
    err instanceof Error &&
    typeof (err as Partial<CodedError>).code === 'string' &&
    Object.values(ErrorCode).includes((err as CodedError).code)
  );
}

class UnknownError extends RevokerError {
  readonly code = ErrorCode.UnknownError;
}

export function asCodedError(err: unknown): CodedError {
  if (isCodedError(err)) return err;
  if (err instanceof Error) return new UnknownError(err.message, { cause: err });
  return new UnknownError(String(err));
}
