import { createHash, randomUUID } from 'node:crypto';
import { DelayedError, type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { TERMINAL_STATES } from '../domain/request.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { MessageBody } from './block-kit.ts';
import { escapeText } from './escape.ts';
import type { SlackMessageStore } from './message-store.ts';
import { buildApprovalMessage } from './messages/approval-message.ts';
import { buildAutomatedRequestNotice } from './messages/notify-messages.ts';
import { isPermanentSlackError, TOKEN_ERRORS } from './slack-errors.ts';

export const SLACK_OUTBOX_QUEUE = 'slack-outbox';

/**
 * One Slack Web API call. `render` fills the blocks from the newest stored request state when the job
 * runs (and, for chat.update, the channel and ts of the request's message), so a delayed or coalesced
 * job never shows an older state than the latest event. `saveMessageFor` stores the posted message's
 * `{channel, ts}` for later in-place updates.
 */
export const OutboxJobSchema = z.object({
  method: z.string().regex(/^[a-z]+\.[A-Za-z.]+$/),
  args: z.record(z.string(), z.unknown()),
  render: z.object({ requestId: z.string(), kind: z.enum(['approval', 'notice']) }).optional(),
  saveMessageFor: z.string().optional(),
  /** The request a message is about: a permanent refusal is reported to its Slack requester, if any. */
  about: z.object({ requestId: z.string(), requester: z.string().optional() }).optional(),
});
export type OutboxJob = z.infer<typeof OutboxJobSchema>;

/** The WebClient surface the worker needs (`apiCall`), so tests can pass a fake. */
export interface OutboxClient {
  apiCall(
    method: string,
    args?: Record<string, unknown>,
  ): Promise<{ ok?: boolean; channel?: string; ts?: string }>;
}

/** Refusals about the message itself (Block Kit) or where it goes: loud, never silently dropped. */
const CONTENT_ERRORS = new Set([
  'invalid_blocks',
  'invalid_arguments',
  'msg_too_long',
  'no_text',
  'msg_blocks_too_long',
  'invalid_blocks_format',
]);
const CHANNEL_ERRORS = new Set(['channel_not_found', 'not_in_channel', 'is_archived']);

/** Message not posted yet (its post job is still queued): retry the update later. */
class MessageNotYetPostedError extends Error {}

const ErrorShape = z.object({
  code: z.string().optional(),
  retryAfter: z.number().optional(),
  data: z
    .object({
      error: z.string().optional(),
      response_metadata: z.object({ messages: z.array(z.string()).optional() }).optional(),
    })
    .optional(),
});

const digest = (body: Record<string, unknown>): string =>
  createHash('sha256')
    .update(JSON.stringify({ text: body.text, blocks: body.blocks }))
    .digest('base64url');

/** Where the notify channel's notice of a request is remembered (the approval message uses the id). */
export function noticeRef(requestId: string): string {
  return `notice:${requestId}`;
}

function messageKey(render: NonNullable<OutboxJob['render']>): string {
  return render.kind === 'notice' ? noticeRef(render.requestId) : render.requestId;
}

/** BullMQ ids may not contain ':'; request ids may. */
export function jobId(...parts: (string | number)[]): string {
  return parts.map((p) => String(p).replace(/:/g, '_')).join('-');
}

export interface SlackOutboxOptions {
  /** BullMQ needs `maxRetriesPerRequest: null` on this connection. */
  connection: Redis;
  prefix: string;
  store: SlackMessageStore;
  logger: Logger;
  /** `revoker_slack_refusals_total`: messages Slack refused for good. */
  metrics?: Metrics;
  /**
   * Progress updates within this window become one chat.update: at most one progress update per message
   * per window reaches Slack (chat.update is Tier 3, ~50/min per workspace). Default 3,000 ms.
   */
  coalesceMs?: number;
  /**
   * State changes on the way to an outcome (approval recorded, approved, queued, started) wait this long,
   * so a burst of them renders once, as the newest state. Outcomes go at once. Default 1,000 ms.
   */
  settleMs?: number;
  attempts?: number;
  backoffMs?: number;
  /**
   * The workspace's chat.update budget, shared by every request and every process on this Redis (one
   * bot token, one workspace): chat.update is Tier 3, "about 50 per minute"
   * (https://docs.slack.dev/apis/web-api/rate-limits), so by default 45 leave room for other callers.
   * Never more in any rolling minute; progress and intermediate updates use two thirds of it (waiting for
   * a slot, coalescing into the newest state meanwhile), so outcomes can go at once. Default 45.
   */
  updatesPerMinute?: number;
  /** Several connections configured: the approval message names the connection a request belongs to. */
  severalConnections?: boolean;
}

/**
 * The workspace's chat.update budget in Redis. KEYS[1]: a log of the last minute's updates (sorted set),
 * KEYS[2]: when the next progress update may go. Answers 0 when the caller may send now (and records
 * it), or the time to try again: never more than `cap` in any rolling minute, and progress (not `force`)
 * at most one per `interval`, so that a third of the budget stays for outcomes, which go at once.
 */
const TAKE_SLOT = `
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local force = ARGV[4] == '1'
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000)
if redis.call('ZCARD', KEYS[1]) >= cap then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tonumber(oldest[2]) + 60000
end
if not force then
  local nextAt = tonumber(redis.call('GET', KEYS[2]) or '0')
  if nextAt > now then return nextAt end
  redis.call('SET', KEYS[2], now + interval, 'PX', math.floor(interval + 60000))
end
redis.call('ZADD', KEYS[1], now, ARGV[5])
redis.call('PEXPIRE', KEYS[1], 61000)
return 0
`;

/**
 * Every message Revoker sends to Slack goes through this BullMQ queue: `enqueue` is a Redis write, so a
 * Slack outage or rate limit delays a message and never a revocation. The worker retries with backoff,
 * and on a 429 waits exactly the Retry-After Slack gave.
 */
export class SlackOutbox {
  readonly queue: Queue<OutboxJob>;
  private worker: Worker<OutboxJob> | undefined;
  readonly coalesceMs: number;
  readonly settleMs: number;
  /** At most this many chat.update calls of the workspace in any rolling minute. */
  readonly updatesPerMinute: number;
  /** ms between two progress updates of the workspace: two thirds of the budget, the rest for outcomes. */
  readonly updateIntervalMs: number;
  /** chat.update calls that waited for the workspace budget (counted for the bench and tests). */
  budgetWaits = 0;

  constructor(private readonly options: SlackOutboxOptions) {
    this.coalesceMs = options.coalesceMs ?? 3000;
    this.updatesPerMinute = options.updatesPerMinute ?? 45;
    this.updateIntervalMs = 60_000 / ((this.updatesPerMinute * 2) / 3);
    this.settleMs = options.settleMs ?? 1000;
    this.queue = new Queue<OutboxJob>(SLACK_OUTBOX_QUEUE, {
      connection: options.connection,
      prefix: options.prefix,
      defaultJobOptions: {
        attempts: options.attempts ?? 10,
        backoff: { type: 'exponential', delay: options.backoffMs ?? 1000 },
        // Kept a day so a re-delivered event with the same job id sends nothing twice.
        removeOnComplete: { age: 24 * 3600, count: 10_000 },
        removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
      },
    });
  }

  /** Adds one call. A job id already present ⇒ nothing new (BullMQ dedupe). */
  async enqueue(
    job: OutboxJob,
    opts: { jobId?: string; delay?: number; removeOnComplete?: boolean } = {},
  ): Promise<void> {
    await this.queue.add(job.method, OutboxJobSchema.parse(job), {
      ...(opts.jobId ? { jobId: opts.jobId } : {}),
      ...(opts.delay ? { delay: opts.delay } : {}),
      ...(opts.removeOnComplete ? { removeOnComplete: true } : {}),
    });
  }

  async post(channel: string, body: MessageBody, id?: string, about?: OutboxJob['about']): Promise<void> {
    await this.enqueue(
      { method: 'chat.postMessage', args: { channel, ...body }, ...(about ? { about } : {}) },
      id ? { jobId: id } : {},
    );
  }

  /** Posts the approval message for a request (rendered at send time) and remembers where it is. */
  async postApproval(requestId: string, channel: string, requester?: string): Promise<void> {
    await this.enqueue(
      {
        method: 'chat.postMessage',
        args: { channel },
        render: { requestId, kind: 'approval' },
        saveMessageFor: requestId,
        about: { requestId, ...(requester ? { requester } : {}) },
      },
      { jobId: jobId('approval', requestId) },
    );
  }

  /**
   * Re-renders the approval message in place. Coalesced updates share one job per time window (the
   * job renders the newest state when it runs); others get their own job keyed by `key`.
   */
  async updateApproval(
    requestId: string,
    options: { coalesce: boolean; key: string; settle?: boolean },
  ): Promise<void> {
    const job: OutboxJob = { method: 'chat.update', args: {}, render: { requestId, kind: 'approval' } };
    if (!options.coalesce) {
      await this.enqueue(job, {
        jobId: jobId('update', requestId, options.key),
        removeOnComplete: true,
        ...(options.settle ? { delay: this.settleMs } : {}),
      });
      return;
    }
    const now = Date.now();
    const window = Math.floor(now / this.coalesceMs);
    await this.enqueue(job, {
      jobId: jobId('progress', requestId, window),
      delay: (window + 1) * this.coalesceMs - now,
      removeOnComplete: true,
    });
  }

  /**
   * Posts the notify channel's notice of an HR/SCIM request (rendered at send time) and stores its `ts`
   * (under `noticeRef(requestId)`), so reschedule, start, cancel and outcome update it in place.
   */
  async postNotice(requestId: string, channel: string): Promise<void> {
    await this.enqueue(
      {
        method: 'chat.postMessage',
        args: { channel },
        render: { requestId, kind: 'notice' },
        saveMessageFor: noticeRef(requestId),
        about: { requestId },
      },
      { jobId: jobId('announce', requestId) },
    );
  }

  /** Re-renders the notice in place from the newest state (one job per state change, `key`). */
  async updateNotice(requestId: string, key: string): Promise<void> {
    await this.enqueue(
      { method: 'chat.update', args: {}, render: { requestId, kind: 'notice' } },
      { jobId: jobId('notice', requestId, key), removeOnComplete: true },
    );
  }

  /** Starts a worker in this process (role `worker`/`all`). */
  startWorker(client: OutboxClient, options: { concurrency?: number } = {}): Worker<OutboxJob> {
    if (this.worker) return this.worker;
    this.worker = new Worker<OutboxJob>(
      SLACK_OUTBOX_QUEUE,
      (job, token) => this.process(client, job, token),
      {
        connection: this.options.connection,
        prefix: this.options.prefix,
        // Low concurrency keeps in-place updates of one message in order; Slack's limits are per method anyway.
        concurrency: options.concurrency ?? 2,
      },
    );
    this.worker.on('failed', (job, err) => {
      this.options.logger.warn(
        {
          queue: SLACK_OUTBOX_QUEUE,
          method: job?.data.method,
          attempts: job?.attemptsMade,
          err: err.message,
        },
        'slack-outbox: call failed',
      );
    });
    this.worker.on('error', (err) =>
      this.options.logger.warn({ err: err.message }, 'slack-outbox: worker error'),
    );
    return this.worker;
  }

  /** The approval message from the newest stored state; `final` when that state is an outcome. */
  private async render(
    requestId: string,
    data: OutboxJob,
  ): Promise<{ args: Record<string, unknown>; final: boolean } | undefined> {
    const { store } = this.options;
    const state = await store.getState(requestId);
    if (!state) return undefined;
    const body =
      data.render?.kind === 'notice'
        ? buildAutomatedRequestNotice(state)
        : buildApprovalMessage(state, { severalConnections: this.options.severalConnections === true });
    const final = TERMINAL_STATES.includes(state.state);
    if (data.method !== 'chat.update') return { args: { ...data.args, ...body }, final };
    const ref = await store.getMessage(messageKey(data.render!));
    if (!ref) throw new MessageNotYetPostedError(`message of ${requestId} not posted yet`);
    return { args: { ...data.args, ...body, channel: ref.channel, ts: ref.ts }, final };
  }

  /**
   * Exposed for tests: one job's work. A rendered message is sent under its request's lock, rendered
   * from the newest state, and a chat.update identical to what the message shows is not sent.
   */
  async process(client: OutboxClient, job: Job<OutboxJob>, token?: string): Promise<void> {
    const data = OutboxJobSchema.parse(job.data);
    if (!data.render) return this.send(client, job, data, data.args, token);
    const { store } = this.options;
    const requestId = data.render.requestId;
    // The approval message and the notify channel's notice are two messages: each its own lock and state.
    const key = messageKey(data.render);
    const owner = randomUUID();
    if (!(await store.lock(key, owner))) {
      // Another job is sending this message: try again shortly, without using up an attempt.
      await job.moveToDelayed(Date.now() + 200, token);
      throw new DelayedError();
    }
    try {
      const rendered = await this.render(requestId, data);
      if (!rendered) return;
      const { args, final } = rendered;
      const shown = digest(args);
      const current = await store.getShown(key);
      if (data.method === 'chat.update' && current?.digest === shown) {
        this.options.logger.debug({ requestId }, 'slack-outbox: message already shows this; not updated');
        return;
      }
      const due = (current?.at ?? 0) + this.coalesceMs;
      if (data.method === 'chat.update' && !final && due > Date.now()) {
        // The message changed less than a window ago: show the newest state at the window's end. An
        // outcome is never held back.
        await job.moveToDelayed(due, token);
        throw new DelayedError();
      }
      if (data.method === 'chat.update') {
        const freeAt = await this.takeUpdateSlot(final);
        if (freeAt > 0) {
          // The workspace's budget is spent for now: wait for the next slot (the newest state is rendered
          // then), without using up an attempt.
          this.budgetWaits++;
          await job.moveToDelayed(freeAt + Math.floor(Math.random() * 50), token);
          throw new DelayedError();
        }
      }
      await this.send(client, job, data, args, token);
      await store.setShown(key, { digest: shown, at: Date.now() });
    } finally {
      await store.unlock(key, owner);
    }
  }

  /** 0 when a chat.update may go now (its slot taken), else when the workspace's next slot is free. */
  private async takeUpdateSlot(force: boolean): Promise<number> {
    const key = `${this.options.prefix}:slack:budget:chat.update`;
    const res = await this.options.connection.eval(
      TAKE_SLOT,
      2,
      `${key}:log`,
      `${key}:next`,
      String(Date.now()),
      String(this.updateIntervalMs),
      String(this.updatesPerMinute),
      force ? '1' : '0',
      randomUUID(),
    );
    return Number(res);
  }

  private async send(
    client: OutboxClient,
    job: Job<OutboxJob>,
    data: OutboxJob,
    args: Record<string, unknown>,
    token?: string,
  ): Promise<void> {
    let result: { channel?: string; ts?: string };
    try {
      result = await client.apiCall(data.method, args);
    } catch (err) {
      const e = ErrorShape.safeParse(err);
      const code = e.success ? e.data.code : undefined;
      if (code === 'slack_webapi_rate_limited_error' && e.success) {
        const waitMs = Math.max(1, e.data.retryAfter ?? 1) * 1000;
        this.options.logger.info({ method: data.method, waitMs }, 'slack-outbox: rate limited, delaying');
        // Waiting out Slack's Retry-After is not a failure: it does not use up an attempt.
        await job.moveToDelayed(Date.now() + waitMs, token);
        throw new DelayedError();
      }
      const slackError = e.success ? e.data.data?.error : undefined;
      if (slackError && isPermanentSlackError(data.method, slackError)) {
        const rule = e.success ? e.data.data?.response_metadata?.messages?.[0] : undefined;
        await this.reportRefusal(data, args, slackError, rule);
        throw new UnrecoverableError(`slack ${data.method}: ${slackError}`);
      }
      throw err;
    }
    if (data.saveMessageFor && result.channel && result.ts) {
      await this.options.store.saveMessage(data.saveMessageFor, { channel: result.channel, ts: result.ts });
    }
  }

  /**
   * A message Slack refused for good is a message nobody saw: logged as an error with Slack's rule,
   * counted, and — for Block Kit and channel refusals of a post about a request — told to the Slack user
   * who asked, in a DM plain enough not to be refused the same way.
   */
  private async reportRefusal(
    data: OutboxJob,
    args: Record<string, unknown>,
    error: string,
    rule: string | undefined,
  ): Promise<void> {
    const channel = typeof args.channel === 'string' ? args.channel : undefined;
    const about = data.about;
    this.options.metrics?.slackRefusals.inc({ method: data.method, error });
    this.options.logger.error(
      { method: data.method, channel, error, rule, requestId: about?.requestId },
      'slack-outbox: Slack refused a message; it was not delivered',
    );
    const requester = about?.requester;
    // Every permanent refusal of a message about a request is told to its requester, except to the
    // requester's own DM (it is what failed) and for the bot's own token (the DM would fail alike).
    if (!about || !requester || channel === requester || TOKEN_ERRORS.has(error)) return;
    if (data.method !== 'chat.postMessage' && data.method !== 'chat.update') return;
    const where = channel && /^[CG][A-Z0-9]+$/.test(channel) ? `<#${channel}>` : 'its channel';
    const why = CHANNEL_ERRORS.has(error)
      ? `Revoker cannot post there (\`${error}\`: the bot may need \`/invite\`)`
      : CONTENT_ERRORS.has(error)
        ? `Slack refused the message (\`${error}\`)`
        : `Slack does not allow it there (\`${error}\`)`;
    const approval = data.render?.kind === 'approval' && data.method === 'chat.postMessage';
    const verb = data.method === 'chat.update' ? 'updated in' : 'posted to';
    const text = `:warning: A message about your revocation request \`${escapeText(about.requestId, 128)}\` could not be ${verb} ${where}. ${why}. ${approval ? 'Approvers were not notified there: ask one to approve it from the Revoker App Home. ' : ''}An admin can find the details in Revoker's logs.`;
    await this.enqueue(
      { method: 'chat.postMessage', args: { channel: requester, text } },
      { jobId: jobId('refused', about.requestId, data.method, channel ?? '-') },
    ).catch((err: unknown) =>
      this.options.logger.warn(
        { err: String(err), requestId: about.requestId },
        'slack-outbox: could not queue the refusal DM',
      ),
    );
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}
