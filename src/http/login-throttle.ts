import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** Lockout policy for password logins, per client address. */
export interface LoginThrottleOptions {
  /**
   * Where failures are counted: every web process behind a load balancer shares one count per address,
   * so guessing is five tries per quarter hour in all, not per process.
   */
  redis: Redis;
  /** Key prefix (REVOKER_PREFIX); keys are `${prefix}:login:<sha256 of address>`. */
  prefix: string;
  /** Failures within `windowMs` that lock an address out; default 5. */
  maxFailures?: number;
  /** Default 15 minutes. */
  windowMs?: number;
  /** How long a locked-out address is refused, even with the right password; default 15 minutes. */
  lockoutMs?: number;
  now?: () => number;
}

/**
 * One failure, atomically. KEYS: the address's key. ARGV: now, max failures, window ms, lockout ms.
 * The key expires with the longer of window and lockout, so addresses nobody retries cost nothing.
 * Returns 1 when this failure locked the address out.
 */
const FAIL_SCRIPT = `
local now = tonumber(ARGV[1])
local cur = redis.call('HMGET', KEYS[1], 'failures', 'firstAt')
local failures = tonumber(cur[1] or '0')
local firstAt = tonumber(cur[2] or '0')
if failures == 0 or now - firstAt > tonumber(ARGV[3]) then
  failures = 0
  firstAt = now
end
failures = failures + 1
local lockedUntil = 0
if failures >= tonumber(ARGV[2]) then lockedUntil = now + tonumber(ARGV[4]) end
redis.call('HSET', KEYS[1], 'failures', failures, 'firstAt', firstAt, 'lockedUntil', lockedUntil)
redis.call('PEXPIRE', KEYS[1], math.max(tonumber(ARGV[3]), tonumber(ARGV[4])))
if lockedUntil > 0 then return 1 end
return 0
`;

/**
 * Counts failed logins per client address in Redis and locks an address out after too many: guessing a
 * password at network speed becomes five guesses per quarter hour. The address is the TCP peer; behind a
 * proxy that is the proxy (README "Deploying").
 */
export class LoginThrottle {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #max: number;
  readonly #windowMs: number;
  readonly #lockoutMs: number;
  readonly #now: () => number;

  constructor(options: LoginThrottleOptions) {
    this.#redis = options.redis;
    this.#prefix = `${options.prefix}:login:`;
    this.#max = options.maxFailures ?? 5;
    this.#windowMs = options.windowMs ?? 15 * 60_000;
    this.#lockoutMs = options.lockoutMs ?? 15 * 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** Seconds the address must wait, or 0 when it may try. */
  async retryAfter(address: string): Promise<number> {
    const lockedUntil = Number((await this.#redis.hget(this.#key(address), 'lockedUntil')) ?? 0);
    const left = lockedUntil - this.#now();
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  /** Records a failure; true when it locked the address out. */
  async fail(address: string): Promise<boolean> {
    const locked = await this.#redis.eval(
      FAIL_SCRIPT,
      1,
      this.#key(address),
      String(this.#now()),
      String(this.#max),
      String(this.#windowMs),
      String(this.#lockoutMs),
    );
    return locked === 1;
  }

  async succeed(address: string): Promise<void> {
    await this.#redis.del(this.#key(address));
  }

  /** Hashed: no client-chosen text in key names, and one fixed length for every address. */
  #key(address: string): string {
    return this.#prefix + createHash('sha256').update(address).digest('hex').slice(0, 32);
  }
}
