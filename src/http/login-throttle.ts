/** Lockout policy for password logins, per client address. */
export interface LoginThrottleOptions {
  /** Failures within `windowMs` that lock an address out; default 5. */
  maxFailures?: number;
  /** Default 15 minutes. */
  windowMs?: number;
  /** How long a locked-out address is refused, even with the right password; default 15 minutes. */
  lockoutMs?: number;
  /** Addresses remembered at most (oldest forgotten first), so spoofed sources cannot exhaust memory. */
  maxAddresses?: number;
  now?: () => number;
}

interface Entry {
  failures: number;
  firstAt: number;
  lockedUntil: number;
}

/**
 * Counts failed logins per client address and locks an address out after too many: guessing a password
 * at network speed becomes five guesses per quarter hour. In memory, per process: a web process behind
 * a load balancer holds its own count, which only divides the attacker's rate by the process count.
 */
export class LoginThrottle {
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;
  readonly #windowMs: number;
  readonly #lockoutMs: number;
  readonly #maxAddresses: number;
  readonly #now: () => number;

  constructor(options: LoginThrottleOptions = {}) {
    this.#max = options.maxFailures ?? 5;
    this.#windowMs = options.windowMs ?? 15 * 60_000;
    this.#lockoutMs = options.lockoutMs ?? 15 * 60_000;
    this.#maxAddresses = options.maxAddresses ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** Seconds the address must wait, or 0 when it may try. */
  retryAfter(address: string): number {
    const e = this.#entries.get(address);
    const left = e ? e.lockedUntil - this.#now() : 0;
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  /** Records a failure; true when it locked the address out. */
  fail(address: string): boolean {
    const now = this.#now();
    let e = this.#entries.get(address);
    if (!e || now - e.firstAt > this.#windowMs) e = { failures: 0, firstAt: now, lockedUntil: 0 };
    e.failures++;
    const locked = e.failures >= this.#max;
    if (locked) e.lockedUntil = now + this.#lockoutMs;
    this.#entries.delete(address);
    this.#entries.set(address, e);
    if (this.#entries.size > this.#maxAddresses) {
      this.#entries.delete(this.#entries.keys().next().value as string);
    }
    return locked;
  }

  succeed(address: string): void {
    this.#entries.delete(address);
  }
}
