import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { ConnectionStatusSchema } from '../connections/connection-status.ts';
import { type RequestState, RequestStateSchema, RevocationRequestSchema } from '../domain/request.ts';
import { type Target, TargetSchema } from '../domain/target.ts';
import { PartOutcomeSchema } from '../identity/part-outcomes.ts';
import { confirmReplicated, durabilityMark } from '../redis/durability.ts';
import { jsonField } from '../redis/json-field.ts';
import type { ListFilter, RequestRecord } from './types.ts';

/**
 * Requests and their lifecycle in Redis. Every state change is one Lua script, so two processes
 * (two approvers clicking at once, approve racing deny, a worker racing a cancel) get one outcome.
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
 *   events          pub/sub channel: `{"id","state"}` after each change
 */
export interface RequestStoreOptions {
  redis: Redis;
  /** Key prefix shared by every Revoker key. */
  prefix: string;
}

const ApprovalSchema = z.object({ by: z.string(), name: z.string().optional(), at: z.string() });
/** cjson turns an empty array into `{}`; read it back as []. */
const arrayOf = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => (Array.isArray(v) ? v : []), z.array(item));

const RecordSchema = RevocationRequestSchema.extend({
  state: RequestStateSchema,
  workflow: z.string(),
  requiredApprovals: z.number().int().min(0),
  approvals: arrayOf(ApprovalSchema),
  approvers: arrayOf(z.string()),
  allowSelfApproval: z.boolean(),
  denial: z
    .object({ by: z.string(), name: z.string().optional(), at: z.string(), reason: z.string() })
    .optional(),
  approvalExpiresAt: z.string().optional(),
  startAt: z.string().optional(),
  cancelApprovals: z.number().int().optional(),
  cancelVotes: z.preprocess((v) => (Array.isArray(v) ? v : undefined), z.array(ApprovalSchema).optional()),
  notifyChannels: z.preprocess((v) => (Array.isArray(v) ? v : undefined), z.array(z.string()).optional()),
  targetName: z.string().max(500).optional(),
  targetEmail: z.string().max(320).optional(),
  resolveByEmail: z.boolean().optional(),
  connections: z.preprocess(
    (v) => (Array.isArray(v) ? v : undefined),
    z.array(ConnectionStatusSchema).optional(),
  ),
  waiting: z.string().max(500).nullable().optional(),
  impact: z.object({ tokenCount: z.number().optional(), userCount: z.number() }).optional(),
  progress: z.object({ done: z.number(), total: z.number(), tokens: z.number().optional() }),
  result: z
    .object({
      ok: z.boolean(),
      revoked: z.number(),
      remaining: z.number(),
      error: z.string().optional(),
      unverifiable: z.string().optional(),
      parts: z.preprocess((v) => (Array.isArray(v) ? v : undefined), z.array(PartOutcomeSchema).optional()),
      noAccount: z.boolean().optional(),
    })
    .optional(),
  context: z.record(z.string(), z.string()).optional(),
  updatedAt: z.string(),
});

const TRANSITION = `
local raw = redis.call('GET', KEYS[1])
if not raw then return {'missing'} end
local rec = cjson.decode(raw)
local allowed = cjson.decode(ARGV[1])
local ok = false
for _, s in ipairs(allowed) do if rec.state == s then ok = true end end
if not ok then return {'state', rec.state, raw} end
local patch = cjson.decode(ARGV[3])
for k, v in pairs(patch) do rec[k] = v end
local from = rec.state
rec.state = ARGV[2]
local out = cjson.encode(rec)
redis.call('SET', KEYS[1], out)
redis.call('SREM', ARGV[4] .. from, ARGV[5])
redis.call('SADD', ARGV[4] .. ARGV[2], ARGV[5])
redis.call('PUBLISH', ARGV[6], cjson.encode({id = ARGV[5], state = ARGV[2]}))
return {'ok', out, from}
`;

