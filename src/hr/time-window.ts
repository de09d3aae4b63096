import { SignatureInvalidError, SignatureStaleError } from './errors.ts';

/** Deliveries signed more than this far from our clock are refused (replay protection). */
export const DEFAULT_TOLERANCE_MS = 5 * 60 * 1000;

/**
 * Parses a signed timestamp header: unix seconds, unix milliseconds, or ISO-8601 (vendors differ),
 * and throws when it is outside `toleranceMs` of `now`. Pure: the clock is passed in.
 */
export function assertFresh(raw: string | undefined, now: Date, toleranceMs = DEFAULT_TOLERANCE_MS): Date {
  if (!raw) throw new SignatureInvalidError('missing signature timestamp');
  let ms: number;
  if (/^\d{1,10}$/.test(raw)) ms = Number(raw) * 1000;
  else if (/^\d{13}$/.test(raw)) ms = Number(raw);
  else {
    // BambooHR documents `2026-01-31T18:42:00+0000` (offset without colon): Date.parse copes in V8.
    ms = Date.parse(raw);
  }
  if (!Number.isFinite(ms)) throw new SignatureInvalidError('unreadable signature timestamp');
  if (Math.abs(now.getTime() - ms) > toleranceMs) {
    throw new SignatureStaleError('signature timestamp outside the accepted window');
  }
  return new Date(ms);
}

/** Default replay window for vendors that sign no timestamp: the event time in the body, ±1 day. */
export const DEFAULT_EVENT_WINDOW_MS = 86_400_000;

/**
 * An event time from a signed body as ISO-8601: unix seconds or milliseconds (number or digits), or an
 * ISO date; one without an offset is read as UTC (HiBob's `triggeredAt` has none). Undefined if unreadable.
 */
export function parseEventTime(raw: string | number | null | undefined): string | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  let ms: number;
  if (typeof raw === 'number' || /^\d{1,13}$/.test(raw)) {
    const n = Number(raw);
    ms = n < 1e11 ? n * 1000 : n;
  } else {
    const hasZone = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(raw);
    ms = Date.parse(hasZone || !raw.includes('T') ? raw : `${raw}Z`);
  }
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}
