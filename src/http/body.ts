import express, { type RequestHandler } from 'express';

/**
 * The raw body as a Buffer in `req.body`, whatever the content type, for routes that verify a
 * signature over the exact bytes (Slack, HR webhooks). Over `limit` ('1mb', '100kb') answers 413
 * through the error handler.
 */
export function rawBody(limit: string): RequestHandler {
  return express.raw({ type: () => true, limit });
}
