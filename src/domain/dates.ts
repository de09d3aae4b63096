/**
 * Vendors give a termination *date* (the last day worked), or a datetime without an offset. Both mean
 * something only on the company's clock: `HR_TIME_ZONE` (IANA name, default UTC), or per source
 * `HR_<SOURCE>_TIME_ZONE`, and `OFFBOARDING_AT` (when on that day access ends):
 *  - `end-of-day` (default): the end of the last day worked, i.e. 00:00 the next day in that zone;
 *  - `start-of-day`: 00:00 on that day;
 *  - `HH:MM`: that local time on that day.
 * A local time that does not exist (spring forward) becomes the first instant after the gap; one that
 * occurs twice (fall back) becomes the first of the two. Full datetimes with an offset are kept as they
 * are. Empty / zero dates (BambooHR sends `0000-00-00`) ⇒ undefined. Only `Intl` is used: Node's ICU
 * carries the IANA database, so no date library is needed.
 */

/** When on the last day worked access ends (`OFFBOARDING_AT`). */
export type OffboardingAt =
  | { kind: 'end-of-day' }
  | { kind: 'start-of-day' }
  | { kind: 'time'; hour: number; minute: number };

/** The company's clock for one HR source. */
export interface HrClock {
  /** IANA time zone name; default `UTC`. */
  timeZone: string;
  /** Default end of day. */
  offboardingAt: OffboardingAt;
}

export const UTC_END_OF_DAY: HrClock = Object.freeze({
  timeZone: 'UTC',
  offboardingAt: Object.freeze({ kind: 'end-of-day' as const }),
});

/** Parses `OFFBOARDING_AT`: `end-of-day`, `start-of-day` or `HH:MM` (24 h); undefined when malformed. */
export function parseOffboardingAt(value: string): OffboardingAt | undefined {
  const v = value.trim().toLowerCase();
  if (v === 'end-of-day') return { kind: 'end-of-day' };
  if (v === 'start-of-day') return { kind: 'start-of-day' };
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(v);
  return m ? { kind: 'time', hour: Number(m[1]), minute: Number(m[2]) } : undefined;
}

/** The zone's canonical name when `Intl` knows it (IANA names, `UTC`), else undefined. */
export function canonicalTimeZone(name: string): string | undefined {
  const v = name.trim();
  // IANA names start with a letter; numeric offsets (`+05:00`) are not a company's clock (no DST rules).
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(v)) return undefined;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: v }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The wall-clock fields of instant `ms` in `timeZone`. */
export function wallClock(
  ms: number,
  timeZone: string,
): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour!,
    minute: parts.minute!,
    second: parts.second!,
  };
}

/** Offset of `timeZone` from UTC at instant `ms`, in ms (e.g. −8 h in Los Angeles in winter). */
export function offsetAt(ms: number, timeZone: string): number {
  const whole = Math.floor(ms / 1000) * 1000;
  const w = wallClock(whole, timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - whole;
}

/**
 * The instant a local wall time (`wall` = that time written as if it were UTC, in ms) happens in
 * `timeZone`: the first of two when it happens twice, the first instant after the gap when it does not
 * happen at all.
 */
export function instantOfLocal(wall: number, timeZone: string): number {
  // Every offset the zone uses around that day: at most two, barring a zone that changed twice in 2 days.
  const offsets = new Set<number>();
  for (const probe of [-2, -1, 0, 1, 2]) offsets.add(offsetAt(wall + probe * 86_400_000, timeZone));
  const candidates = [...offsets]
    .map((o) => wall - o)
    .filter((t) => offsetAt(t, timeZone) === wall - t)
    .sort((a, b) => a - b);
  if (candidates.length > 0) return candidates[0]!;
  // A gap: the wall time is skipped. The transition lies between the two readings; the first instant
  // on the later offset is the first one after the gap (to the second: transitions are whole seconds).
  const readings = [...offsets].map((o) => wall - o).sort((a, b) => a - b);
  let lo = readings[0]!;
  let hi = readings[readings.length - 1]!;
  const after = offsetAt(hi, timeZone);
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2000) * 1000;
    if (mid <= lo || mid >= hi) break;
    if (offsetAt(mid, timeZone) === after) hi = mid;
    else lo = mid;
  }
  return hi;
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
/** A datetime without `Z` or an offset: a wall time on the source's clock. */
const ZONELESS = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/;

