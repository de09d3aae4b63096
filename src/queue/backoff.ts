/**
 * BullMQ custom backoff (`backoff: { type: 'revoker' }`): exponential with full jitter, capped, so many
 * workers retrying against a recovering IdP spread out instead of arriving together.
 * With the defaults, 25 attempts span several minutes of outage.
 */
export const BACKOFF_BASE_MS = 250;
export const BACKOFF_CAP_MS = 15_000;

export function backoffDelay(attemptsMade: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attemptsMade - 1));
  // Half fixed, half random: never zero, never in lock-step.
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** The BullMQ `settings.backoffStrategy` signature. */
export const backoffWithJitter = (attemptsMade: number): number => backoffDelay(attemptsMade);
