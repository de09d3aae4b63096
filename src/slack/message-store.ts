import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { RequestRecord } from '../intake/types.ts';

const MessageRefSchema = z.object({ channel: z.string().min(1), ts: z.string().min(1) });
export type MessageRef = z.infer<typeof MessageRefSchema>;
const ShownSchema = z.object({ digest: z.string(), at: z.number() });

/** Approval messages live for the request's lifetime plus a margin; a month covers any workflow. */
const TTL_SECONDS = 30 * 24 * 3600;

/**
 * Where each request's approval message is (`{prefix}:slack:msg:{requestId}` → `{channel, ts}`), and the
 * latest request state the message should show (`{prefix}:slack:state:{requestId}`), so an update job
 * renders whatever is newest when it runs: that is what coalesces bursts of progress.
 */
export class SlackMessageStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  msgKey(requestId: string): string {
    return `${this.prefix}:slack:msg:${requestId}`;
  }
  private stateKey(requestId: string): string {
    return `${this.prefix}:slack:state:${requestId}`;
  }

  async saveMessage(requestId: string, ref: MessageRef): Promise<void> {
    await this.redis.set(this.msgKey(requestId), JSON.stringify(ref), 'EX', TTL_SECONDS);
  }

  async getMessage(requestId: string): Promise<MessageRef | undefined> {
    const raw = await this.redis.get(this.msgKey(requestId));
    if (!raw) return undefined;
    const parsed = MessageRefSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  }

  /**
   * Records the newest state, unless the stored one is newer (events may arrive out of order across
   * workers): a terminal state or a later `updatedAt` is never replaced by an older one.
   */
  async saveState(r: RequestRecord): Promise<void> {
    const key = this.stateKey(r.id);
    const current = await this.getState(r.id);
    if (current && current.updatedAt > r.updatedAt) return;
    if (current && current.updatedAt === r.updatedAt && current.progress.done > r.progress.done) return;
    await this.redis.set(key, JSON.stringify(r), 'EX', TTL_SECONDS);
  }

  private shownKey(requestId: string): string {
    return `${this.prefix}:slack:shown:${requestId}`;
  }
  private lockKey(requestId: string): string {
    return `${this.prefix}:slack:lock:${requestId}`;
  }

  /** A digest of what the request's approval message shows now (what Slack last accepted), and since when. */
  async getShown(requestId: string): Promise<{ digest: string; at: number } | undefined> {
    const raw = await this.redis.get(this.shownKey(requestId));
    const parsed = raw ? ShownSchema.safeParse(JSON.parse(raw)) : undefined;
    return parsed?.success ? parsed.data : undefined;
  }

  async setShown(requestId: string, shown: { digest: string; at: number }): Promise<void> {
    await this.redis.set(this.shownKey(requestId), JSON.stringify(shown), 'EX', TTL_SECONDS);
  }

  /**
   * One render-and-send of a request's message at a time (any worker process), so the message always
   * ends on the newest state and an identical update is recognised. Expires on its own after `ttlMs`.
   */
  async lock(requestId: string, owner: string, ttlMs = 15_000): Promise<boolean> {
    return (await this.redis.set(this.lockKey(requestId), owner, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async unlock(requestId: string, owner: string): Promise<void> {
    // Only the owner releases: a lock that expired and was taken by another job stays theirs.
    await this.redis.eval(
      "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end",
      1,
      this.lockKey(requestId),
      owner,
    );
  }

  async getState(requestId: string): Promise<RequestRecord | undefined> {
    const raw = await this.redis.get(this.stateKey(requestId));
    // Written only by saveState from a RequestRecord; trusted shape.
    return raw ? (JSON.parse(raw) as RequestRecord) : undefined;
  }
}
