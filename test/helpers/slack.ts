import { createHmac } from 'node:crypto';
import { HttpResponse, http } from 'msw';
import { type SetupServer, setupServer } from 'msw/node';
import { SlackWebApi } from '../../src/slack-contract/index.ts';
import { enforce, rememberView, servedView, testObserver } from './block-kit-contract.ts';

/** Slack's v0 signature headers for `rawBody`, exactly as Slack computes them. */
export function signSlack(
  signingSecret: string,
  rawBody: string,
  timestamp = Math.floor(Date.now() / 1000),
): Record<string, string> {
  const sig = createHmac('sha256', signingSecret).update(`v0:${timestamp}:${rawBody}`).digest('hex');
  return { 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': `v0=${sig}` };
}

export const FORM = 'application/x-www-form-urlencoded';

/** POSTs a signed request to a Slack endpoint (`url` = …/slack/events); the answer goes through the contract. */
export async function postSlack(
  url: string,
  rawBody: string,
  options: { secret: string; contentType?: string; timestamp?: number; headers?: Record<string, string> },
): Promise<Response> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': options.contentType ?? FORM,
      ...signSlack(options.secret, rawBody, options.timestamp),
      ...options.headers,
    },
    body: rawBody,
  });
  if (res.status === 200) await checkAck(rawBody, options.contentType ?? FORM, await res.clone().text());
  return res;
}

/**
 * What the app answers in the HTTP response is a Slack payload too: a slash command's ack is a message,
 * a `block_suggestion`'s is an options list, a `view_submission`'s a `response_action`.
 */
export async function checkAck(rawBody: string, contentType: string, answer: string): Promise<void> {
  if (!contentType.startsWith(FORM)) return;
  let ack: unknown = {};
  if (answer.trim() !== '') {
    try {
      ack = JSON.parse(answer);
    } catch {
      return;
    }
  }
  const form = new URLSearchParams(rawBody);
  const payload = form.get('payload');
  if (payload === null) {
    if (form.get('command')) enforce('command_ack', ack);
    return;
  }
  checkInteractiveAck(JSON.parse(payload) as { type?: string; view?: { id?: string } }, ack);
}

/** The ack of an interactive payload (HTTP answer or Socket Mode envelope ack), by payload type. */
export function checkInteractiveAck(payload: { type?: string; view?: { id?: string } }, ack: unknown): void {
  if (payload.type === 'block_suggestion') enforce('options', ack);
  if (payload.type === 'view_submission') {
    const submitted = payload.view?.id ? servedView(payload.view.id) : undefined;
    const violation = enforce('view_ack', ack, submitted ? { submittedView: submitted } : {});
    const next = ack as { response_action?: string; view?: unknown };
    if (!violation && next.response_action === 'update' && payload.view?.id)
      rememberView(payload.view.id, next.view);
  }
}

const TEAM = { id: 'T0001', domain: 'example' };

/** The form body Slack sends for a slash command. */
export function slashCommandBody(input: {
  text?: string;
  userId?: string;
  userName?: string;
  triggerId?: string;
  responseUrl?: string;
  channelId?: string;
}): string {
  return new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: TEAM.id,
    team_domain: TEAM.domain,
    channel_id: input.channelId ?? 'C_GENERAL',
    channel_name: 'general',
    user_id: input.userId ?? 'U0REQUESTER',
    user_name: input.userName ?? 'requester',
    command: '/revoke',
    text: input.text ?? '',
    api_app_id: 'A0001',
    is_enterprise_install: 'false',
    response_url: input.responseUrl ?? 'https://hooks.slack.test/commands/T0001/1/abc',
    trigger_id: input.triggerId ?? '1111.2222.trigger',
  }).toString();
}

/** `payload=` form encoding used by every interactivity request. */
export function interactivityBody(payload: object): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

const user = (id: string, name = id.toLowerCase()) => ({ id, username: name, name, team_id: TEAM.id });