// ARGV: approverId, approverName ('' = none), atIso, nowMs, statePrefix, id, channel
const APPROVE = `
local raw = redis.call('GET', KEYS[1])
if not raw then return {'missing'} end
local rec = cjson.decode(raw)
if rec.state ~= 'pending_approval' then return {'state', rec.state, raw} end
local function move(to)
  redis.call('SREM', ARGV[5] .. rec.state, ARGV[6])
  redis.call('SADD', ARGV[5] .. to, ARGV[6])
  rec.state = to
end
if rec.approvalExpiresAtMs and tonumber(ARGV[4]) >= tonumber(rec.approvalExpiresAtMs) then
  move('expired')
  rec.updatedAt = ARGV[3]
  local out = cjson.encode(rec)
  redis.call('SET', KEYS[1], out)
  redis.call('PUBLISH', ARGV[7], cjson.encode({id = ARGV[6], state = 'expired'}))
  return {'expired', out}
end
local approvals = rec.approvals
if type(approvals) ~= 'table' then approvals = {} end
for _, a in ipairs(approvals) do
  if a.by == ARGV[1] then return {'already', raw} end
end
local entry = {by = ARGV[1], at = ARGV[3]}
if ARGV[2] ~= '' then entry.name = ARGV[2] end
table.insert(approvals, entry)
rec.approvals = approvals
rec.updatedAt = ARGV[3]
local outcome = 'recorded'
if #approvals >= tonumber(rec.requiredApprovals) then
  move('approved')
  outcome = 'approved'
end
local out = cjson.encode(rec)
redis.call('SET', KEYS[1], out)
redis.call('PUBLISH', ARGV[7], cjson.encode({id = ARGV[6], state = rec.state}))
return {outcome, out}
`;

// One person's Cancel on a scheduled request. ARGV: voterId, voterName ('' = none), atIso, required,
// statePrefix, id, channel. Returns {'missing'} | {'state', raw} | {'already', raw} | {'recorded'|'cancelled', out}.
const CANCEL_VOTE = `
local raw = redis.call('GET', KEYS[1])
if not raw then return {'missing'} end
local rec = cjson.decode(raw)
if rec.state ~= 'scheduled' and rec.state ~= 'pending_approval' then return {'state', raw} end
local votes = rec.cancelVotes
if type(votes) ~= 'table' then votes = {} end
for _, v in ipairs(votes) do
  if v.by == ARGV[1] then return {'already', raw} end
end
local entry = {by = ARGV[1], at = ARGV[3]}
if ARGV[2] ~= '' then entry.name = ARGV[2] end
table.insert(votes, entry)
rec.cancelVotes = votes
rec.updatedAt = ARGV[3]
local outcome = 'recorded'
if #votes >= tonumber(ARGV[4]) then
  -- A request still waiting for approval is denied; a scheduled one, cancelled.
  local to = 'cancelled'
  if rec.state == 'pending_approval' then to = 'denied' end
  redis.call('SREM', ARGV[5] .. rec.state, ARGV[6])
  redis.call('SADD', ARGV[5] .. to, ARGV[6])
  rec.state = to
  outcome = 'cancelled'
end
local out = cjson.encode(rec)
redis.call('SET', KEYS[1], out)
redis.call('PUBLISH', ARGV[7], cjson.encode({id = ARGV[6], state = rec.state}))
return {outcome, out}
`;

// KEYS: record, idempotency index. ARGV: record JSON, id, has key ('1'/'0'), index TTL (s).
const CREATE = `
if ARGV[3] == '1' then
  local existing = redis.call('GET', KEYS[2])
  if existing then return {'dup', existing} end
end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX') then return {'exists'} end
if ARGV[3] == '1' then redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[4]) end
return {'ok'}
`;

/**
 * How long an idempotency key keeps pointing at its request when the caller names no TTL: one day. The
 * intake names one per source (src/intake/idempotency-ttl.ts), just longer than that source's redelivery window.
 */
const DEFAULT_IDEMPOTENCY_TTL_SECONDS = 86_400;

interface CachedScript {
  text: string;
  sha: string;
}
const cached = (text: string): CachedScript => ({ text, sha: createHash('sha1').update(text).digest('hex') });

/**
 * Several steps at once (group commit). For entry i: KEYS[2i-1] done set, KEYS[2i] revoked set;
 * ARGV: per entry, the step key, the number of token ids, then those ids. Returns {added, count} pairs.
 */
const COMPLETE_STEPS = cached(`
local out = {}
local a = 1
for k = 1, #KEYS, 2 do
  local step = ARGV[a]
  local n = tonumber(ARGV[a + 1])
  for i = a + 2, a + 1 + n, 1000 do
    redis.call('SADD', KEYS[k + 1], unpack(ARGV, i, math.min(i + 999, a + 1 + n)))
  end
  table.insert(out, redis.call('SADD', KEYS[k], step))
  table.insert(out, redis.call('SCARD', KEYS[k]))
  a = a + 2 + n
end
return out
`);

