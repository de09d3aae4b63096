import { describe, expect, it } from 'vitest';
import {
  aggregateParts,
  describeParts,
  partsOf,
  showsEveryPartDone,
} from '../../../src/identity/part-outcomes.ts';
import type { PartOutcome } from '../../../src/identity/port.ts';

const verified: PartOutcome = { part: 'refresh tokens', outcome: 'verified', method: 'list' };
const sessions: PartOutcome = { part: 'sessions', outcome: 'unverifiable', why: 'Okta offers no listing' };
const call: PartOutcome = { part: 'call user:u1', outcome: 'failed', why: 'the IdP call failed for good' };

describe('the outcome model (issue 18)', () => {
  it('a request is verified only when every part is; unverifiable when none failed; else failed', () => {
    expect(aggregateParts([verified])).toBe('verified');
    expect(aggregateParts([verified, sessions])).toBe('unverifiable');
    expect(aggregateParts([verified, sessions, call])).toBe('failed');
    expect(aggregateParts([verified, call])).toBe('failed');
    expect(aggregateParts([])).toBe('unverifiable');
  });

  it('a verify without parts is one part "tokens" judged by ok and method', () => {
    expect(partsOf({ ok: true, remaining: [], method: 'list' })).toEqual([
      { part: 'tokens', outcome: 'verified', method: 'list' },
    ]);
    expect(partsOf({ ok: true, remaining: [], method: 'none', unverifiable: 'no listing' })).toEqual([
      { part: 'tokens', outcome: 'unverifiable', why: 'no listing' },
    ]);
    expect(partsOf({ ok: false, remaining: [{ id: 't1' }], method: 'list' })).toMatchObject([
      { part: 'tokens', outcome: 'failed', remaining: [{ id: 't1' }] },
    ]);
  });

  it('a retried bulk step may skip its call only when every part was observed done', () => {
    expect(showsEveryPartDone({ ok: true, remaining: [], method: 'list', parts: [verified] })).toBe(true);
    expect(showsEveryPartDone({ ok: true, remaining: [], method: 'list', parts: [verified, sessions] })).toBe(
      false,
    );
    expect(showsEveryPartDone({ ok: true, remaining: [], method: 'none', unverifiable: 'blind' })).toBe(
      false,
    );
  });

  it('says the parts grouped by outcome, in words', () => {
    expect(describeParts([verified, sessions])).toBe(
      'verified: refresh tokens; unverifiable: sessions (Okta offers no listing)',
    );
  });
});