function validDate(y: number, m: number, d: number): boolean {
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

/**
 * When a date-only termination takes effect on `clock`. `dayBoundary: 'start'` is for vendors whose event
 * says the contract has already ended (the date is the first day without access): 00:00 that day,
 * whatever `OFFBOARDING_AT` says.
 */
export function dateInstant(
  date: string,
  clock: HrClock = UTC_END_OF_DAY,
  dayBoundary: 'end' | 'start' = 'end',
): string | undefined {
  const m = DATE_ONLY.exec(date);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (!validDate(y, mo, d)) return undefined;
  const day = Date.UTC(y, mo - 1, d);
  const at = dayBoundary === 'start' ? { kind: 'start-of-day' as const } : clock.offboardingAt;
  const wall =
    at.kind === 'end-of-day'
      ? day + 86_400_000
      : at.kind === 'start-of-day'
        ? day
        : day + at.hour * 3_600_000 + at.minute * 60_000;
  return new Date(instantOfLocal(wall, clock.timeZone)).toISOString();
}

/**
 * A vendor's termination value as an instant (ISO-8601, UTC): a date on the source's clock (see above),
 * a zone-less datetime read in the source's zone, a datetime with an offset as it is.
 */
export function terminationInstant(
  value: string | null | undefined,
  /** 'end' (default): the date is the last day worked. 'start': the event says it has already ended. */
  dayBoundary: 'end' | 'start' = 'end',
  clock: HrClock = UTC_END_OF_DAY,
): string | undefined {
  if (!value || /^0{4}-0{2}-0{2}/.test(value)) return undefined;
  const v = value.trim();
  if (DATE_ONLY.test(v)) return dateInstant(v, clock, dayBoundary);
  const z = ZONELESS.exec(v);
  if (z) {
    const [y, mo, d] = [Number(z[1]), Number(z[2]), Number(z[3])];
    const [h, mi, s] = [Number(z[4]), Number(z[5]), Number(z[6] ?? 0)];
    if (!validDate(y, mo, d) || h > 23 || mi > 59 || s > 59) return undefined;
    return new Date(instantOfLocal(Date.UTC(y, mo - 1, d, h, mi, s), clock.timeZone)).toISOString();
  }
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

/** The company's clock (`HR_TIME_ZONE`, `OFFBOARDING_AT`) and each source's own zone (`HR_<SOURCE>_TIME_ZONE`). */
export interface HrClocks {
  default: HrClock;
  /** Lower-case source name → IANA zone. */
  bySource?: Readonly<Record<string, string>>;
}

/** The clock of `source`: its own zone (`HR_<SOURCE>_TIME_ZONE`) or the company's. */
export function clockFor(source: string, clocks: HrClocks | undefined): HrClock {
  if (!clocks) return UTC_END_OF_DAY;
  const zone = clocks.bySource?.[source];
  return zone ? { ...clocks.default, timeZone: zone } : clocks.default;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `+HH:MM` / `-HH:MM` for an offset in ms. */
function offsetText(offsetMs: number): string {
  const sign = offsetMs < 0 ? '-' : '+';
  const minutes = Math.round(Math.abs(offsetMs) / 60_000);
  return `${sign}${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
}

/**
 * An instant as people read it on the company's clock and in UTC, e.g. for 2026-12-13T08:00Z in Los
 * Angeles: `{local: '2026-12-13 00:00 -08:00', iso: '2026-12-13T00:00:00-08:00', utc: '2026-12-13 08:00 UTC'}`.
 */
export function zonedTime(
  iso: string,
  timeZone: string,
): { local: string; iso: string; utc: string; timeZone: string } | undefined {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return undefined;
  const w = wallClock(ms, timeZone);
  const off = offsetText(offsetAt(ms, timeZone));
  const date = `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
  const u = new Date(ms);
  return {
    local: `${date} ${pad(w.hour)}:${pad(w.minute)} ${off}`,
    iso: `${date}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}${off}`,
    utc: `${u.toISOString().slice(0, 10)} ${u.toISOString().slice(11, 16)} UTC`,
    timeZone,
  };
}

/** One line for people: `2026-12-13 00:00 -08:00 America/Los_Angeles (2026-12-13 08:00 UTC)`. */
export function describeInZone(iso: string | undefined, timeZone: string | undefined): string | undefined {
  if (!iso) return undefined;
  const z = zonedTime(iso, timeZone ?? 'UTC');
  if (!z) return undefined;
  return z.timeZone === 'UTC' ? z.utc : `${z.local} ${z.timeZone} (${z.utc})`;
}