/**
 * A step that finally failed is settled too (it counts towards the total, so the request finalizes) and
 * remembered as failed. KEYS: done, failed. ARGV: step key. Returns [settled now (1/0), settled count].
 */
const FAIL_STEP = cached(`
local isNew = redis.call('SADD', KEYS[1], ARGV[1])
if isNew == 1 then redis.call('SADD', KEYS[2], ARGV[1]) end
return {isNew, redis.call('SCARD', KEYS[1])}
`);

/**
 * The recorded scope's tokens not yet counted as revoked, as flat [tokenId, userId, …]: all the audit's
 * reconciliation needs, without sending a request's whole scope and revoked set to Node when (as almost
 * always) every token was already audited. KEYS: scope hash, revoked set.
 */
const NOT_REVOKED_IN_SCOPE = cached(`
local out = {}
local flat = redis.call('HGETALL', KEYS[1])
for i = 1, #flat, 2 do
  if redis.call('SISMEMBER', KEYS[2], flat[i]) == 0 then
    out[#out + 1] = flat[i]
    out[#out + 1] = flat[i + 1]
  end
end
return out
`);

/** The plan of a request as stored once it is made (see `savePlan`). */
export interface StoredPlan {
  /** The IdP calls to make, one job each. */
  steps: Target[];
  /** The bulk call the finalize step makes after them, if any. */
  sweep?: Target;
  /** When the plan was made (ms): tokens the IdP shows issued after it are not the request's. */
  since: number;
}

/**
 * The `plan:{id}` hash. `steps` is there until every job is added; `sweep` is '' when the plan has none.
 * `planOf` and `planInfo` read it through this one schema.
 */
const PlanHashSchema = z.object({
  steps: jsonField(z.array(TargetSchema)).optional(),
  sweep: z.union([z.literal(''), jsonField(TargetSchema)]).optional(),
  since: z.string().regex(/^\d+$/).transform(Number),
  total: z.string().regex(/^\d+$/).transform(Number),
  added: z.literal('1').optional(),
  noAccount: z.literal('1').optional(),
});

interface PendingStep {
  id: string;
  stepKey: string;
  tokenIds: readonly string[];
  resolve: (r: { done: number; isNew: boolean }) => void;
  reject: (err: unknown) => void;
}

/** Most steps a single group commit carries. */
const MAX_STEPS_PER_COMMIT = 200;

export type TransitionResult =
  | { ok: true; record: RequestRecord; from: RequestState }
  | { ok: false; reason: 'missing' }
  | { ok: false; reason: 'state'; record: RequestRecord };

export type ApproveResult =
  | { outcome: 'recorded' | 'approved' | 'expired' | 'already'; record: RequestRecord }
  | { outcome: 'state'; record: RequestRecord }
  | { outcome: 'missing' };

/** Internal field (not in RequestRecord): approval expiry as epoch ms, so Lua can compare it. */
type StoredRecord = RequestRecord & { approvalExpiresAtMs?: number };

export class RedisRequestStore {
  private readonly redis: Redis;
  private readonly base: string;
  private readonly pendingSteps: PendingStep[] = [];
  private committing = false;

