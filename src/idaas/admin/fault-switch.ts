import type { AdminFaults } from '../admin-contract.ts';
import { AdminHttpError } from './admin-http-error.ts';

export interface AdminStats {
  calls: number;
  rateLimited: number;
  failed: number;
}

/**
 * The admin API's fault switches: a token bucket (429 + Retry-After, X-RateLimit-*) and a failure
 * window (503 + Retry-After). `now` is injectable so tests of the bucket need no sleeping.
 */
export class FaultSwitch {
  #rate: number | null = null;
  #tokens = 0;
  #last = 0;
  #failUntil = 0;
  #failForMs = 0;
  readonly #stats: AdminStats = { calls: 0, rateLimited: 0, failed: 0 };

  constructor(private readonly now: () => number = Date.now) {}

  set(faults: AdminFaults): AdminFaults {
    if (faults.rateLimitPerSecond !== undefined) {
      this.#rate = faults.rateLimitPerSecond;
      // A fresh bucket starts full: one second's worth of calls.
      this.#tokens = this.#rate ?? 0;
      this.#last = this.now();
    }
    if (faults.failForMs !== undefined) {
      this.#failForMs = faults.failForMs;
      this.#failUntil = faults.failForMs > 0 ? this.now() + faults.failForMs : 0;
    }
    return this.current();
  }

  current(): AdminFaults {
    const remaining = Math.max(0, this.#failUntil - this.now());
    return { rateLimitPerSecond: this.#rate, failForMs: remaining };
  }

  stats(): AdminStats {
    return { ...this.#stats };
  }

  /** Counts the call; throws the 503/429 the switches demand; returns rate-limit headers to send. */
  admit(): Record<string, string> {
    this.#stats.calls++;
    const now = this.now();
    if (this.#failUntil > now) {
      this.#stats.failed++;
      throw new AdminHttpError(503, 'unavailable', 'the identity service is temporarily unavailable', {
        'retry-after': String(Math.max(1, Math.ceil((this.#failUntil - now) / 1000))),
      });
    }
    if (this.#rate === null) return {};
    const rate = this.#rate;
    const capacity = Math.max(1, rate);
    this.#tokens = Math.min(capacity, this.#tokens + ((now - this.#last) / 1000) * rate);
    this.#last = now;
    const resetS = Math.max(1, Math.ceil(((capacity - this.#tokens) / rate) * 1));
    if (this.#tokens < 1) {
      this.#stats.rateLimited++;
      const waitS = Math.max(1, Math.ceil((1 - this.#tokens) / rate));
      throw new AdminHttpError(429, 'rate_limited', `rate limit of ${rate} calls per second exceeded`, {
        'retry-after': String(waitS),
        'x-ratelimit-limit': String(Math.floor(capacity)),
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(Math.ceil(now / 1000) + waitS),
      });
    }
    this.#tokens -= 1;
    return {
      'x-ratelimit-limit': String(Math.floor(capacity)),
      'x-ratelimit-remaining': String(Math.floor(this.#tokens)),
      'x-ratelimit-reset': String(Math.ceil(now / 1000) + resetS),
    };
  }
}
