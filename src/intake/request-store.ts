import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RequestState } from '../domain/request.ts';
import { RecordSchema, type StoredRecord } from './record-schema.ts';
import { APPROVE, CANCEL_VOTE, CREATE, TRANSITION } from './request-scripts.ts';
import { RequestWorkingSets } from './request-working-sets.ts';
import type { ListFilter, RequestRecord } from './types.ts';

export type { StoredPlan } from './request-working-sets.ts';

/**
 * Requests and their lifecycle in Redis. Every state change is one Lua script (src/intake/request-scripts.ts),
 * so two processes (two approvers clicking at once, approve racing deny, a worker racing a cancel) get one
 * outcome. The per-request working sets (done, failed, failwhy, plan, scope, bulk, answer, revoked) are kept
 * by the base class, RequestWorkingSets (src/intake/request-working-sets.ts).
 *
 * Keys (under `${prefix}:req:`):
 *   {id}            JSON RequestRecord
 *   state:{state}   SET of ids in that state (reconciler, App Home)
 *   recent          ZSET id by createdAt
 *   by:{actorId}    ZSET id by createdAt, per requester
 *   src:{source}    ZSET id by createdAt, per source
 *   done:{id}       SET of settled step keys, done or finally failed (progress that survives retries)
 *   failed:{id}     SET of step keys whose job finally failed
 *   plan:{id}       HASH: the plan as made once (steps, sweep, since, total), so a rerun re-adds the same steps
 *   idem:{sha256}   id of the request created under an idempotency key (ids themselves are random)
 *   scope:{id}      HASH tokenId → userId: the listing the plan made, the request's record of its scope
 *   bulk:{id}       SET of step keys whose bulk call was attempted (a rerun reconciles instead)
 *   answer:{id}     HASH step key → JSON of what its bulk call answered (a rerun trusts the call's own answer)
 *   failwhy:{id}    HASH step key → why its job finally failed (an error code), for the outcome's parts
 *   revoked:{id}    SET of token ids the request revoked (the result count)
 *   events          pub/sub channel: `{"id","state"}` after each change
 */
export interface RequestStoreOptions {
  redis: Redis;
  /** Key prefix shared by every Revoker key. */
  prefix: string;
}

/**
 * How long an idempotency key keeps pointing at its request when the caller names no TTL: one day. The
 * intake names one per source (src/intake/idempotency-ttl.ts), just longer than that source's redelivery window.
 */
const DEFAULT_IDEMPOTENCY_TTL_SECONDS = 86_400;

export type TransitionResult =
  | { ok: true; record: RequestRecord; from: RequestState }
  | { ok: false; reason: 'missing' }
  | { ok: false; reason: 'state'; record: RequestRecord };

export type ApproveResult =
  | { outcome: 'recorded' | 'approved' | 'expired' | 'already'; record: RequestRecord }
  | { outcome: 'state'; record: RequestRecord }
  | { outcome: 'missing' };

export class RedisRequestStore extends RequestWorkingSets {
  constructor(options: RequestStoreOptions) {
    super(options.redis, `${options.prefix}:req:`);
  }

  get eventsChannel(): string {
    return `${this.base}events`;
  }

  private key(id: string): string {
    return `${this.base}${id}`;
  }

  private parse(raw: string): RequestRecord {
    const { approvalExpiresAtMs: _ignored, ...rest } = JSON.parse(raw) as StoredRecord;
    return RecordSchema.parse(rest) as RequestRecord;
  }

  private idemKey(idempotencyKey: string): string {
    // Hashed: the key may be long or carry characters we do not want in key names.
    return `${this.base}idem:${createHash('sha256').update(idempotencyKey).digest('base64url')}`;
  }

  /** The request created under `idempotencyKey`, if any. */
  async getByIdempotencyKey(idempotencyKey: string): Promise<RequestRecord | undefined> {
    const id = await this.redis.get(this.idemKey(idempotencyKey));
    return id === null ? undefined : this.get(id);
  }

  /**
   * Creates the record unless its id, or another request under the same idempotency key, exists
   * (checked and claimed in one script); returns [record, created].
   */
  async create(
    record: RequestRecord,
    idempotencyKey?: string,
    idempotencyTtlSeconds = DEFAULT_IDEMPOTENCY_TTL_SECONDS,
    /** Listed in `recent`, per requester and per source. Default true; a fanned-out request's children are not. */
    listed = true,
  ): Promise<[RequestRecord, boolean]> {
    const stored: StoredRecord = { ...record };
    if (record.approvalExpiresAt) stored.approvalExpiresAtMs = Date.parse(record.approvalExpiresAt);
    const res = (await this.redis.eval(
      CREATE,
      2,
      this.key(record.id),
      idempotencyKey === undefined ? `${this.base}idem:` : this.idemKey(idempotencyKey),
      JSON.stringify(stored),
      record.id,
      idempotencyKey === undefined ? '0' : '1',
      String(Math.max(1, Math.ceil(idempotencyTtlSeconds))),
    )) as string[];
    if (res[0] !== 'ok') {
      const existingId = res[0] === 'dup' ? res[1]! : record.id;
      const existing = await this.get(existingId);
      if (!existing) throw new Error(`request ${existingId} vanished while being created`);
      return [existing, false];
    }
    const score = Date.parse(record.createdAt);
    const tx = this.redis.multi().sadd(`${this.base}state:${record.state}`, record.id);
    if (listed) {
      tx.zadd(`${this.base}recent`, score, record.id)
        .zadd(`${this.base}by:${record.requestedBy.id}`, score, record.id)
        .zadd(`${this.base}src:${record.source}`, score, record.id);
    }
    await tx.publish(this.eventsChannel, JSON.stringify({ id: record.id, state: record.state })).exec();
    return [record, true];
  }

