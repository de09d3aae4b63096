import { DelayedError, type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Logger } from '../log.ts';
import type { MessageBody } from './block-kit.ts';
import type { SlackMessageStore } from './message-store.ts';
import { buildApprovalMessage } from './messages/approval-message.ts';

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
  render: z.object({ requestId: z.string(), kind: z.literal('approval') }).optional(),
  saveMessageFor: z.string().optional(),
});
export type OutboxJob = z.infer<typeof OutboxJobSchema>;

/** The WebClient surface the worker needs (`apiCall`), so tests can pass a fake. */
export interface OutboxClient {
  apiCall(
    method: string,
    args?: Record<string, unknown>,
  ): Promise<{ ok?: boolean; channel?: string; ts?: string }>;
}

/** Slack errors no retry will fix: drop the job (logged) instead of retrying for hours. */
const PERMANENT_SLACK_ERRORS = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'invalid_auth',
  'account_inactive',
  'token_revoked',
  'missing_scope',
  'message_not_found',
  'cant_update_message',
  'invalid_blocks',
  'invalid_arguments',
  'user_not_found',
  'cannot_dm_bot',
]);

/** Message not posted yet (its post job is still queued): retry the update later. */
class MessageNotYetPostedError extends Error {}

const ErrorShape = z.object({
  code: z.string().optional(),
  retryAfter: z.number().optional(),
  data: z.object({ error: z.string().optional() }).optional(),
});

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
  /** Progress updates within this window become one chat.update. */
  coalesceMs?: number;
  attempts?: number;
  backoffMs?: number;
}

/**
 * Every message Revoker sends to Slack goes through this BullMQ queue: `enqueue` is a Redis write, so a
 * Slack outage or rate limit delays a message and never a revocation. The worker retries with backoff,
 * and on a 429 waits exactly the Retry-After Slack gave.
 */
export class SlackOutbox {
  readonly queue: Queue<OutboxJob>;
  private worker: Worker<OutboxJob> | undefined;
  readonly coalesceMs: number;

  constructor(private readonly options: SlackOutboxOptions) {
    this.coalesceMs = options.coalesceMs ?? 1500;
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

  async post(channel: string, body: MessageBody, id?: string): Promise<void> {
    await this.enqueue({ method: 'chat.postMessage', args: { channel, ...body } }, id ? { jobId: id } : {});
  }

  /** Posts the approval message for a request (rendered at send time) and remembers where it is. */
  async postApproval(requestId: string, channel: string): Promise<void> {
    await this.enqueue(
      {
        method: 'chat.postMessage',
        args: { channel },
        render: { requestId, kind: 'approval' },
        saveMessageFor: requestId,
      },
      { jobId: jobId('approval', requestId) },
    );
  }

  /**
   * Re-renders the approval message in place. Coalesced updates share one job per time window (the
   * job renders the newest state when it runs); others get their own job keyed by `key`.
   */
  async updateApproval(requestId: string, options: { coalesce: boolean; key: string }): Promise<void> {
    const job: OutboxJob = { method: 'chat.update', args: {}, render: { requestId, kind: 'approval' } };
    if (!options.coalesce) {
      await this.enqueue(job, { jobId: jobId('update', requestId, options.key), removeOnComplete: true });
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

  private async resolveArgs(data: OutboxJob): Promise<Record<string, unknown> | undefined> {
    if (!data.render) return data.args;
    const { store } = this.options;
    const state = await store.getState(data.render.requestId);
    if (!state) return undefined;
    const body = buildApprovalMessage(state);
    if (data.method !== 'chat.update') return { ...data.args, ...body };
    const ref = await store.getMessage(data.render.requestId);
    if (!ref)
      throw new MessageNotYetPostedError(`approval message of ${data.render.requestId} not posted yet`);
    return { ...data.args, ...body, channel: ref.channel, ts: ref.ts };
  }

  /** Exposed for tests: one job's work. */
  async process(client: OutboxClient, job: Job<OutboxJob>, token?: string): Promise<void> {
    const data = OutboxJobSchema.parse(job.data);
    const args = await this.resolveArgs(data);
    if (!args) return;
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
      if (slackError && PERMANENT_SLACK_ERRORS.has(slackError)) {
        throw new UnrecoverableError(`slack ${data.method}: ${slackError}`);
      }
      throw err;
    }
    if (data.saveMessageFor && result.channel && result.ts) {
      await this.options.store.saveMessage(data.saveMessageFor, { channel: result.channel, ts: result.ts });
    }
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}
