import { createHash } from 'node:crypto';
import { UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RefusalRecorder } from '../audit/refusal-log.ts';
import type { AuditLog } from '../audit/types.ts';
import { type Target, targetKey } from '../domain/target.ts';
import type { RedisRequestStore } from '../intake/request-store.ts';
import type { Logger } from '../log.ts';

export interface StepGuardOptions {
  redis: Redis;
  /** REVOKER_PREFIX: the planned steps' digests live at `{prefix}:req:steps:{requestId}`. */
  prefix: string;
  store: RedisRequestStore;
  /** Refused jobs are counted here per minute (`job.refused`). */
  refusals?: RefusalRecorder | undefined;
  /** Without `refusals`, each refusal is appended here (tests, the CLI). */
  audit?: AuditLog | undefined;
  logger: Logger;
}

/** Bytes of SHA-256 kept per step: 96 bits, so no one finds a step key that collides with a planned one. */
const DIGEST_BYTES = 12;
/** Fixed width of a digest as stored (base64url of DIGEST_BYTES). */
const WIDTH = Math.ceil((DIGEST_BYTES * 4) / 3);

/**
 * Is ARGV[1] among the sorted, fixed-width digests in KEYS[1]? A binary search over one string: 16 bytes
 * per planned step (160 KB for 10,000) instead of a set's per-member overhead, and ~14 comparisons a job.
 */
const CONTAINS = `
local s = redis.call('GET', KEYS[1])
if not s then return -1 end
local w = tonumber(ARGV[2])
local lo, hi = 0, math.floor(#s / w) - 1
while lo <= hi do
  local mid = math.floor((lo + hi) / 2)
  local d = string.sub(s, mid * w + 1, mid * w + w)
  if d == ARGV[1] then return 1 end
  if d < ARGV[1] then lo = mid + 1 else hi = mid - 1 end
end
return 0
`;

export type StepRefusal = 'bad_step_key' | 'not_running' | 'not_planned';

/** A job the guard refused: fails the job at once (no retries), visibly, in the failed set. */
export class StepRefusedError extends UnrecoverableError {
  readonly code = 'step_refused';
  constructor(
    readonly reason: StepRefusal,
    requestId: string,
  ) {
    super(`refused: ${REASONS[reason]} (request ${requestId})`);
    this.name = 'StepRefusedError';
  }
}

const REASONS: Record<StepRefusal, string> = {
  bad_step_key: 'the job names a step key that is not its step',
  not_running: 'its request is not running',
  not_planned: "the step is not in its request's plan",
};

function digest(stepKey: string): string {
  return createHash('sha256').update(stepKey).digest().subarray(0, DIGEST_BYTES).toString('base64url');
}

/**
 * The queue runs only what a request planned. The plan job records a digest of every step it plans
 * before adding any job; an `idp-calls` job then runs only if its request is `running` and its step's
 * digest is among them. A job added by hand (the dashboard, `redis-cli`, a bug) with an invented
 * request, a finished request, or a step no plan made fails at once, unretried, and is audited.
 */
export class StepGuard {
  constructor(private readonly o: StepGuardOptions) {}

  private key(requestId: string): string {
    return `${this.o.prefix}:req:steps:${requestId}`;
  }

  /** Records the plan's steps (idempotent: a rerun of the plan records the same set). */
  async recordPlan(requestId: string, steps: readonly Target[]): Promise<void> {
    const all = [...new Set(steps.map((s) => digest(targetKey(s))))].sort();
    await this.o.redis.set(this.key(requestId), all.join(''));
  }

  /** The request ended: its planned steps are no longer needed (a late job is refused as not running). */
  async forget(requestId: string): Promise<void> {
    await this.o.redis.del(this.key(requestId));
  }

  /** Throws `StepRefusedError` (after auditing it) unless this step job may run now. */
  async check(job: {
    requestId: string;
    step: Target;
    stepKey: string;
    id?: string | undefined;
  }): Promise<void> {
    const refusal = await this.refusal(job);
    if (!refusal) return;
    this.o.logger.warn({ requestId: job.requestId, jobId: job.id, reason: refusal }, 'step job refused');
    const actor = { source: 'queue', id: 'unverified' };
    if (this.o.refusals) {
      this.o.refusals.record({ action: 'job.refused', actor, reason: refusal, excerpt: job.requestId });
    } else {
      await this.o.audit?.append({
        action: 'job.refused',
        actor,
        detail: { reason: refusal, requestId: job.requestId.slice(0, 128) },
      });
    }
    throw new StepRefusedError(refusal, job.requestId);
  }

  private async refusal(job: {
    requestId: string;
    step: Target;
    stepKey: string;
  }): Promise<StepRefusal | undefined> {
    if (targetKey(job.step) !== job.stepKey) return 'bad_step_key';
    const rec = await this.o.store.get(job.requestId);
    if (rec?.state !== 'running') return 'not_running';
    return (await this.isPlanned(job.requestId, job.stepKey)) ? undefined : 'not_planned';
  }

  /** Did the request's plan make the step with this key? */
  async isPlanned(requestId: string, stepKey: string): Promise<boolean> {
    const found = Number(
      await this.o.redis.eval(CONTAINS, 1, this.key(requestId), digest(stepKey), String(WIDTH)),
    );
    if (found !== -1) return found === 1;
    // A plan made before this guard existed: its steps are still stored until every job is added.
    const plan = await this.o.store.planOf(requestId);
    return plan?.steps.some((s) => targetKey(s) === stepKey) ?? false;
  }
}
