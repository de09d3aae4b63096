import { ValidationError } from '../domain/errors.ts';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;
const PART = /(\d+)(ms|s|m|h|d)/y;

/**
 * Parses `90s`, `30m`, `24h`, `2d`, `500ms`, or combinations like `1h30m`, into milliseconds.
 * A bare number is accepted only when it is 0: "3600" could mean seconds or milliseconds, so it
 * must say which.
 */
export function parseDuration(input: string | number): number {
  if (input === 0 || input === '0') return 0;
  const text = typeof input === 'number' ? '' : input.trim();
  let total = 0;
  PART.lastIndex = 0;
  let end = 0;
  for (let m = PART.exec(text); m !== null; m = PART.exec(text)) {
    total += Number(m[1]) * UNIT_MS[m[2] as Unit];
    end = PART.lastIndex;
  }
  if (text === '' || end !== text.length || !Number.isSafeInteger(total)) {
    throw new ValidationError(
      `invalid duration ${JSON.stringify(input)}: use a number with a unit, like 90s, 30m, 24h or 2d`,
    );
  }
  return total;
}

/** The largest units that divide exactly: 86400000 → `1d`, 5400000 → `1h30m`, 0 → `0`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  let rest = ms;
  let out = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * UNIT_MS[unit];
    }
  }
  return out;
}
