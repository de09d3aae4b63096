import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { enforce } from './block-kit-contract.ts';
import { checkInteractiveAck } from './slack.ts';

/**
 * A local stand-in for Slack's side of Socket Mode (https://docs.slack.dev/apis/events-api/using-socket-mode):
 *
 * - `issueUrl()` is what `apps.connections.open` answers (SlackApiStub.socketUrl): a `ws://127.0.0.1`
 *   URL with a one-time ticket; a connection without a ticket we issued, or reusing one, is refused.
 * - On connect it sends `hello`; `send(type, payload)` delivers an envelope (`slash_commands`,
 *   `interactive`, `events_api`) carrying the same payload as over HTTP and resolves with the app's ack,
 *   which must name the `envelope_id` within 3 seconds (or Slack retries / shows an error); the ack's
 *   payload goes through the Block Kit contract like any other.
 * - `disconnect()` sends `{type: "disconnect", reason: "refresh_requested"}`, as Slack does before it
 *   recycles a connection; the app must open a new one (apps.connections.open again, new `hello`).
 */
export const ACK_DEADLINE_MS = 3000;

export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

export class SocketModeStandIn {
  private server: WebSocketServer | undefined;
  private port = 0;
  private readonly tickets = new Set<string>();
  private socket: WebSocket | undefined;
  private readonly pending = new Map<
    string,
    { resolve: (payload: Record<string, unknown>) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  private connectWaiters: (() => void)[] = [];
  /** Connections that received `hello`. */
  connections = 0;
  /** Acks that arrived after the deadline, or for an envelope we did not send. */
  readonly problems: string[] = [];

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
    this.socket = ws;
    ws.on('message', (data) => this.onMessage(String(data)));
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: 1,
        debug_info: { host: 'socket-stand-in', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: 'A0001' },
      }),
    );
    this.connections++;
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
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
    while (this.connections < count) await new Promise<void>((resolve) => this.connectWaiters.push(resolve));
  }

  /** Delivers one envelope; resolves with the ack's payload (checked against the contract). */
  async send(type: EnvelopeType, payload: Record<string, unknown>): Promise<Record<string, unknown>> {
    const ws = this.socket;
    if (!ws || ws.readyState !== ws.OPEN) throw new Error('no Socket Mode connection');
    const envelopeId = randomUUID();
    const ack = new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(envelopeId);
        reject(new Error(`no ack for ${type} envelope within ${ACK_DEADLINE_MS} ms`));
      }, ACK_DEADLINE_MS);
      this.pending.set(envelopeId, { resolve, reject, timer });
    });
    ws.send(
      JSON.stringify({
        envelope_id: envelopeId,
        type,
        payload,
        accepts_response_payload: type !== 'events_api',
        retry_attempt: 0,
        retry_reason: '',
      }),
    );
    const answer = await ack;
    if (type === 'slash_commands') enforce('command_ack', answer);
    if (type === 'interactive') checkInteractiveAck(payload as { type?: string }, answer);
    return answer;
  }

  /** Slack's "this connection is going away": the app should reconnect with a new URL. */
  disconnect(): void {
    this.socket?.send(
      JSON.stringify({
        type: 'disconnect',
        reason: 'refresh_requested',
        debug_info: { host: 'socket-stand-in' },
      }),
    );
  }

  async close(): Promise<void> {
    for (const { timer, reject } of this.pending.values()) {
      clearTimeout(timer);
      reject(new Error('stand-in closed'));
    }
    this.pending.clear();
    for (const client of this.server?.clients ?? []) client.terminate();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