/** A `block_actions` payload for a button in a message (approvals channel). */
export function messageButtonPayload(input: {
  userId: string;
  actionId: string;
  value: string;
  channelId?: string;
  messageTs?: string;
  responseUrl?: string;
  triggerId?: string;
}) {
  const channel = input.channelId ?? 'C0APPROVALS';
  const ts = input.messageTs ?? '1700000000.000100';
  return {
    type: 'block_actions',
    user: user(input.userId),
    api_app_id: 'A0001',
    token: 'deprecated-verification-token',
    container: { type: 'message', message_ts: ts, channel_id: channel, is_ephemeral: false },
    trigger_id: input.triggerId ?? '3333.4444.trigger',
    team: TEAM,
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: channel, name: 'approvals' },
    message: { type: 'message', ts, text: 'Token revocation request', blocks: [] },
    response_url: input.responseUrl ?? 'https://hooks.slack.test/actions/T0001/2/xyz',
    actions: [
      {
        type: 'button',
        action_id: input.actionId,
        block_id: 'approval_actions',
        text: { type: 'plain_text', text: 'Approve', emoji: true },
        value: input.value,
        action_ts: '1700000001.000200',
      },
    ],
  };
}

/** A `block_actions` payload for an element inside a modal. */
export function viewActionPayload(input: {
  userId: string;
  viewId: string;
  callbackId: string;
  privateMetadata: string;
  action: Record<string, unknown>;
  triggerId?: string;
}) {
  return {
    type: 'block_actions',
    user: user(input.userId),
    api_app_id: 'A0001',
    token: 'deprecated-verification-token',
    container: { type: 'view', view_id: input.viewId },
    trigger_id: input.triggerId ?? '5555.6666.trigger',
    team: TEAM,
    view: {
      id: input.viewId,
      team_id: TEAM.id,
      type: 'modal',
      callback_id: input.callbackId,
      private_metadata: input.privateMetadata,
      hash: '1700000000.abc',
      state: { values: {} },
      blocks: [],
    },
    actions: [{ action_ts: '1700000001.000300', ...input.action }],
  };
}

/** A `view_submission` payload. */
export function viewSubmissionPayload(input: {
  userId: string;
  viewId: string;
  callbackId: string;
  privateMetadata: string;
  values: Record<string, Record<string, unknown>>;
  /** The view's blocks as Slack sends them back; default: one input block per key of `values`. */
  blocks?: unknown[];
}) {
  const blocks =
    input.blocks ??
    Object.keys(input.values).map((blockId) => ({
      type: 'input',
      block_id: blockId,
      label: { type: 'plain_text', text: blockId },
      element: { type: 'plain_text_input' },
    }));
  return {
    type: 'view_submission',
    team: TEAM,
    user: user(input.userId),
    api_app_id: 'A0001',
    token: 'deprecated-verification-token',
    trigger_id: '7777.8888.trigger',
    view: {
      id: input.viewId,
      team_id: TEAM.id,
      type: 'modal',
      callback_id: input.callbackId,
      private_metadata: input.privateMetadata,
      hash: '1700000000.def',
      state: { values: input.values },
      blocks,
      title: { type: 'plain_text', text: 'Revoke Tokens' },
    },
    response_urls: [],
    is_enterprise_install: false,
  };
}

/** A `block_suggestion` payload (external_select typing). */
export function blockSuggestionPayload(input: {
  userId: string;
  actionId: string;
  blockId: string;
  value: string;
  privateMetadata: string;
}) {
  return {
    type: 'block_suggestion',
    user: user(input.userId),
    container: { type: 'view', view_id: 'V_SUGGEST' },
    api_app_id: 'A0001',
    token: 'deprecated-verification-token',
    action_id: input.actionId,
    block_id: input.blockId,
    value: input.value,
    team: TEAM,
    view: {
      id: 'V_SUGGEST',
      type: 'modal',
      callback_id: 'revoke_scope',
      private_metadata: input.privateMetadata,
      state: { values: {} },
      blocks: [],
    },
  };
}

