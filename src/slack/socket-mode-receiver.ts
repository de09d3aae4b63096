import type { App, Receiver, ReceiverEvent } from '@slack/bolt';
import { WebClient, type WebClientOptions } from '@slack/web-api';
import WebSocket from 'ws';
import { z } from 'zod';
import type { Logger } from '../log.ts';

/**
 * What Slack sends over a Socket Mode connection (https://docs.slack.dev/apis/events-api/using-socket-mode):
 * `hello` once connected, `disconnect` with a reason, and envelopes (`slash_commands`, `interactive`,
 * `events_api`) to acknowledge by `envelope_id` within 3 seconds.
 */
const FrameSchema = z.looseObject({
  type: z.string(),
  reason: z.string().optional(),
  envelope_id: z.string().optional(),
  payload: z.record(z.string(), z.unknown()).optional(),
  retry_attempt: z.number().optional(),
  retry_reason: z.string().optional(),
});

export interface OverlappingSocketModeReceiverOptions {
  /** App-level token (`xapp-…`, scope `connections:write`) for `apps.connections.open`. */
  appToken: string;
  /** Web API options (SLACK_API_URL) for `apps.connections.open`. */
  clientOptions?: WebClientOptions;
  logger: Logger;
  /** How often we ping Slack (and look at what we last heard). Default 10,000 ms. */
  pingIntervalMs?: number;
  /**
   * A connection we heard nothing from (no frame, ping or pong) for this long is replaced (a half-open
   * socket after a NAT drop never says it is gone). Default 30,000 ms, as @slack/socket-mode's serverPingTimeout.
   */
  silenceMs?: number;
  /** How long `hello` may take after the WebSocket opens. Default 10,000 ms. */
  helloTimeoutMs?: number;
  /** First delay before retrying a failed connection; doubles up to 30 s. Default 1,000 ms. */
  retryDelayMs?: number;
  /**
   * How long a connection Slack asked us to leave stays open after its replacement said hello, for acks
   * still to come from listeners (Slack gives 3 s). Default 3,000 ms.
   */
  drainMs?: number;
}

interface Connection {
  readonly id: number;
  readonly ws: WebSocket;
  ready: boolean;
  /** Slack asked us to leave it (`disconnect`): a replacement is opened before it is closed. */
  draining: boolean;
  lastHeard: number;
  /** Envelopes delivered on it and not yet acknowledged. */
  unacked: number;
}

/** Permanent `apps.connections.open` errors (https://docs.slack.dev/reference/methods/apps.connections.open). */
const FATAL_OPEN_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'not_allowed_token_type',
  'missing_scope',
  'no_permission',
  'invalid_arguments',
]);

/**
 * A Bolt receiver for Socket Mode that never leaves a gap without a connection. @slack/socket-mode 3.1.0
 * (Bolt 5.1's) closes its socket when Slack sends `disconnect` and only then waits `clientPingTimeout`
 * (5 s) before it asks for a new URL: a slash command or a click in those seconds is lost, and Slack
 * retries neither ("dispatch_failed"). This one opens the new connection first and closes the old one
 * once the new one said `hello` and the old one's pending acks went out:
 *
 * - `warning` / `refresh_requested` (Slack recycles connections every few hours): replace, overlapping.
 * - `too_many_websockets` (over Slack's 10 connections per app): close that one; reconnect only if
 *   nothing else is connected, after a back-off.
 * - `link_disabled` (Socket Mode turned off in the app settings): close, do not reconnect, log an error.
 * - a silent connection (no frame, ping or pong for `silenceMs`) is replaced the same way.
 *
 * Each ack goes out on the connection that delivered the envelope. Nothing here logs a payload: a view
 * submission can carry a pasted token value, so only types, reasons and envelope ids reach the log.
 */
export class OverlappingSocketModeReceiver implements Receiver {
  private app: App | undefined;
  private readonly web: WebClient;
  private readonly connections = new Set<Connection>();
  private readonly logger: Logger;
  private readonly pingIntervalMs: number;
  private readonly silenceMs: number;
  private readonly helloTimeoutMs: number;
  private readonly retryDelayMs: number;
  private readonly drainMs: number;
  private stopped = true;
  private linkDisabled = false;
  private opening: Promise<Connection> | undefined;
  private pinger: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private seq = 0;

