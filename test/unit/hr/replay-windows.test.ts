import { describe, expect, it } from 'vitest';
import { HR_DEDUPE_TTL_SECONDS, HR_JOB_ATTEMPTS, hrRetryDelayMs } from '../../../src/hr/hr-event-queue.ts';
import { HR_SOURCES } from '../../../src/hr/registry.ts';
import { dedupeTtlSecondsFor, REDELIVERY_SPAN_MS, replayWindowMs } from '../../../src/hr/replay-windows.ts';

const DAY_MS = 86_400_000;

describe('replay windows per vendor (src/hr/replay-windows.ts)', () => {
  it('cover each vendor’s documented retry span: HiBob 3 days, 3 days where undocumented', () => {
    expect(replayWindowMs('hibob')).toBeGreaterThanOrEqual(3 * DAY_MS);
    for (const source of Object.keys(HR_SOURCES)) {
      expect(REDELIVERY_SPAN_MS[source], source).toBeDefined();
      expect(replayWindowMs(source), source).toBeGreaterThanOrEqual(3 * DAY_MS);
    }
    // A longer HR_REPLAY_WINDOW_SECONDS wins; a shorter one cannot shrink below the vendor's span.
    expect(replayWindowMs('gusto', 10 * DAY_MS)).toBe(10 * DAY_MS);
    expect(replayWindowMs('gusto', DAY_MS)).toBe(3 * DAY_MS);
  });

  it('dedupe markers (and completed jobs) outlive every window', () => {
    for (const source of Object.keys(HR_SOURCES)) {
      expect(dedupeTtlSecondsFor(source) * 1000, source).toBeGreaterThan(replayWindowMs(source));
      expect(HR_DEDUPE_TTL_SECONDS * 1000, source).toBeGreaterThan(replayWindowMs(source));
    }
  });

  it('a lookup outage is retried across the longest redelivery span, at most 15 minutes apart', () => {
    let total = 0;
    for (let attempt = 1; attempt < HR_JOB_ATTEMPTS; attempt++) {
      expect(hrRetryDelayMs(attempt)).toBeLessThanOrEqual(15 * 60_000);
      total += hrRetryDelayMs(attempt);
    }
    expect(total).toBeGreaterThanOrEqual(3 * DAY_MS);
    // The first retries stay quick (a blip costs seconds).
    expect(hrRetryDelayMs(1)).toBe(1000);
  });
});
