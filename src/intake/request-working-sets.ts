import type { Redis } from 'ioredis';
import { z } from 'zod';
import { type Target, TargetSchema } from '../domain/target.ts';
import { confirmReplicated, durabilityMark } from '../redis/durability.ts';
import { jsonField } from '../redis/json-field.ts';
import { type CachedScript, COMPLETE_STEPS, FAIL_STEP, NOT_REVOKED_IN_SCOPE } from './request-scripts.ts';

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

/**
 * A request's working sets while it runs: its plan, the steps settled or failed, the scope it listed and
 * the tokens it revoked (keys `done:`, `failed:`, `failwhy:`, `plan:`, `scope:`, `bulk:`, `answer:`,
 * `revoked:` under `base`; the layout is in src/intake/request-store.ts). RedisRequestStore extends it.
 */
export class RequestWorkingSets {
  private readonly pendingSteps: PendingStep[] = [];
  private committing = false;

  constructor(
    protected readonly redis: Redis,
    /** `${prefix}:req:` */
    protected readonly base: string,
  ) {}

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
}