  constructor(options: OverlappingSocketModeReceiverOptions) {
    this.logger = options.logger;
    this.pingIntervalMs = options.pingIntervalMs ?? 10_000;
    this.silenceMs = options.silenceMs ?? 30_000;
    this.helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
    this.retryDelayMs = options.retryDelayMs ?? 1_000;
    this.drainMs = options.drainMs ?? 3_000;
    // One quick retry for apps.connections.open itself; reconnecting has its own back-off below.
    this.web = new WebClient(undefined, {
      ...options.clientOptions,
      headers: { Authorization: `Bearer ${options.appToken}` },
      retryConfig: { retries: 1, factor: 1, minTimeout: 200, maxTimeout: 500 },
      timeout: 10_000,
    });
  }

  init(app: App): void {
    this.app = app;
  }

  /** Connects; resolves once Slack said `hello` on the first connection. */
  async start(): Promise<void> {
    this.stopped = false;
    this.linkDisabled = false;
    // Slack briefly away at start-up is waited out (as @slack/socket-mode does, with up to 100 retries of
    // apps.connections.open); a refusal for good (a wrong or revoked app-level token) fails at once.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.open();
        break;
      } catch (err) {
        if (isFatal(err) || attempt >= 100 || this.stopped) throw err;
        this.logger.warn({ err: codeOf(err), attempt }, 'socket mode: could not connect yet, retrying');
        const delay = Math.min(30_000, this.retryDelayMs * 2 ** Math.min(attempt, 5));
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
    this.pinger = setInterval(() => this.keepAlive(), this.pingIntervalMs);
    this.pinger.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pinger);
    clearTimeout(this.retryTimer);
    const closing = [...this.connections].map((c) => this.close(c));
    this.connections.clear();
    await Promise.all(closing);
  }

  /** Open connections that said hello and that Slack did not ask us to leave (for tests and health). */
  get liveConnections(): number {
    return [...this.connections].filter((c) => c.ready && !c.draining).length;
  }

  /** One new connection at a time: a second `disconnect` while one opens waits for that one. */
  private open(): Promise<Connection> {
    this.opening ??= this.connect().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private async connect(): Promise<Connection> {
    const res = await this.web.apps.connections.open({});
    if (!res.url) throw new Error('apps.connections.open answered without a url');
    const ws = new WebSocket(res.url);
    const conn: Connection = {
      id: ++this.seq,
      ws,
      ready: false,
      draining: false,
      lastHeard: Date.now(),
      unacked: 0,
    };
    this.connections.add(conn);
    const hello = new Promise<Connection>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no hello within ${this.helloTimeoutMs} ms`));
        ws.terminate();
      }, this.helloTimeoutMs);
      ws.on('message', (data, isBinary) => {
        conn.lastHeard = Date.now();
        if (isBinary) return;
        const frame = FrameSchema.safeParse(safeJson(String(data)));
        if (!frame.success) {
          this.logger.warn(
            { connection: conn.id },
            'socket mode: a frame that is not a Slack message was ignored',
          );
          return;
        }
        if (frame.data.type === 'hello') {
          clearTimeout(timer);
          conn.ready = true;
          this.failures = 0;
          this.logger.info({ connection: conn.id }, 'socket mode: connected');
          resolve(conn);
          return;
        }
        this.onFrame(conn, frame.data);
      });
      ws.on('ping', () => {
        conn.lastHeard = Date.now();
      });
      ws.on('pong', () => {
        conn.lastHeard = Date.now();
      });
      ws.on('error', (err) => {
        this.logger.warn({ connection: conn.id, err: err.message }, 'socket mode: connection error');
      });
      ws.on('close', () => {
        clearTimeout(timer);
        reject(new Error('closed before hello'));
        this.onClosed(conn);
      });
    });
    return hello;
  }

  private onFrame(conn: Connection, frame: z.infer<typeof FrameSchema>): void {
    if (frame.type === 'disconnect') {
      this.onDisconnect(conn, frame.reason ?? 'unknown');
      return;
    }
    const envelopeId = frame.envelope_id;
    if (!envelopeId || !frame.payload) {
      this.logger.debug({ connection: conn.id, type: frame.type }, 'socket mode: frame ignored');
      return;
    }
    conn.unacked++;
    let acked = false;
    const ack = async (response?: unknown): Promise<void> => {
      if (acked) return;
      acked = true;
      conn.unacked--;
      const ws = conn.ws.readyState === WebSocket.OPEN ? conn.ws : this.anyOpenSocket();
      if (!ws) {
        this.logger.error({ envelope: envelopeId, type: frame.type }, 'socket mode: no connection to ack on');
        return;
      }
      const body = typeof response === 'string' ? { text: response } : (response ?? {});
      await new Promise<void>((resolve, reject) =>
        ws.send(JSON.stringify({ envelope_id: envelopeId, payload: body }), (err) =>
          err ? reject(err) : resolve(),
        ),
      );
    };
    const event: ReceiverEvent = {
      body: frame.payload,
      ack,
      ...(frame.retry_attempt !== undefined ? { retryNum: frame.retry_attempt } : {}),
      ...(frame.retry_reason !== undefined ? { retryReason: frame.retry_reason } : {}),
    };
    void this.process(event, frame.type, envelopeId);
  }

  private async process(event: ReceiverEvent, type: string, envelopeId: string): Promise<void> {
    try {
      await this.app?.processEvent(event);
    } catch (err) {
      // Only the type and id: the error of a listener never carries the payload into the log.
      this.logger.error(
        { envelope: envelopeId, type, code: (err as { code?: unknown }).code },
        'socket mode: a listener failed',
      );
    }
  }

  private onDisconnect(conn: Connection, reason: string): void {
    this.logger.info({ connection: conn.id, reason }, 'socket mode: Slack asked to disconnect');
    if (reason === 'link_disabled') {
      // Socket Mode was turned off for the app: reconnecting would only be refused.
      this.linkDisabled = true;
      this.logger.error({ reason }, 'socket mode: turned off in the app settings; not reconnecting');
      void this.close(conn);
      return;
    }
    if (reason === 'too_many_websockets') {
      // This connection is one too many (Slack allows 10 per app): drop it, keep the others.
      void this.close(conn);
      return;
    }
    // warning, refresh_requested (and any reason Slack adds later): replace it, overlapping.
    this.replace(conn);
  }

  /** Opens a new connection, then closes `conn` once its pending acks went out (or after `drainMs`). */
  private replace(conn: Connection): void {
    if (conn.draining) return;
    conn.draining = true;
    this.open().then(
      () => this.drainThenClose(conn),
      (err: unknown) => {
        this.logger.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'socket mode: reconnect failed',
        );
        // Keep the old one while it lives; when it closes, onClosed retries with a back-off.
        this.scheduleRetry();
      },
    );
  }

  private drainThenClose(conn: Connection): void {
    const started = Date.now();
    const check = () => {
      if (
        conn.unacked <= 0 ||
        Date.now() - started >= this.drainMs ||
        conn.ws.readyState !== WebSocket.OPEN
      ) {
        void this.close(conn);
        return;
      }
      setTimeout(check, 20).unref();
    };
    check();
  }

  private onClosed(conn: Connection): void {
    this.connections.delete(conn);
    this.logger.info({ connection: conn.id }, 'socket mode: connection closed');
    if (this.stopped || this.linkDisabled) return;
    const others = [...this.connections].some((c) => c.ws.readyState <= WebSocket.OPEN);
    if (!others && !this.opening) this.scheduleRetry(this.failures === 0 ? 0 : undefined);
  }

  private scheduleRetry(delayMs?: number): void {
    if (this.stopped || this.linkDisabled || this.retryTimer) return;
    const delay = delayMs ?? Math.min(30_000, this.retryDelayMs * 2 ** Math.min(this.failures, 5));
    this.failures++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.stopped || this.liveConnections > 0) return;
      this.open().catch((err: unknown) => {
        if (isFatal(err)) {
          this.logger.error({ err: codeOf(err) }, 'socket mode: apps.connections.open refused for good');
          return;
        }
        this.logger.warn({ err: codeOf(err) }, 'socket mode: reconnect failed, retrying');
        this.scheduleRetry();
      });
    }, delay);
    this.retryTimer.unref();
  }

  private keepAlive(): void {
    const now = Date.now();
    for (const conn of this.connections) {
      if (!conn.ready || conn.ws.readyState !== WebSocket.OPEN) continue;
      if (now - conn.lastHeard > this.silenceMs) {
        this.logger.warn({ connection: conn.id }, 'socket mode: connection silent, replacing it');
        this.replace(conn);
        continue;
      }
      conn.ws.ping();
    }
  }

  private anyOpenSocket(): WebSocket | undefined {
    return [...this.connections].find((c) => c.ready && c.ws.readyState === WebSocket.OPEN)?.ws;
  }

  private close(conn: Connection): Promise<void> {
    return new Promise((resolve) => {
      if (conn.ws.readyState === WebSocket.CLOSED) return resolve();
      conn.ws.once('close', () => resolve());
      conn.ws.close(1000);
      // Slack may not answer the close handshake; do not wait for it forever.
      setTimeout(() => {
        conn.ws.terminate();
        resolve();
      }, 1000).unref();
    });
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function codeOf(err: unknown): string {
  const data = (err as { data?: { error?: unknown } }).data;
  if (typeof data?.error === 'string') return data.error;
  return err instanceof Error ? err.message : String(err);
}

function isFatal(err: unknown): boolean {
  return FATAL_OPEN_ERRORS.has(codeOf(err));
}
