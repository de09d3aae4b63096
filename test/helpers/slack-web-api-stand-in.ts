import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlackWorkspace {
  /** The bot token Slack would accept. */
  token: string;
  /** Bot scopes granted to it. */
  scopes: string[];
  /** Channels that exist: id → name, and whether the bot is a member. */
  channels: Record<string, { name: string; member: boolean }>;
}

/**
 * The part of Slack's Web API `revoker doctor` reads, answering as Slack documents:
 * - Every answer is HTTP 200 with `{ok:false, error}` on failure
 *   (https://docs.slack.dev/apis/web-api/#responses).
 * - A token Slack does not know: `invalid_auth`; none at all: `not_authed`
 *   (https://docs.slack.dev/reference/methods/auth.test#errors).
 * - Every answer to a valid token carries `x-oauth-scopes`, the token's granted scopes, comma-separated
 *   (read by @slack/web-api into `response_metadata.scopes`, WebClient.ts; slack-ruby-client#378).
 * - `conversations.info` needs `channels:read` for public channels (`groups:read` for private ones); without
 *   it Slack answers `missing_scope` with `needed` and `provided`; an unknown channel is `channel_not_found`;
 *   `channel.is_member` says whether the caller is in it
 *   (https://docs.slack.dev/reference/methods/conversations.info).
 */
export class SlackWebApiStandIn {
  private server: Server | undefined;
  url = '';

  constructor(private readonly workspace: SlackWorkspace) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => {
        raw += c;
      });
      req.on('end', () => {
        const method = new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/api\//, '');
        const auth = req.headers.authorization ?? '';
        const token = auth.startsWith('Bearer ') ? auth.slice(7) : new URLSearchParams(raw).get('token');
        const args = parseArgs(raw, req.headers['content-type'] ?? '');
        const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
        const valid = token === this.workspace.token;
        if (valid) headers['x-oauth-scopes'] = this.workspace.scopes.join(',');
        res.writeHead(200, headers);
        res.end(JSON.stringify(this.answer(method, token, valid, args)));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/`;
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private answer(
    method: string,
    token: string | null,
    valid: boolean,
    args: Record<string, string>,
  ): Record<string, unknown> {
    if (!token) return { ok: false, error: 'not_authed' };
    if (!valid) return { ok: false, error: 'invalid_auth' };
    switch (method) {
      case 'auth.test':
        return {
          ok: true,
          url: 'https://revoker-test.slack.com/',
          team: 'Revoker Test',
          user: 'revoker',
          team_id: 'T0REVOKER',
          user_id: 'U0REVOKERBOT',
          bot_id: 'B0REVOKER',
        };
      case 'conversations.info': {
        const channel = this.workspace.channels[args.channel ?? ''];
        if (!this.workspace.scopes.includes('channels:read'))
          return {
            ok: false,
            error: 'missing_scope',
            needed: 'channels:read,groups:read,mpim:read,im:read',
            provided: this.workspace.scopes.join(','),
          };
        if (!channel) return { ok: false, error: 'channel_not_found' };
        return {
          ok: true,
          channel: { id: args.channel, name: channel.name, is_channel: true, is_member: channel.member },
        };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }
}

function parseArgs(raw: string, type: string): Record<string, string> {
  if (type.includes('json')) return JSON.parse(raw || '{}') as Record<string, string>;
  return Object.fromEntries(new URLSearchParams(raw));
}
