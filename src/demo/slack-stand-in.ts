import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CHECKED_METHODS,
  checkSlackPayload,
  describeViolation,
  MessageIterations,
  type PayloadKind,
  slackRefusal,
} from './block-kit-contract.ts';

const CHECKED = new Set<string>([...CHECKED_METHODS, 'response_url']);

/** One Web API call the stand-in received. */
export interface StandInCall {
  method: string;
  args: Record<string, unknown>;
  /** When it arrived (ms). */
  at: number;
}

/**
 * A local stand-in for the Slack Web API (`SLACK_API_URL`) and for `response_url`s: answers the
 * methods Revoker uses the way Slack does, records every call, and prints what each message or view
 * would show, so the demo can be followed without a Slack workspace. Every payload goes through the Block
 * Kit contract (./block-kit-contract.ts): what Slack would refuse is refused here too, with Slack's
 * error, and counted; so is a chat.update that resends what the message already shows.
 */
export class SlackStandIn {
  readonly calls: StandInCall[] = [];
  /** Payloads Slack would have refused (one line each: rule, JSON pointer, reference). */
  readonly refusals: string[] = [];
  /** Updates that resent a message's current content, or reused its block_ids. */
  readonly wasted: string[] = [];
  readonly iterations = new MessageIterations();
  private server: Server | undefined;
  private waiters: { match: (c: StandInCall) => boolean; resolve: (c: StandInCall) => void }[] = [];
  private seq = 0;
  url = '';

  constructor(private readonly print: (line: string) => void) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void this.handle(req).then((body) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get apiUrl(): string {
    return `${this.url}/api/`;
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

  private async handle(req: IncomingMessage): Promise<Record<string, unknown>> {
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
    const call = { method, args: parseArgs(raw, req.headers['content-type'] ?? ''), at: Date.now() };
    const violation = CHECKED.has(method) ? checkSlackPayload(method as PayloadKind, call.args) : undefined;
    if (violation) {
      const line = describeViolation(method, violation);
      this.refusals.push(line);
      this.print(`   [slack] REFUSED ${line}`);
      return slackRefusal(violation);
    }
    this.calls.push(call);
    this.show(call);
    const answer = this.answer(call);
    const waste = this.iterations.record(method, call.args, answer);
    if (waste) this.wasted.push(describeViolation(method, waste));
    const ready = this.waiters.filter((w) => w.match(call));
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve(call);
    return answer;
  }

  private answer(call: StandInCall): Record<string, unknown> {
    this.seq++;
    switch (call.method) {
      case 'auth.test':
        return { ok: true, user_id: 'UREVOKERBOT', bot_id: 'BREVOKER', team_id: 'TDEMO' };
      case 'views.open':
      case 'views.push':
        return { ok: true, view: { id: `VDEMO${this.seq}` } };
      case 'views.update':
      case 'views.publish':
        return { ok: true, view: { id: call.args.view_id ?? 'VHOME' } };
      case 'chat.postMessage':
      case 'chat.update':
        return {
          ok: true,
          channel: call.args.channel,
          ts: call.args.ts ?? `1800000000.${String(this.seq).padStart(6, '0')}`,
        };
      default:
        return { ok: true };
    }
  }

  /** Messages and views as a person would read them (mrkdwn and plain text, without markup). */
  private show(call: StandInCall): void {
    const where =
      call.method === 'chat.postMessage' || call.method === 'chat.update'
        ? `${call.method} → ${String(call.args.channel)}`
        : call.method;
    if (call.method === 'auth.test') return;
    const view = call.args.view as { title?: { text?: string }; blocks?: unknown[] } | undefined;
    const blocks = (call.args.blocks as unknown[] | undefined) ?? view?.blocks ?? [];
    const lines = [view?.title?.text, ...blocks.flatMap(blockText)].filter((l): l is string => Boolean(l));
    if (lines.length === 0 && typeof call.args.text === 'string') lines.push(call.args.text);
    this.print(`   [slack] ${where}`);
    for (const line of lines.slice(0, 12)) this.print(`   [slack]   ${asRendered(line).slice(0, 150)}`);
  }
}

function parseArgs(raw: string, type: string): Record<string, unknown> {
  if (type.includes('json')) return JSON.parse(raw || '{}') as Record<string, unknown>;
  const args: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    try {
      args[k] = v.startsWith('{') || v.startsWith('[') ? JSON.parse(v) : v;
    } catch {
      args[k] = v;
    }
  }
  return args;
}

function blockText(block: unknown): string[] {
  const b = block as {
    type?: string;
    text?: { text?: string };
    fields?: { text?: string }[];
    elements?: { type?: string; text?: string | { text?: string } }[];
    label?: { text?: string };
  };
  const out: string[] = [];
  if (b.text?.text) out.push(b.text.text);
  for (const f of b.fields ?? []) if (f.text) out.push(f.text);
  if (b.type === 'actions') {
    const buttons = (b.elements ?? [])
      .map((e) => (typeof e.text === 'object' ? e.text?.text : e.text))
      .filter(Boolean);
    if (buttons.length) out.push(buttons.map((t) => `[${t}]`).join(' '));
  } else if (b.type === 'context') {
    for (const e of b.elements ?? []) if (typeof e.text === 'string') out.push(e.text);
  }
  if (b.type === 'input' && b.label?.text) out.push(`${b.label.text}: ____`);
  return out;
}

/** Roughly what Slack renders: entities decoded, line breaks as separators (the text was escaped by us). */
function asRendered(mrkdwn: string): string {
  return mrkdwn.replace(/\n/g, ' · ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}
