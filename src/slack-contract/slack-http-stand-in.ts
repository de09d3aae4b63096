import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseWebApiArgs, renderedLines } from './render.ts';
import { SlackWebApi, type SlackWebApiOptions } from './slack-web-api.ts';

/** One Web API call the stand-in answered. */
export interface StandInCall {
  method: string;
  args: Record<string, unknown>;
  /** When it arrived (ms). */
  at: number;
  /** What the stand-in answered (e.g. the `ts` of a posted message). */
  answer: Record<string, unknown>;
}

export interface SlackHttpStandInOptions extends SlackWebApiOptions {
  /** Where each message or view is printed as a person would read it; default nowhere. */
  print?: (line: string) => void;
}

/**
 * Slack's Web API (`SLACK_API_URL` = `apiUrl`) and `response_url`s (any other path) on a local HTTP server,
 * answering through the one stand-in (SlackWebApi): the demo, the bench and the doctor's tests use it.
 * Records every answered call; `next` waits for one.
 */
export class SlackHttpStandIn {
  readonly api: SlackWebApi;
  readonly calls: StandInCall[] = [];
  private server: Server | undefined;
  private waiters: { match: (c: StandInCall) => boolean; resolve: (c: StandInCall) => void }[] = [];
  private readonly print: (line: string) => void;
  url = '';

  constructor(options: SlackHttpStandInOptions = {}) {
    const { print, ...api } = options;
    this.print = print ?? (() => {});
    this.api = new SlackWebApi(api);
  }

  get refusals(): string[] {
    return this.api.refusals;
  }
  get wasted(): string[] {
    return this.api.wasted;
  }
  get iterations() {
    return this.api.iterations;
  }
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  /** A trigger_id this Slack hands out in an interaction payload now (it lasts 3 s and is exchanged once). */
  issueTrigger(triggerId: string, viewId?: string): string {
    this.api.session.issueTrigger(triggerId, viewId);
    return triggerId;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(({ body, headers }) => {
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', ...headers });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** The first call (already received, or the next one) of `method` matching `match`. */
  next(method: string, match: (c: StandInCall) => boolean = () => true, since = 0): Promise<StandInCall> {
    const seen = this.calls.slice(since).find((c) => c.method === method && match(c));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) =>
      this.waiters.push({ match: (c) => c.method === method && match(c), resolve }),
    );
  }

  private async handle(
    req: IncomingMessage,
  ): Promise<{ body: Record<string, unknown>; headers: Record<string, string> }> {
    const raw = await new Promise<string>((resolve) => {
      let data = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        data += chunk;
      });
      req.on('end', () => resolve(data));
    });
    const path = new URL(req.url ?? '/', this.url).pathname;
    const method = path.startsWith('/api/') ? path.slice(5) : 'response_url';
    const args = parseWebApiArgs(raw, req.headers['content-type'] ?? '');
    const auth = req.headers.authorization ?? '';
    const token =
      method === 'response_url'
        ? null
        : auth.startsWith('Bearer ')
          ? auth.slice(7)
          : typeof args.token === 'string'
            ? args.token
            : null;
    const headers = this.api.headers(token);
    const refusal = this.api.refuse(method, args, token);
    if (refusal) {
      this.print(`   [slack] REFUSED ${method}: ${String(refusal.error)}`);
      return { body: refusal, headers };
    }
    const body = this.api.answer(method, args, token);
    const call = { method, args, at: Date.now(), answer: body };
    this.calls.push(call);
    this.show(call);
    const ready = this.waiters.filter((w) => w.match(call));
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve(call);
    return { body, headers };
  }

  private show(call: StandInCall): void {
    if (call.method === 'auth.test') return;
    const where =
      call.method === 'chat.postMessage' || call.method === 'chat.update'
        ? `${call.method} → ${String(call.args.channel)}`
        : call.method;
    this.print(`   [slack] ${where}`);
    for (const line of renderedLines(call.args).slice(0, 12))
      this.print(`   [slack]   ${line.slice(0, 150)}`);
  }
}
