import { ErrorCode, RevokerError } from '../domain/errors.ts';

/**
 * Fewer replicas than `REDIS_MIN_REPLICAS_ACK` confirmed a write within `REDIS_WAIT_TIMEOUT_MS`. The write
 * may be lost in a failover, so nobody outside is told it succeeded: HTTP callers get 503 and retry.
 */
export class NotReplicatedError extends RevokerError {
  readonly code = ErrorCode.RedisNotReplicated;
  /** Retry later: a replica may be catching up, or Sentinel promoting one. */
  readonly retryable = true;
  constructor(
    readonly wanted: number,
    readonly acknowledged: number,
  ) {
    super(`Redis: ${acknowledged} of ${wanted} replica(s) confirmed the write in time`);
  }
}
