import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { enforce } from './block-kit-contract.ts';
import { checkInteractiveAck } from './slack.ts';

/**
 * A local stand-in for Slack's side of Socket Mode (https://docs.slack.dev/apis/events-api/using-socket-mode):
 *
 * - `issueUrl()` is what `apps.connections.open` answers (SlackApiStub.socketUrl): a `ws://127.0.0.1`
 *   URL with a one-time ticket; a connection without a ticket we issued, or reusing one, is refused.
 * - On connect it sends `hello`; `send(type, payload)` delivers an envelope (`slash_commands`,
 *   `interactive`, `events_api`) carrying the same payload as over HTTP and resolves with the app's ack,
 *   which must name the `envelope_id` within 3 seconds; the ack's payload goes through the Block Kit
 *   contract like any other.
 * - An app may hold up to 10 connections ("too_many_websockets" beyond); Slack spreads envelopes over the
 *   open ones. Here: the newest connection Slack has not asked to leave, else a leaving one still open.
 * - `disconnect(reason)` sends `{type: "disconnect", reason}` on the newest connection: `warning` and
 *   `refresh_requested` (Slack recycles connections every few hours) keep it open `closeAfterMs` (the
 *   overlap in which the app opens its replacement) and then close it; `link_disabled` (Socket Mode
 *   turned off) closes it at once; `too_many_websockets` is sent on a connection over the limit, closed.
 * - What Slack re-sends: only Events API envelopes (up to 3 retries, `retry_attempt`/`retry_reason`,
 *   https://docs.slack.dev/apis/events-api/#retries). A slash command or an interactive payload with no
 *   connection open, or whose connection closed before the ack, is lost: the user sees
 *   "dispatch_failed" and `send` rejects saying so.
 * - `ping()` sends a WebSocket ping on each connection (Slack pings; the app must pong).
 */
export const ACK_DEADLINE_MS = 3000;
/** Slack allows up to 10 simultaneous Socket Mode connections per app. */
export const MAX_CONNECTIONS = 10;

export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';
export type DisconnectReason = 'warning' | 'refresh_requested' | 'link_disabled' | 'too_many_websockets';

interface Conn {
  id: number;
  ws: WebSocket;
  leaving: boolean;
}