  constructor(options: RequestStoreOptions) {
    this.redis = options.redis;
    this.base = `${options.prefix}:req:`;
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

  /**
   * Records what one IdP-call step did: the tokens it revoked (for the result count) and the step as done.
   * Idempotent; returns how many steps are done and whether this one is new. Steps finishing while a
   * commit is in flight go together in the next one (one round trip and one script call for many jobs).
   */
  completeStep(
    id: string,
    stepKey: string,
    revokedTokenIds: readonly string[],
  ): Promise<{ done: number; isNew: boolean }> {
    return new Promise((resolve, reject) => {
      this.pendingSteps.push({ id, stepKey, tokenIds: revokedTokenIds, resolve, reject });
      if (!this.committing) void this.commitSteps();
    });
  }

  private async commitSteps(): Promise<void> {
    this.committing = true;
    try {
      while (this.pendingSteps.length > 0) {
        const batch = this.pendingSteps.splice(0, MAX_STEPS_PER_COMMIT);
        const keys: string[] = [];
        const args: string[] = [];
        for (const p of batch) {
          keys.push(`${this.base}done:${p.id}`, `${this.base}revoked:${p.id}`);
          args.push(p.stepKey, String(p.tokenIds.length), ...p.tokenIds);
        }
        try {
          const out = (await this.evalCached(COMPLETE_STEPS, keys.length, ...keys, ...args)) as number[];
          for (const [i, p] of batch.entries()) p.resolve({ isNew: out[2 * i] === 1, done: out[2 * i + 1]! });
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.committing = false;
    }
  }

  /**
   * Settles a step whose job finally failed: it counts as done for the total, and as a failure.
   * Idempotent (a step settles once); returns the settled count and whether this call settled it.
   */
  async failStep(id: string, stepKey: string): Promise<{ done: number; isNew: boolean }> {
    const [isNew, done] = (await this.evalCached(
      FAIL_STEP,
      2,
      `${this.base}done:${id}`,
      `${this.base}failed:${id}`,
      stepKey,
    )) as [number, number];
    return { done, isNew: isNew === 1 };
  }

  /** Remembers why a step finally failed (a stable error code), for the failed part naming the call. */
  async noteFailure(id: string, stepKey: string, why: string): Promise<void> {
    await this.redis.hsetnx(`${this.base}failwhy:${id}`, stepKey, why.slice(0, 300));
  }

  /** Steps whose job finally failed, each with why when known. */
  async failedSteps(id: string): Promise<Array<{ stepKey: string; why?: string }>> {
    const [keys, whys] = await Promise.all([
      this.redis.smembers(`${this.base}failed:${id}`),
      this.redis.hgetall(`${this.base}failwhy:${id}`),
    ]);
    return keys.sort().map((stepKey) => {
      const why = whys[stepKey];
      return why ? { stepKey, why } : { stepKey };
    });
  }

  /**
   * Records what a bulk call answered, right after it answered: a rerun of the step (the job died before it
   * completed) trusts this answer instead of calling again or guessing from a listing.
   */
  async recordBulkAnswer(id: string, stepKey: string, revoked: readonly { id: string; userId?: string }[]) {
    await this.redis.hset(`${this.base}answer:${id}`, stepKey, JSON.stringify(revoked));
  }

  /** The answer a step's bulk call gave, when one was recorded. */
  async bulkAnswer(id: string, stepKey: string): Promise<Array<{ id: string; userId?: string }> | undefined> {
    const raw = await this.redis.hget(`${this.base}answer:${id}`, stepKey);
    if (raw === null) return undefined;
    const parsed = z
      .array(z.object({ id: z.string(), userId: z.string().optional() }))
      .safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  }

  /** Steps settled so far (done or finally failed). */
  async countSettled(id: string): Promise<number> {
    return this.redis.scard(`${this.base}done:${id}`);
  }

  /** Steps whose job finally failed. */
  async countFailed(id: string): Promise<number> {
    return this.redis.scard(`${this.base}failed:${id}`);
  }

  /**
   * Stores the plan before any of its jobs is added: a plan job that dies while adding them reruns with
   * these very steps (a new listing would no longer show what the first steps revoked), and no second
   * plan call reaches the IdP. Waits for REDIS_MIN_REPLICAS_ACK replicas, as `recordScope`.
   */
  async savePlan(id: string, plan: StoredPlan): Promise<void> {
    const mark = durabilityMark(this.redis);
    await this.redis.hset(`${this.base}plan:${id}`, {
      steps: JSON.stringify(plan.steps),
      sweep: plan.sweep ? JSON.stringify(plan.sweep) : '',
      since: String(plan.since),
      total: String(plan.steps.length),
    });
    await confirmReplicated(this.redis, mark);
  }

  /**
   * Notes that every job of the stored plan has been added, and drops the steps: the jobs hold them now,
   * and a large plan (10,000 steps is ~1 MB) need not stay in Redis for the life of the request.
   */
  async markPlanAdded(id: string): Promise<void> {
    const key = `${this.base}plan:${id}`;
    await this.redis.multi().hset(key, 'added', '1').hdel(key, 'steps').exec();
  }

  /**
   * Notes that the connection answered "no such person" to a call of this plan (a Global Token Revocation
   * app's 404): the request ends as `no account`, not as revoked.
   */
  async noteNoAccount(id: string): Promise<void> {
    await this.redis.hset(`${this.base}plan:${id}`, 'noAccount', '1');
  }

  /** Whether a call of this request's plan was answered "no such person" (see `noteNoAccount`). */
  async sawNoAccount(id: string): Promise<boolean> {
    return (await this.redis.hget(`${this.base}plan:${id}`, 'noAccount')) === '1';
  }

  /** The stored plan with its steps while they are still to be added; undefined otherwise. */
  async planOf(id: string): Promise<StoredPlan | undefined> {
    const raw = await this.redis.hgetall(`${this.base}plan:${id}`);
    if (raw.steps === undefined || raw.added === '1') return undefined;
    const { steps = [], sweep, since } = PlanHashSchema.parse(raw);
    return sweep ? { steps, sweep, since } : { steps, since };
  }

  /** The stored plan without its steps (cheap to read for a large plan); undefined before `savePlan`. */
  async planInfo(
    id: string,
  ): Promise<{ added: boolean; total: number; since: number; sweep?: Target } | undefined> {
    const fields = ['added', 'total', 'since', 'sweep'] as const;
    const values = await this.redis.hmget(`${this.base}plan:${id}`, ...fields);
    if (values[1] === null) return undefined;
    const raw = Object.fromEntries(fields.flatMap((f, i) => (values[i] === null ? [] : [[f, values[i]]])));
    const { added, total, since, sweep } = PlanHashSchema.parse(raw);
    const info = { added: added === '1', total, since };
    return sweep ? { ...info, sweep } : info;
  }

  /** Tokens of the recorded scope that are not (yet) among those the request revoked. */
  async notRevokedInScope(id: string): Promise<Array<{ id: string; userId?: string }>> {
    const flat = (await this.evalCached(
      NOT_REVOKED_IN_SCOPE,
      2,
      `${this.base}scope:${id}`,
      `${this.base}revoked:${id}`,
    )) as string[];
    const out: Array<{ id: string; userId?: string }> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const tokenId = flat[i]!;
      const userId = flat[i + 1]!;
      out.push(userId ? { id: tokenId, userId } : { id: tokenId });
    }
    return out;
  }

  /** Which of `stepKeys` are settled already. */
  async settledAmong(id: string, stepKeys: readonly string[]): Promise<Set<string>> {
    if (stepKeys.length === 0) return new Set();
    const flags = await this.redis.smismember(`${this.base}done:${id}`, ...stepKeys);
    return new Set(stepKeys.filter((_, i) => flags[i] === 1));
  }

  /**
   * Records the plan's listing as what is in scope (token ids and their users only, never values). It
   * precedes a bulk call that cannot be undone, and the audit is reconciled from it, so it waits for
   * REDIS_MIN_REPLICAS_ACK replicas: a failover must not leave revoked tokens nobody can name.
   */
  async recordScope(id: string, tokens: readonly { id: string; userId?: string }[]): Promise<void> {
    if (tokens.length === 0) return;
    const mark = durabilityMark(this.redis);
    await this.redis.hset(
      `${this.base}scope:${id}`,
      Object.fromEntries(tokens.map((t) => [t.id, t.userId ?? ''])),
    );
    await confirmReplicated(this.redis, mark);
  }

  /** The plan's recorded listing. */
  async scopeOf(id: string): Promise<Array<{ id: string; userId?: string }>> {
    const all = await this.redis.hgetall(`${this.base}scope:${id}`);
    return Object.entries(all).map(([tokenId, userId]) =>
      userId ? { id: tokenId, userId } : { id: tokenId },
    );
  }

  /**
   * Notes that a step's bulk call is about to be made; false when an earlier run already got this far.
   * Replicated before the call (as `recordScope`): a rerun after a failover must reconcile, not call again
   * blind and find nothing left to audit. If the replicas do not confirm, this throws and the job retries,
   * finding the mark: it then reconciles, which is safe either way.
   */
  async markBulkCall(id: string, stepKey: string): Promise<boolean> {
    const mark = durabilityMark(this.redis);
    const first = (await this.redis.sadd(`${this.base}bulk:${id}`, stepKey)) === 1;
    await confirmReplicated(this.redis, mark);
    return first;
  }

  /** Remembers tokens this request revoked (for the result count); idempotent. */
  async addRevoked(id: string, ...tokenIds: string[]): Promise<void> {
    if (tokenIds.length === 0) return;
    await this.redis.sadd(`${this.base}revoked:${id}`, ...tokenIds);
  }

  /** EVALSHA, falling back to EVAL when Redis does not have the script yet (NOSCRIPT). */
  private async evalCached(script: CachedScript, keys: number, ...args: string[]): Promise<unknown> {
    try {
      return await this.redis.evalsha(script.sha, keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return this.redis.eval(script.text, keys, ...args);
    }
  }

  async countRevoked(id: string): Promise<number> {
    return this.redis.scard(`${this.base}revoked:${id}`);
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
