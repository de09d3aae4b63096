import { ErrorCode, RevokerError } from '../domain/errors.ts';

/**
 * A job or request names a connection this process is not configured for (removed from IDP or
 * CONNECTIONS_FILE, or another process's): it fails visibly, never runs against another connection.
 */
export class UnknownConnectionError extends RevokerError {
  readonly code = ErrorCode.UnknownConnection;
  constructor(
    readonly connection: string,
    configured: readonly string[],
  ) {
    super(
      `connection "${connection}" is not configured here (configured: ${configured.join(', ') || 'none'}); it is never run against another connection`,
    );
  }
}