interface Pending {
  conn: Conn;
  type: EnvelopeType;
  payload: Record<string, unknown>;
  attempt: number;
  resolve: (payload: Record<string, unknown>) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class SocketModeStandIn {
  private server: WebSocketServer | undefined;
  private port = 0;
  private readonly tickets = new Set<string>();
  private readonly open: Conn[] = [];
  private readonly pending = new Map<string, Pending>();
  /** Events API envelopes waiting for a connection (Slack retries them). */
  private readonly redeliver: Omit<Pending, 'conn' | 'timer'>[] = [];
  private waiters: (() => void)[] = [];
  private seq = 0;
  /** Connections that received `hello`. */
  connections = 0;
  /** Connections closed (by either side). */
  closed = 0;
  /** Pongs received in answer to `ping()`. */
  pongs = 0;
  /** Acks that arrived after the deadline, or for an envelope we did not send. */
  readonly problems: string[] = [];
  /** Slash commands and interactive payloads Slack could not deliver (no connection, closed before ack). */
  readonly dispatchFailed: string[] = [];

  constructor(private readonly options: { maxConnections?: number; closeAfterMs?: number } = {}) {}

  async start(): Promise<void> {
    this.server = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      verifyClient: (info: { req: { url?: string } }) => {
        const ticket = new URL(info.req.url ?? '/', 'ws://x').searchParams.get('ticket') ?? '';
        // One URL, one connection: a ticket is spent when used.
        return this.tickets.delete(ticket);
      },
    });
    await new Promise<void>((resolve) => this.server!.once('listening', () => resolve()));
    this.port = (this.server.address() as AddressInfo).port;
    this.server.on('connection', (ws) => this.onConnection(ws));
  }

  /** A fresh URL, as `apps.connections.open` returns one per call. */
  issueUrl(): string {
    const ticket = randomUUID();
    this.tickets.add(ticket);
    return `ws://127.0.0.1:${this.port}/link/?ticket=${ticket}&app_id=A0001`;
  }

  private onConnection(ws: WebSocket): void {
    const conn: Conn = { id: ++this.seq, ws, leaving: false };
    ws.on('message', (data) => this.onMessage(String(data)));
    ws.on('pong', () => this.pongs++);
    ws.on('close', () => this.onClose(conn));
    if (this.open.length >= (this.options.maxConnections ?? MAX_CONNECTIONS)) {
      ws.send(
        JSON.stringify({
          type: 'disconnect',
          reason: 'too_many_websockets',
          debug_info: { host: 'stand-in' },
        }),
      );
      ws.close();
      return;
    }
    this.open.push(conn);
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.open.length,
        debug_info: { host: 'socket-stand-in', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: 'A0001' },
      }),
    );
    this.connections++;
    for (const r of this.redeliver.splice(0)) this.deliver(conn, r);
    this.wake();
  }

  private onClose(conn: Conn): void {
    const i = this.open.indexOf(conn);
    if (i < 0) return;
    this.open.splice(i, 1);
    this.closed++;
    for (const [id, p] of this.pending) {
      if (p.conn !== conn) continue;
      clearTimeout(p.timer);
      this.pending.delete(id);
      this.retryOrFail(p, 'connection closed before the ack');
    }
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private onMessage(raw: string): void {
    let msg: { envelope_id?: string; payload?: Record<string, unknown> };
    try {
      msg = JSON.parse(raw) as typeof msg;
    } catch {
      this.problems.push(`not JSON: ${raw.slice(0, 80)}`);
      return;
    }
    const waiting = msg.envelope_id ? this.pending.get(msg.envelope_id) : undefined;
    if (!waiting) {
      this.problems.push(`ack for an unknown or late envelope ${String(msg.envelope_id)}`);
      return;
    }
    clearTimeout(waiting.timer);
    this.pending.delete(msg.envelope_id!);
    waiting.resolve(msg.payload ?? {});
  }

  /** Resolves once `count` connections have said hello (e.g. the reconnection after `disconnect`). */
  async connected(count = 1): Promise<void> {
    while (this.connections < count) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Resolves once `count` connections have closed. */
  async closedCount(count: number): Promise<void> {
    while (this.closed < count) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Open connections (said hello, not closed). */
  get openConnections(): number {
    return this.open.length;
  }

  private target(): Conn | undefined {
    const live = this.open.filter((c) => c.ws.readyState === WebSocket.OPEN);
    return live.filter((c) => !c.leaving).at(-1) ?? live.at(-1);
  }

  /** Delivers one envelope; resolves with the ack's payload (checked against the contract). */
  async send(type: EnvelopeType, payload: Record<string, unknown>): Promise<Record<string, unknown>> {
    const answer = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const item = { type, payload, attempt: 0, resolve, reject };
      const conn = this.target();
      if (!conn) return this.retryOrFail(item, 'no Socket Mode connection');
      this.deliver(conn, item);
    });
    if (type === 'slash_commands') enforce('command_ack', answer);
    if (type === 'interactive') checkInteractiveAck(payload as { type?: string }, answer);
    return answer;
  }

  private deliver(conn: Conn, item: Omit<Pending, 'conn' | 'timer'>): void {
    const envelopeId = randomUUID();
    const timer = setTimeout(() => {
      this.pending.delete(envelopeId);
      this.retryOrFail(item, `no ack within ${ACK_DEADLINE_MS} ms`);
    }, ACK_DEADLINE_MS);
    this.pending.set(envelopeId, { ...item, conn, timer });
    conn.ws.send(
      JSON.stringify({
        envelope_id: envelopeId,
        type: item.type,
        payload: item.payload,
        accepts_response_payload: item.type !== 'events_api',
        retry_attempt: item.attempt,
        retry_reason: item.attempt > 0 ? 'timeout' : '',
      }),
    );
  }

  /** Slack retries Events API deliveries (3 times); slash commands and interactivity are lost. */
  private retryOrFail(item: Omit<Pending, 'conn' | 'timer'>, why: string): void {
    if (item.type === 'events_api' && item.attempt < 3) {
      const next = { ...item, attempt: item.attempt + 1 };
      const conn = this.target();
      if (conn) this.deliver(conn, next);
      else this.redeliver.push(next);
      return;
    }
    const what = `${item.type}: ${why}`;
    if (item.type !== 'events_api') this.dispatchFailed.push(what);
    item.reject(new Error(`dispatch_failed (${what})`));
  }

  /**
   * Slack's "this connection is going away" on the newest connection Slack has not asked to leave yet;
   * `warning` and `refresh_requested` close it `closeAfterMs` later (default 2,000 ms), `link_disabled`
   * at once.
   */
  disconnect(reason: DisconnectReason = 'refresh_requested'): void {
    const conn = this.open.filter((c) => !c.leaving).at(-1);
    if (!conn) return;
    conn.leaving = true;
    conn.ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'socket-stand-in' } }));
    if (reason === 'link_disabled' || reason === 'too_many_websockets') {
      conn.ws.close();
      return;
    }
    setTimeout(() => {
      if (conn.ws.readyState === WebSocket.OPEN) conn.ws.close();
    }, this.options.closeAfterMs ?? 2000).unref();
  }

  /** A WebSocket ping on every open connection; each pong is counted in `pongs`. */
  ping(): void {
    for (const c of this.open) if (c.ws.readyState === WebSocket.OPEN) c.ws.ping();
  }

  async close(): Promise<void> {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error('stand-in closed'));
    }
    this.pending.clear();
    for (const client of this.server?.clients ?? []) client.terminate();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
