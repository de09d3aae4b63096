import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../../src/workflows/index.ts';

describe('durations', () => {
  it.each([
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['24h', 86_400_000],
    ['2d', 172_800_000],
    ['500ms', 500],
    ['1h30m', 5_400_000],
    [' 15m ', 900_000],
    ['0', 0],
    [0, 0],
  ] as const)('parses %j', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '10', '24 hours', '1w', 'h', '-5m', '1.5h', '30m junk'])('rejects %j', (text) => {
    expect(() => parseDuration(text)).toThrow(/invalid duration .*like 90s, 30m, 24h or 2d/);
  });

  it('rejects a bare non-zero number: the unit would be a guess', () => {
    expect(() => parseDuration(3600)).toThrow(/invalid duration 3600/);
  });

  it('formats with the largest exact units', () => {
    expect(formatDuration(0)).toBe('0');
    expect(formatDuration(86_400_000)).toBe('1d');
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(90_500)).toBe('1m30s500ms');
  });
});
