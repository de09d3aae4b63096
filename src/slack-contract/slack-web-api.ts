import { checkSlackPayload, describeViolation, slackRefusal } from './check.ts';
import { MessageIterations } from './message-iterations.ts';
import { SlackSession, type SlackSessionOptions } from './slack-session.ts';
import { CHECKED_METHODS, type PayloadKind, type Violation } from './sources.ts';

export interface SlackWorkspace {
  /** The bot token Slack accepts. */
  token: string;
  /** Bot scopes granted to it (sent back in `x-oauth-scopes`). */
  scopes: string[];
  /** Channels that exist: id → name, and whether the bot is a member. */
  channels: Record<string, { name: string; member: boolean }>;
}

export interface SlackWebApiOptions {
  /** Team, bot user and bot ids auth.test answers; defaults T0001, U0REVOKERBOT, B0REVOKER. */
  teamId?: string;
  botUserId?: string;
  botId?: string;
  /** Prefix of view ids views.open/push mint (default `V_OPENED_`); Home's id (default `V_HOME`). */
  viewIdPrefix?: string;
  homeViewId?: string;
  /** Seconds part of the `ts` chat.postMessage mints (default `1700000000`). */
  tsSeconds?: string;
  /** When set, tokens are checked (`not_authed`, `invalid_auth`) and channels answered from it. */
  workspace?: SlackWorkspace;
  /** Socket Mode: the ws:// URL apps.connections.open answers (app-level `xapp-` tokens only). */
  socketUrl?: () => string | undefined;
  /** Trigger, view and message state (see SlackSession); default refuses ids Slack never issued. */
  session?: SlackSessionOptions;
  /**
   * Called with every finding of the contract (Slack's and Revoker's own rules) and every answered call:
   * the tests' record (test/helpers/block-kit-contract.ts) fails the test on any. Default: kept in
   * `refusals` / `wasted` only.
   */
  observer?: {
    violation(method: string, v: Violation): void;
    answered(method: string, args: Record<string, unknown>, answer: Record<string, unknown>): void;
  };
}

const CHECKED = new Set<string>(CHECKED_METHODS);

/**
 * The one stand-in of Slack's Web API, transport-free: the tests' msw stub, the HTTP stand-in (demo,
 * bench, doctor's tests) answer through it. Every answer is HTTP 200 with `{ok:false, error}` on failure
 * (https://docs.slack.dev/apis/web-api/#responses). Order as Slack: authentication, then the payload
 * (Block Kit contract: src/slack-contract), then what the call refers to (trigger_id, view, message).
 */
export class SlackWebApi {
  readonly session: SlackSession;
  readonly iterations = new MessageIterations();
  /** Payloads refused (one line each: rule, JSON pointer, reference). */
  readonly refusals: string[] = [];
  /** Revoker-only findings: updates that resent a message or reused block_ids, raw broadcasts or links. */
  readonly wasted: string[] = [];
  private seq = 0;

  constructor(private readonly options: SlackWebApiOptions = {}) {
    this.session = new SlackSession(options.session);
  }

  /** Headers of the HTTP answer: a valid token's granted scopes (`x-oauth-scopes`, read by @slack/web-api). */
  headers(token: string | null): Record<string, string> {
    const ws = this.options.workspace;
    return ws && token === ws.token ? { 'x-oauth-scopes': ws.scopes.join(',') } : {};
  }

  /** Slack's refusal of this call, or undefined when Slack would go on to answer it. */
  refuse(
    method: string,
    args: Record<string, unknown>,
    token: string | null,
  ): Record<string, unknown> | undefined {
    const ws = this.options.workspace;
    // https://docs.slack.dev/reference/methods/auth.test#errors: none at all is not_authed, unknown invalid_auth.
    if (ws && !token) return { ok: false, error: 'not_authed' };
    if (ws && token !== ws.token) return { ok: false, error: 'invalid_auth' };
    if (method === 'response_url' || CHECKED.has(method)) {
      const v = checkSlackPayload(method as PayloadKind, args);
      if (v) {
        this.options.observer?.violation(method, v);
        if (v.error !== 'revoker_rule') {
          this.refusals.push(describeViolation(method, v));
          return slackRefusal(v);
        }
        this.wasted.push(describeViolation(method, v));
      }
    }
    const error = this.session.refusal(method, args);
    if (!error) return undefined;
    this.refusals.push(`${method}: ${error} (${String(args.trigger_id ?? args.view_id ?? args.ts ?? '')})`);
    return { ok: false, error };
  }

  /** What Slack answers a call it accepted; remembers views, messages and iterations. */
  answer(method: string, args: Record<string, unknown>, token: string | null): Record<string, unknown> {
    const body = this.body(method, args, token);
    if (body.ok === true) {
      this.session.record(method, args, body);
      const waste = this.iterations.record(method, args, body);
      if (waste) {
        this.wasted.push(describeViolation(method, waste));
        this.options.observer?.violation(method, waste);
      }
      this.options.observer?.answered(method, args, body);
    }
    return body;
  }

  private body(method: string, args: Record<string, unknown>, token: string | null): Record<string, unknown> {
    this.seq++;
    const o = this.options;
    switch (method) {
      case 'auth.test':
        return {
          ok: true,
          url: 'https://revoker-test.slack.com/',
          team: 'Revoker Test',
          user: 'revoker',
          team_id: o.teamId ?? 'T0001',
          user_id: o.botUserId ?? 'U0REVOKERBOT',
          bot_id: o.botId ?? 'B0REVOKER',
        };
      case 'apps.connections.open': {
        // https://docs.slack.dev/reference/methods/apps.connections.open: app-level token (xapp-) only.
        const url = o.socketUrl?.();
        if (!url || !token?.startsWith('xapp-')) return { ok: false, error: 'not_allowed_token_type' };
        return { ok: true, url };
      }
      case 'conversations.info':
        return this.conversationInfo(String(args.channel ?? ''));
      case 'views.open':
      case 'views.push':
        return { ok: true, view: { id: `${o.viewIdPrefix ?? 'V_OPENED_'}${this.seq}` } };
      case 'views.update':
      case 'views.publish':
        return { ok: true, view: { id: args.view_id ?? o.homeViewId ?? 'V_HOME' } };
      case 'chat.postMessage':
        return {
          ok: true,
          channel: args.channel,
          ts: `${o.tsSeconds ?? '1700000000'}.${String(this.seq).padStart(6, '0')}`,
        };
      case 'chat.update':
        return { ok: true, channel: args.channel, ts: args.ts };
      default:
        return { ok: true };
    }
  }

  /**
   * https://docs.slack.dev/reference/methods/conversations.info: needs `channels:read` (else `missing_scope`
   * with `needed` and `provided`); an unknown channel is `channel_not_found`; `is_member` says whether the
   * caller is in it.
   */
  private conversationInfo(id: string): Record<string, unknown> {
    const ws = this.options.workspace;
    if (!ws) return { ok: false, error: 'channel_not_found' };
    if (!ws.scopes.includes('channels:read')) {
      return {
        ok: false,
        error: 'missing_scope',
        needed: 'channels:read,groups:read,mpim:read,im:read',
        provided: ws.scopes.join(','),
      };
    }
    const channel = ws.channels[id];
    if (!channel) return { ok: false, error: 'channel_not_found' };
    return { ok: true, channel: { id, name: channel.name, is_channel: true, is_member: channel.member } };
  }
}
