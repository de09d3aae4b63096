/**
 * How long after an event each HR vendor may still (re)deliver it: the replay window for that source.
 * Deliveries dated inside it are accepted (vendors that sign no timestamp are dated by the event time in
 * the signed body), a cancellation that arrives before its termination is remembered this long, and the
 * dedupe markers (and completed jobs) outlive it — see `dedupeTtlSecondsFor`. Where a vendor documents no
 * span, three days.
 */
const DAY_MS = 86_400_000;

export const REDELIVERY_SPAN_MS: Readonly<Record<string, number>> = Object.freeze({
  // HiBob retries a failed delivery for up to 3 days (apidocs.hibob.com, "Webhook events v2").
  hibob: 3 * DAY_MS,
  // Gusto retries up to 16 times with exponential backoff; the span is undocumented
  // (docs.gusto.com/app-integrations/docs/webhooks, "Handle requests"): 3 days.
  gusto: 3 * DAY_MS,
  // Deel applies "the same retry logic as production" without stating a span
  // (developer.deel.com/api/webhooks/simulations): 3 days.
  deel: 3 * DAY_MS,
  // BambooHR re-signs each retry with a fresh timestamp (documentation.bamboohr.com/docs/webhooks,
  // Security); its retry span is undocumented: 3 days for the dedupe markers and remembered cancellations.
  bamboohr: 3 * DAY_MS,
  // The Standard Webhooks schedule (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h) ends about
  // 27.6 hours after the event (github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md,
  // "Retry schedule"); senders may use longer ones: 3 days.
  standard: 3 * DAY_MS,
});

/** For a source not listed (a custom one): three days. */
export const DEFAULT_REDELIVERY_SPAN_MS = 3 * DAY_MS;

/** The longest window of any source: the queue keeps completed jobs (whose ids refuse repeats) this long, twice. */
export const MAX_REDELIVERY_SPAN_MS = Math.max(
  DEFAULT_REDELIVERY_SPAN_MS,
  ...Object.values(REDELIVERY_SPAN_MS),
);

/**
 * The replay window of `source`: the vendor's redelivery span, or `configuredMs`
 * (HR_REPLAY_WINDOW_SECONDS) when that is longer. Never shorter than the vendor retries.
 */
export function replayWindowMs(source: string, configuredMs = 0): number {
  const span = Object.hasOwn(REDELIVERY_SPAN_MS, source)
    ? REDELIVERY_SPAN_MS[source]!
    : DEFAULT_REDELIVERY_SPAN_MS;
  return Math.max(span, configuredMs);
}

/**
 * How long the delivery markers of `source` are kept (seconds): twice its replay window, so a delivery
 * anywhere inside the window (even one dated ahead by a skewed clock) is still recognised as a repeat.
 */
export function dedupeTtlSecondsFor(source: string, configuredMs = 0): number {
  return Math.ceil((2 * replayWindowMs(source, configuredMs)) / 1000);
}