/** Events API envelope for `app_home_opened` (JSON body). */
export function appHomeOpenedBody(userId: string): string {
  return JSON.stringify({
    token: 'deprecated-verification-token',
    team_id: TEAM.id,
    api_app_id: 'A0001',
    type: 'event_callback',
    event_id: `Ev${Date.now()}`,
    event_time: Math.floor(Date.now() / 1000),
    event: { type: 'app_home_opened', user: userId, channel: 'D0001', tab: 'home', event_ts: '1700000000.1' },
  });
}

export interface SlackCall {
  method: string;
  args: Record<string, unknown>;
  /** The Authorization header the client sent. */
  authorization: string | null;
  /** When the stand-in received it (ms). */
  at: number;
  /** What the stand-in answered (e.g. the `ts` of a posted message). */
  answer?: Record<string, unknown>;
}

/** How long `next`/`nextResponse` wait before failing with what was expected and what came. */
export const SLACK_CALL_TIMEOUT_MS = 5000;

function describeCalls(calls: SlackCall[]): string {
  if (calls.length === 0) return 'no call';
  return calls.map((c) => `${c.method} ${JSON.stringify(c.args).slice(0, 160)}`).join('\n  ');
}

/**
 * msw standing in for the Slack Web API at `apiUrl` (WebClient posts form-encoded args, JSON-encoding
 * objects) and for `response_url`s under `https://hooks.slack.test/`. Records every call; `next(method)`
 * resolves on the next call of that method; `respond` overrides an answer.
 */
export class SlackApiStub {
  readonly calls: SlackCall[] = [];
  /** Calls the contract refused (answered `invalid_blocks`/`invalid_arguments`, as Slack does). */
  readonly refused: SlackCall[] = [];
  /** Socket Mode: what `apps.connections.open` answers (a ws:// URL of a SocketModeStandIn). */
  socketUrl: (() => string) | undefined;
  readonly responses: { url: string; body: Record<string, unknown> }[] = [];
  readonly server: SetupServer;
  private waiters: { match: (c: SlackCall) => boolean; resolve: (c: SlackCall) => void }[] = [];
  private responseWaiters: ((b: Record<string, unknown>) => void)[] = [];
  /** Per-method override: return a Response to answer instead of the default. */
  overrides = new Map<string, (call: SlackCall) => Response | undefined>();
  /**
   * The one Web API stand-in (src/slack-contract). Tests post hand-built payloads whose trigger_ids, view
   * ids and message ts never came from it, so unknown ids are accepted; issued ones keep every rule.
   */
  api: SlackWebApi = this.newApi();

  constructor(readonly apiUrl = 'http://slack.test/api/') {
    this.server = setupServer(
      http.post(`${apiUrl}:method`, async ({ request, params }) => {
        const method = String(params.method);
        const args = await readArgs(request);
        const authorization = request.headers.get('authorization');
        const call = { method, args, authorization, at: Date.now() };
        const token = authorization?.startsWith('Bearer ') ? authorization.slice(7) : null;
        // The contract comes first: no override can make the stand-in accept what Slack refuses.
        const refusal = this.api.refuse(method, args, token);
        if (refusal) {
          this.refused.push(call);
          return HttpResponse.json(refusal);
        }
        const override = this.overrides.get(method)?.(call);
        if (override) return override;
        const answer = this.api.answer(method, args, token);
        this.calls.push({ ...call, answer });
        const ready = this.waiters.filter((w) => w.match(call));
        this.waiters = this.waiters.filter((w) => !ready.includes(w));
        for (const w of ready) w.resolve({ ...call, answer });
        return HttpResponse.json(answer);
      }),
      http.post('https://hooks.slack.test/*', async ({ request }) => {
        const body = (await request.json()) as Record<string, unknown>;
        // Slack answers a refused response_url post with a 4xx and the error as text.
        const violation = enforce('response_url', body);
        if (violation) return HttpResponse.text(violation.error, { status: 400 });
        this.responses.push({ url: request.url, body });
        const w = this.responseWaiters.shift();
        w?.(body);
        return HttpResponse.text('ok');
      }),
    );
  }

