import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import {
  clockFor,
  describeInZone,
  type HrClock,
  parseOffboardingAt,
  terminationInstant,
} from '../../../src/domain/dates.ts';
import { ConfigError } from '../../../src/domain/errors.ts';
import { HR_SOURCES } from '../../../src/hr/registry.ts';

const LA = 'America/Los_Angeles';
const clock = (timeZone: string, at = 'end-of-day'): HrClock => ({
  timeZone,
  offboardingAt: parseOffboardingAt(at)!,
});

describe('a date-only termination on the company’s clock', () => {
  // Issue 23, done-when: the last working day in Los Angeles ends at midnight there.
  it.each([
    ['2026-12-12', '2026-12-13T08:00:00.000Z'], // winter, PST (UTC−8)
    ['2027-03-14', '2027-03-15T07:00:00.000Z'], // the spring-forward day: the next midnight is PDT (UTC−7)
    ['2026-11-01', '2026-11-02T08:00:00.000Z'], // the fall-back day: the next midnight is PST again
  ])('America/Los_Angeles %s ⇒ %s', (date, instant) => {
    expect(terminationInstant(date, 'end', clock(LA))).toBe(instant);
  });

  it('default (no zone configured) stays the end of the day in UTC', () => {
    expect(terminationInstant('2026-12-12')).toBe('2026-12-13T00:00:00.000Z');
  });

  it('Tokyo: the end of the day there, not nine hours later', () => {
    expect(terminationInstant('2026-12-12', 'end', clock('Asia/Tokyo'))).toBe('2026-12-12T15:00:00.000Z');
  });

  it('start-of-day and a local time', () => {
    expect(terminationInstant('2026-12-12', 'end', clock(LA, 'start-of-day'))).toBe(
      '2026-12-12T08:00:00.000Z',
    );
    expect(terminationInstant('2026-12-12', 'end', clock(LA, '18:00'))).toBe('2026-12-13T02:00:00.000Z');
    expect(terminationInstant('2026-07-01', 'end', clock(LA, '18:00'))).toBe('2026-07-02T01:00:00.000Z');
  });

  it('a local time skipped by spring-forward moves to the first instant after the gap', () => {
    // 2027-03-14 02:00 PST → 03:00 PDT: 02:30 never happens; the gap ends at 03:00 PDT = 10:00Z.
    expect(terminationInstant('2027-03-14', 'end', clock(LA, '02:30'))).toBe('2027-03-14T10:00:00.000Z');
    // Santiago springs forward at midnight (2026-09-06 00:00 → 01:00): the end of 5 September is 01:00 −03.
    expect(terminationInstant('2026-09-05', 'end', clock('America/Santiago'))).toBe(
      '2026-09-06T04:00:00.000Z',
    );
  });

  it('a local time that happens twice (fall back) takes the first', () => {
    // 2026-11-01 01:30 happens at 01:30 PDT (08:30Z) and again at 01:30 PST (09:30Z).
    expect(terminationInstant('2026-11-01', 'end', clock(LA, '01:30'))).toBe('2026-11-01T08:30:00.000Z');
  });

  it('"start" (the contract has already ended) is 00:00 that day in the zone, whatever OFFBOARDING_AT says', () => {
    expect(terminationInstant('2026-12-12', 'start', clock(LA, '18:00'))).toBe('2026-12-12T08:00:00.000Z');
  });

  it('a zone-less vendor datetime is read in the source’s zone; one with an offset is kept', () => {
    expect(terminationInstant('2026-12-12T18:00:00', 'end', clock(LA))).toBe('2026-12-13T02:00:00.000Z');
    expect(terminationInstant('2026-12-12 18:00', 'end', clock(LA))).toBe('2026-12-13T02:00:00.000Z');
    expect(terminationInstant('2026-12-12T18:00:00Z', 'end', clock(LA))).toBe('2026-12-12T18:00:00.000Z');
    expect(terminationInstant('2026-12-12T18:00:00+01:00', 'end', clock(LA))).toBe(
      '2026-12-12T17:00:00.000Z',
    );
  });

  it('empty, zero and impossible dates give nothing', () => {
    for (const v of [undefined, null, '', '0000-00-00', '2026-02-30', '2026-12-12T25:00:00'])
      expect(terminationInstant(v, 'end', clock(LA))).toBeUndefined();
  });

  it('shows an instant in the zone and in UTC', () => {
    expect(describeInZone('2026-12-13T08:00:00.000Z', LA)).toBe(
      '2026-12-13 00:00 -08:00 America/Los_Angeles (2026-12-13 08:00 UTC)',
    );
    expect(describeInZone('2026-12-13T08:00:00.000Z', undefined)).toBe('2026-12-13 08:00 UTC');
  });
});

