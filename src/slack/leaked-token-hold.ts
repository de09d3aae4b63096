import { randomBytes } from 'node:crypto';

interface Held {
  value: string;
  userId: string;
  expiresAt: number;
}

/**
 * Keeps a pasted token in this process's memory between the dialog's two steps (introspect, confirm),
 * under a random handle that is all the confirmation view carries. Never Redis, never Slack: the value
 * leaves only towards the identity provider. Bound to the Slack user who pasted it, taken once, and
 * forgotten after `ttlMs`. A confirmation reaching another Revoker replica finds nothing and asks the
 * user to paste again.
 */
export class LeakedTokenHold {
  readonly #held = new Map<string, Held>();

  constructor(
    private readonly ttlMs = 15 * 60_000,
    private readonly maxEntries = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  put(value: string, userId: string): string {
    this.#sweep();
    // Bounded: the oldest pastes go first (Map keeps insertion order).
    while (this.#held.size >= this.maxEntries) this.#held.delete(this.#held.keys().next().value!);
    const handle = randomBytes(18).toString('base64url');
    this.#held.set(handle, { value, userId, expiresAt: this.now() + this.ttlMs });
    return handle;
  }

  /** The value, once, for the same user before it expires; undefined otherwise. */
  take(handle: string, userId: string): string | undefined {
    const held = this.#held.get(handle);
    if (!held || held.userId !== userId) return undefined;
    this.#held.delete(handle);
    return held.expiresAt > this.now() ? held.value : undefined;
  }

  #sweep() {
    const now = this.now();
    for (const [handle, held] of this.#held) if (held.expiresAt <= now) this.#held.delete(handle);
  }
}