  async get(id: string): Promise<RequestRecord | undefined> {
    const raw = await this.redis.get(this.key(id));
    return raw === null ? undefined : this.parse(raw);
  }

  async getMany(ids: string[]): Promise<RequestRecord[]> {
    if (ids.length === 0) return [];
    const raws = await this.redis.mget(...ids.map((id) => this.key(id)));
    return raws.filter((r): r is string => r !== null).map((r) => this.parse(r));
  }

  /** Moves `id` from one of `from` to `to`, merging `patch`, atomically. */
  async transition(
    id: string,
    from: readonly RequestState[],
    to: RequestState,
    patch: Partial<RequestRecord> = {},
  ): Promise<TransitionResult> {
    const res = (await this.redis.eval(
      TRANSITION,
      1,
      this.key(id),
      JSON.stringify(from),
      to,
      JSON.stringify({ ...patch, updatedAt: new Date().toISOString() }),
      `${this.base}state:`,
      id,
      this.eventsChannel,
    )) as string[];
    if (res[0] === 'missing') return { ok: false, reason: 'missing' };
    if (res[0] === 'state') return { ok: false, reason: 'state', record: this.parse(res[2]!) };
    return { ok: true, record: this.parse(res[1]!), from: res[2] as RequestState };
  }

  /** Records one approval; moves to `approved` when enough, to `expired` when too late. */
  async approve(id: string, approver: { id: string; name?: string }, now: Date): Promise<ApproveResult> {
    const res = (await this.redis.eval(
      APPROVE,
      1,
      this.key(id),
      approver.id,
      approver.name ?? '',
      now.toISOString(),
      String(now.getTime()),
      `${this.base}state:`,
      id,
      this.eventsChannel,
    )) as string[];
    const outcome = res[0];
    if (outcome === 'missing') return { outcome: 'missing' };
    if (outcome === 'state') return { outcome: 'state', record: this.parse(res[2]!) };
    return {
      outcome: outcome as 'recorded' | 'approved' | 'expired' | 'already',
      record: this.parse(res[1]!),
    };
  }

  /**
   * Records one person's vote to stop a waiting request (scheduled or pending approval); once `required`
   * people have voted it is cancelled (scheduled) or denied (pending approval): outcome `cancelled`.
   */
  async voteCancel(
    id: string,
    voter: { id: string; name?: string },
    required: number,
    now: Date,
  ): Promise<
    | { outcome: 'missing' }
    | { outcome: 'state' | 'already' | 'recorded' | 'cancelled'; record: RequestRecord }
  > {
    const res = (await this.redis.eval(
      CANCEL_VOTE,
      1,
      this.key(id),
      voter.id,
      voter.name ?? '',
      now.toISOString(),
      String(required),
      `${this.base}state:`,
      id,
      this.eventsChannel,
    )) as string[];
    if (res[0] === 'missing') return { outcome: 'missing' };
    return { outcome: res[0] as 'state' | 'already' | 'recorded' | 'cancelled', record: this.parse(res[1]!) };
  }

  async idsInState(state: RequestState): Promise<string[]> {
    return this.redis.smembers(`${this.base}state:${state}`);
  }

  async list(filter: ListFilter): Promise<RequestRecord[]> {
    const limit = filter.limit ?? 20;
    let ids: string[];
    if (filter.awaitingApprovalFrom !== undefined) {
      ids = await this.idsInState('pending_approval');
    } else {
      const index = filter.requestedBy
        ? `by:${filter.requestedBy}`
        : filter.source
          ? `src:${filter.source}`
          : 'recent';
      // Over-fetch when filtering by state, so a page is still full after filtering.
      const fetch = filter.states ? limit * 10 : limit;
      ids = await this.redis.zrevrange(`${this.base}${index}`, 0, fetch - 1);
    }
    let records = await this.getMany(ids);
    if (filter.source) records = records.filter((r) => r.source === filter.source);
    if (filter.states) records = records.filter((r) => filter.states!.includes(r.state));
    if (filter.awaitingApprovalFrom !== undefined) {
      const who = filter.awaitingApprovalFrom;
      records = records
        .filter((r) => r.state === 'pending_approval')
        .filter((r) => !r.approvals.some((a) => a.by === who))
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    }
    return records.slice(0, limit);
  }
}
