/**
 * Vendors give a termination *date* (the last day worked). Tokens die at the end of that day, UTC:
 * `2026-12-01` ⇒ `2026-12-02T00:00:00.000Z`. Full datetimes are kept as they are. Empty / zero dates
 * (BambooHR sends `0000-00-00`) ⇒ undefined.
 */
export function terminationInstant(
  value: string | null | undefined,
  /** 'end' (default): the date is the last day worked. 'start': the event says it has already ended. */
  dayBoundary: 'end' | 'start' = 'end',
): string | undefined {
  if (!value || /^0{4}-0{2}-0{2}/.test(value)) return undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const ms = Date.parse(`${value}T00:00:00Z`);
    if (!Number.isFinite(ms)) return undefined;
    return new Date(dayBoundary === 'end' ? ms + 86_400_000 : ms).toISOString();
  }
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}
