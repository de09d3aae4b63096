import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type RequestHandler } from 'express';

/** A Slack app's HTTP handler served at `/slack/events` on a free loopback port, as `serve` mounts it. */
export async function serveSlackEvents(
  handler: RequestHandler,
): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  app.use('/slack/events', handler);
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