describe('HR sources read dates on the clock they are given', () => {
  it('BambooHR field-based terminationDate, Deel completion_date, Standard Webhooks date-only effectiveAt', () => {
    const bamboo = HR_SOURCES.bamboohr!.normalise(
      Buffer.from(
        JSON.stringify({
          employees: [
            {
              id: '5',
              action: 'Updated',
              changedFields: ['Status'],
              fields: {
                Status: 'Inactive',
                'Work Email': 'ash@example.com',
                'Termination Date': '2027-03-14',
              },
            },
          ],
        }),
      ),
      {},
      clock(LA),
    );
    expect(bamboo[0]!.effectiveAt).toBe('2027-03-15T07:00:00.000Z');
    const deel = HR_SOURCES.deel!.normalise(
      Buffer.from(
        JSON.stringify({
          data: {
            meta: { event_type: 'contract.terminated', tracking_id: 't1' },
            resource: { id: 'c1', completion_date: '2026-12-12' },
          },
          timestamp: '2026-12-12T20:00:00Z',
        }),
      ),
      {},
      clock(LA),
    );
    expect(deel[0]!.effectiveAt).toBe('2026-12-12T08:00:00.000Z');
    const standard = HR_SOURCES.standard!.normalise(
      Buffer.from(
        JSON.stringify({
          type: 'employee.terminated',
          data: { employeeId: 'E1', email: 'a@example.com', effectiveAt: '2026-11-01' },
        }),
      ),
      { 'webhook-id': 'msg_1' },
      clock(LA),
    );
    expect(standard[0]!.effectiveAt).toBe('2026-11-02T08:00:00.000Z');
  });
});

describe('HR_TIME_ZONE, HR_<SOURCE>_TIME_ZONE, OFFBOARDING_AT, OFFBOARDING_SLA', () => {
  it('default: UTC, end of day, 1 h', () => {
    const cfg = loadConfig({});
    expect(cfg.hrClocks.default).toEqual({ timeZone: 'UTC', offboardingAt: { kind: 'end-of-day' } });
    expect(cfg.OFFBOARDING_SLA).toBe(3_600_000);
  });

  it('per source zones override the company’s', () => {
    const cfg = loadConfig({
      HR_TIME_ZONE: 'Europe/Paris',
      HR_GUSTO_TIME_ZONE: LA,
      OFFBOARDING_AT: '18:00',
      OFFBOARDING_SLA: '30m',
    });
    expect(clockFor('gusto', cfg.hrClocks)).toEqual({
      timeZone: LA,
      offboardingAt: { kind: 'time', hour: 18, minute: 0 },
    });
    expect(clockFor('bamboohr', cfg.hrClocks).timeZone).toBe('Europe/Paris');
    expect(cfg.OFFBOARDING_SLA).toBe(1_800_000);
  });

  it.each([
    [{ HR_TIME_ZONE: 'Mars/Olympus' }, 'HR_TIME_ZONE'],
    [{ HR_TIME_ZONE: '+05:00' }, 'HR_TIME_ZONE'],
    [{ HR_DEEL_TIME_ZONE: 'PST8PDT x' }, 'HR_DEEL_TIME_ZONE'],
    [{ OFFBOARDING_AT: '25:00' }, 'OFFBOARDING_AT'],
    [{ OFFBOARDING_AT: 'noon' }, 'OFFBOARDING_AT'],
    [{ OFFBOARDING_SLA: '3600' }, 'OFFBOARDING_SLA'],
  ])('refuses %o naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(variable);
  });
});
