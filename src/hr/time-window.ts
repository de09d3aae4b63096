import { instantOfLocal } from '../domain/dates.ts';
import { SignatureInvalidError, SignatureStaleError } from './errors.ts';

/**
 * An ISO-8601 time as a vendor sent it: with `Z` or an offset it is that instant; without one it is a wall
 * time on the source's clock (`timeZone`, default UTC) — never the server's own zone, as `Date.parse` would read it.
 */
function parseIsoTime(raw: string, timeZone = 'UTC'): number {
  if (/(?:Z|[+-]\d{2}:?\d{2})$/i.test(raw) || !raw.includes('T')) return Date.parse(raw);
  const wall = Date.parse(`${raw}Z`);
  return Number.isFinite(wall) ? instantOfLocal(wall, timeZone) : Number.NaN;
}

/** Deliveries signed more than this far from our clock are refused (replay protection). */
export const DEFAULT_TOLERANCE_MS = 5 * 60 * 1000;

/**
 * Parses a signed timestamp header: unix seconds, unix milliseconds, or ISO-8601 (vendors differ),
 * and throws when it is outside `toleranceMs` of `now`. Pure: the clock is passed in.
 */
export function assertFresh(
  raw: string | undefined,
  now: Date,
  toleranceMs = DEFAULT_TOLERANCE_MS,
  /** The source's zone, for an ISO time without an offset (default UTC). */
  timeZone?: string,
): Date {
  if (!raw) throw new SignatureInvalidError('missing signature timestamp');
  let ms: number;
  if (/^\d{1,10}$/.test(raw)) ms = Number(raw) * 1000;
  else if (/^\d{13}$/.test(raw)) ms = Number(raw);
  else {
    // BambooHR documents `2026-01-31T18:42:00+0000` (offset without colon): Date.parse copes in V8.
    ms = parseIsoTime(raw, timeZone);
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
 * ISO date; one without an offset is read on the source's clock (`timeZone`, default UTC: HiBob's
 * `triggeredAt` has none and is UTC). Undefined if unreadable.
 */
export function parseEventTime(
  raw: string | number | null | undefined,
  /** The source's zone, for an ISO time without an offset (default UTC). */
  timeZone?: string,
): string | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  let ms: number;
  if (typeof raw === 'number' || /^\d{1,13}$/.test(raw)) {
    const n = Number(raw);
    ms = n < 1e11 ? n * 1000 : n;
  } else {
    ms = parseIsoTime(raw, timeZone);
  }
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}
