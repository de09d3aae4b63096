import { App, ExpressReceiver } from '@slack/bolt';
import express, { type RequestHandler } from 'express';
import { ConfigError } from '../domain/errors.ts';
import { boltLogger } from './bolt-logger.ts';
import type { SlackDeps } from './deps.ts';
import { LeakedTokenHold } from './leaked-token-hold.ts';
import { register } from './register.ts';
import { slackRequestGuard } from './request-guard.ts';
import { OverlappingSocketModeReceiver } from './socket-mode-receiver.ts';

export interface SlackApp {
  app: App;
  /**
   * Mount at `POST /slack/events` (`server.use('/slack/events', handler)` or
   * `server.post('/slack/events', handler)`); it reads the raw body itself, so no body parser before it.
   * In Socket Mode it answers 404: Slack talks over the socket instead.
   */
  handler: RequestHandler;
  /** Socket Mode only: opens the WebSocket. */
  start?(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Builds the Bolt app. Every Web API call honours SLACK_API_URL (`clientOptions.slackApiUrl`), so tests
 * and the demo can point Slack at a local stand-in.
 */
export function createSlackApp(deps: SlackDeps): SlackApp {
  const { config } = deps;
  const logger = boltLogger(deps.logger);
  const clientOptions = {
    slackApiUrl: config.SLACK_API_URL,
    // A trigger_id lives 3 s: retrying a listener's call for minutes helps nobody. Queued messages
    // (slack-outbox) have their own retries.
    retryConfig: { retries: 1, factor: 1, minTimeout: 200, maxTimeout: 500 },
  };
  const listenerDeps = {
    intake: deps.intake,
    idp: deps.idp,
    ...(deps.connections ? { connections: deps.connections } : {}),
    logger: deps.logger,
    access: deps.access,
    ...(deps.refusals ? { refusals: deps.refusals } : {}),
    ...(deps.reportSummary ? { reportSummary: deps.reportSummary } : {}),
    ...(deps.leaked?.available ? { leaked: { service: deps.leaked, hold: new LeakedTokenHold() } } : {}),
  };

  if (config.SLACK_APP_TOKEN) {
    // Our own receiver, not Bolt's SocketModeReceiver: it opens the new connection before it closes the
    // old one when Slack sends `disconnect`, and never logs a payload (see OverlappingSocketModeReceiver).
    const receiver = new OverlappingSocketModeReceiver({
      appToken: config.SLACK_APP_TOKEN,
      clientOptions: { slackApiUrl: config.SLACK_API_URL },
      logger: deps.logger.child({ component: 'socket-mode' }),
    });
    const app = new App({
      token: config.SLACK_BOT_TOKEN,
      receiver,
      clientOptions,
      logger,
    });
    register(app, listenerDeps);
    const handler: RequestHandler = (_req, res) => {
      res.status(404).json({ ok: false, error: 'slack is in socket mode' });
    };
    return {
      app,
      handler,
      start: async () => {
        await app.start();
      },
      stop: async () => {
        await app.stop();
      },
    };
  }

  if (!config.SLACK_SIGNING_SECRET) {
    throw new ConfigError('SLACK_SIGNING_SECRET', 'is required for Slack over HTTP (or set SLACK_APP_TOKEN)');
  }
  const router = express.Router();
  // Both paths, so the handler works whether the server strips the mount path (use) or not (post).
  const paths = ['/', '/slack/events'];
  router.post(
    paths,
    ...slackRequestGuard({
      signingSecret: config.SLACK_SIGNING_SECRET,
      logger: deps.logger,
      metrics: deps.metrics,
      ...(deps.audit ? { audit: deps.audit } : {}),
      ...(deps.refusals ? { refusals: deps.refusals } : {}),
    }),
  );
  const receiver = new ExpressReceiver({
    signingSecret: config.SLACK_SIGNING_SECRET,
    endpoints: { root: '/', full: '/slack/events' },
    router,
    logger,
  });
  // Authorize from config, not with `token`: Bolt given a token without token verification (auth.test
  // on start-up would make the service depend on Slack being up) calls auth.test on *every* request,
  // before the listener runs — a Slack round trip ahead of each ack, on a rate-limited method. The
  // listeners need only the bot token (no bot id: there are no own messages to ignore). Without a
  // token Bolt refuses to start, as before.
  const botToken = config.SLACK_BOT_TOKEN;
  const app = new App({
    ...(botToken ? { authorize: async () => ({ botToken }) } : { token: botToken }),
    receiver,
    clientOptions,
    logger,
  });
  register(app, listenerDeps);
  return {
    app,
    handler: router,
    stop: async () => {},
  };
}
