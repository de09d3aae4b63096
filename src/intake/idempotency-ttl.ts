import type { Source } from '../domain/request.ts';
import { MAX_REDELIVERY_SPAN_MS } from '../hr/replay-windows.ts';

const DAY_SECONDS = 86_400;

/**
 * How long an intake idempotency key keeps pointing at its request, per source (issue 21 item 11: no
 * key lives for ever, yet every redelivery inside its window still finds its request).
 *
 * - `hr`: a day longer than the HR delivery markers and completed `hr-events` jobs
 *   (`dedupeTtlSeconds` in src/hr/hr-event-queue.ts: twice the longest replay window, the vendors' spans
 *   in src/hr/replay-windows.ts or `HR_REPLAY_WINDOW_SECONDS` when longer), so a job retried or a delivery
 *   re-sent anywhere inside the window submits under a key that still exists.
 * - every other source, one day: a Slack view submission is retried within seconds, a CLI nonce by a
 *   person at once; SCIM's key only collapses concurrent deactivations (an open request is found through
 *   its own deactivation record, a finished one makes a new request by design); GTR's key names its own
 *   dedupe window (a minute by default).
 */
export function idempotencyTtlSeconds(source: Source, hrReplayWindowMs = 0): number {
  if (source !== 'hr') return DAY_SECONDS;
  return Math.ceil((2 * Math.max(MAX_REDELIVERY_SPAN_MS, hrReplayWindowMs)) / 1000) + DAY_SECONDS;
}