  private newApi(): SlackWebApi {
    return new SlackWebApi({
      session: { refuseUnknownIds: false },
      socketUrl: () => this.socketUrl?.(),
      observer: testObserver,
    });
  }

  listen(): void {
    this.server.listen({ onUnhandledFrame: 'bypass' });
  }
  close(): void {
    this.server.close();
  }
  reset(): void {
    this.calls.length = 0;
    this.refused.length = 0;
    this.responses.length = 0;
    this.overrides.clear();
    this.api = this.newApi();
  }

  /**
   * Resolves with the next call matching `method` (and `match`), or one already recorded after `since`;
   * fails after `timeoutMs` saying what was expected and listing the calls that came instead.
   */
  next(
    method: string,
    match: (c: SlackCall) => boolean = () => true,
    since = 0,
    timeoutMs = SLACK_CALL_TIMEOUT_MS,
  ): Promise<SlackCall> {
    const seen = this.calls.slice(since).find((c) => c.method === method && match(c));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        match: (c: SlackCall) => c.method === method && match(c),
        resolve: (c: SlackCall) => {
          clearTimeout(timer);
          resolve(c);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new Error(
            `no ${method} matching ${match.toString()} within ${timeoutMs} ms; came instead:\n  ${describeCalls(this.calls.slice(since))}`,
          ),
        );
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Resolves with the next body POSTed to a response_url (or one already received after `since`). */
  nextResponse(since = 0, timeoutMs = SLACK_CALL_TIMEOUT_MS): Promise<Record<string, unknown>> {
    const seen = this.responses[since];
    if (seen) return Promise.resolve(seen.body);
    return new Promise((resolve, reject) => {
      const waiter = (b: Record<string, unknown>) => {
        clearTimeout(timer);
        resolve(b);
      };
      const timer = setTimeout(() => {
        this.responseWaiters = this.responseWaiters.filter((w) => w !== waiter);
        const came = this.responses.slice(since).map((r) => JSON.stringify(r.body).slice(0, 160));
        reject(
          new Error(
            `no response_url post within ${timeoutMs} ms; came: ${came.length ? came.join(' | ') : 'nothing'}; Web API calls meanwhile:\n  ${describeCalls(this.calls.slice(-5))}`,
          ),
        );
      }, timeoutMs);
      this.responseWaiters.push(waiter);
    });
  }
}

async function readArgs(request: Request): Promise<Record<string, unknown>> {
  const text = await request.text();
  const type = request.headers.get('content-type') ?? '';
  if (type.includes('json')) return JSON.parse(text) as Record<string, unknown>;
  const args: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(text)) {
    args[k] = (v.startsWith('{') || v.startsWith('[')) && isJson(v) ? JSON.parse(v) : v;
  }
  return args;
}

function isJson(v: string): boolean {
  try {
    JSON.parse(v);
    return true;
  } catch {
    return false;
  }
}

/**
 * The Slack variables of a service under test, all pointing at a `SlackApiStub` on `api`: signing secret,
 * bot token, Web API URL, approvals and notify channels (realistic `C0…` ids).
 */
export function slackServiceEnv(name: string): { secret: string; api: string; env: Record<string, string> } {
  const secret = `${name}-signing-secret`;
  const api = `http://slack.${name}.test/api/`;
  return {
    secret,
    api,
    env: {
      SLACK_SIGNING_SECRET: secret,
      SLACK_BOT_TOKEN: `xoxb-${name}`,
      SLACK_API_URL: api,
      SLACK_APPROVALS_CHANNEL: 'C0APPROVALS',
      SLACK_NOTIFY_CHANNEL: 'C0NOTIFY',
    },
  };
}
