/** An admin API failure with its HTTP status and stable `error` code (see AdminErrorBody). */
export class AdminHttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new AdminHttpError(404, 'not_found', `${what} not found`);
export const invalidRequest = (message: string) => new AdminHttpError(400, 'invalid_request', message);
