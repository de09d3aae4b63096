import { describe, expect, it } from 'vitest';
import { refuseUnsupported, summary } from '../../../src/cli/revoke.ts';
import { UnsupportedError } from '../../../src/domain/errors.ts';
import type { RequestRecord } from '../../../src/intake/types.ts';
import { statusLine } from '../../../src/slack/messages/request-summary.ts';
import { MemoryIdp } from '../../helpers/memory-idp.ts';

const record = (over: Partial<RequestRecord>): RequestRecord => ({
  id: 'req-1',
  target: { kind: 'user', userId: 'u-1' },
  reason: 'offboarding',
  requestedBy: { source: 'cli', id: 'ops' },
  source: 'cli',
  createdAt: '2026-01-01T00:00:00.000Z',
  state: 'verified',
  workflow: 'default',
  requiredApprovals: 0,
  approvals: [],
  approvers: [],
  allowSelfApproval: false,
  progress: { done: 1, total: 1 },
  updatedAt: '2026-01-01T00:00:01.000Z',
  ...over,
});

describe('the unverifiable outcome, as the CLI and Slack say it', () => {
  it('is "done, unverifiable: <why>", never "verified"', () => {
    const rec = record({
      state: 'unverifiable',
      result: { ok: true, revoked: 0, remaining: 0, unverifiable: 'the IdP lists no tokens' },
    });
    expect(summary(rec)).toBe(
      'req-1 done, unverifiable: the IdP lists no tokens; all tokens of user u-1 — revoked 0, remaining 0',
    );
    expect(summary(rec)).not.toContain('verified:');
    expect(statusLine(rec)).toBe(':grey_question: Done, unverifiable: the IdP lists no tokens (0 revoked)');
  });

  it('a verified request still reads as verified', () => {
    const rec = record({ result: { ok: true, revoked: 3, remaining: 0 } });
    expect(summary(rec)).toBe('req-1 verified: all tokens of user u-1 — revoked 3, remaining 0');
  });
});

describe('the CLI refuses a scope the IdP declares unsupported', () => {
  it('runs the start-up probe, then refuses in the IdP’s words', async () => {
    // An IdP that finds out on its probe that this plan lacks a scope (as Auth0 below Enterprise does).
    class PlanLimitedIdp extends MemoryIdp {
      override async ping(): Promise<void> {
        this.capabilities.scopes.application = false;
        this.capabilities.unsupportedReasons.application = 'Unsupported on this plan.';
      }
    }
    const idp = new PlanLimitedIdp();
    await expect(refuseUnsupported(idp, 'user')).resolves.toBeUndefined();
    const err = await refuseUnsupported(idp, 'application').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedError);
    expect((err as Error).message).toBe('Unsupported on this plan.');
  });
});

describe('the parts of an outcome, as the CLI and Slack say them (issue 18)', () => {
  const oktaUser = record({
    state: 'unverifiable',
    result: {
      ok: true,
      revoked: 1,
      remaining: 0,
      unverifiable: 'sessions (Okta offers no listing)',
      parts: [
        { part: 'refresh tokens', outcome: 'verified', method: 'list' },
        { part: 'sessions', outcome: 'unverifiable', why: 'Okta offers no listing' },
      ],
    },
  });

  it('names what was verified and what could not be, never a bare "verified"', () => {
    expect(summary(oktaUser)).toBe(
      'req-1 done, unverifiable; all tokens of user u-1 — revoked 1, remaining 0 — verified: refresh tokens; unverifiable: sessions (Okta offers no listing)',
    );
    expect(statusLine(oktaUser)).toBe(
      ':grey_question: Done, unverifiable (1 revoked)\nverified: refresh tokens; unverifiable: sessions (Okta offers no listing)',
    );
  });

  it('a failed call is a failed part; outside text is sanitised for the CLI and escaped for Slack', () => {
    const rec = record({
      state: 'failed',
      result: {
        ok: false,
        revoked: 0,
        remaining: 0,
        error: '1 call(s) failed for good',
        parts: [
          { part: 'refresh tokens', outcome: 'verified', method: 'list' },
          { part: 'call user:u-1', outcome: 'failed', why: 'denied <!channel>\u202e\nforged line' },
        ],
      },
    });
    const cli = summary(rec);
    expect(cli).toContain('failed: call user:u-1 (denied <!channel>\ufffdforged line)');
    expect(cli).not.toContain('\n');
    const slack = statusLine(rec);
    expect(slack).toContain('failed: call user:u-1 (denied &lt;!channel&gt;');
    expect(slack).not.toContain('<!channel>');
  });

  it('keeps Slack within its limits however long the IdP’s words are', () => {
    const rec = record({
      state: 'unverifiable',
      result: {
        ok: true,
        revoked: 0,
        remaining: 0,
        parts: Array.from({ length: 20 }, (_, i) => ({
          part: `part ${i}`,
          outcome: 'unverifiable' as const,
          why: '<&>'.repeat(300),
        })),
      },
    });
    expect(statusLine(rec).length).toBeLessThanOrEqual(3000);
  });
});

describe('parts in Slack are cut by grapheme', () => {
  it('never splits a flag or an entity at the 1,500-character cut', () => {
    const rec = record({
      state: 'unverifiable',
      result: {
        ok: true,
        revoked: 0,
        remaining: 0,
        parts: Array.from({ length: 12 }, (_, i) => ({
          part: `p${i}`,
          outcome: 'unverifiable' as const,
          why: `${'🇫🇷'.repeat(40)}&`.repeat(2),
        })),
      },
    });
    const line = statusLine(rec).split('\n')[1]!;
    expect(line.length).toBeLessThanOrEqual(1500);
    expect(line.endsWith('…')).toBe(true);
    // No lone regional indicator (half a flag) and no cut entity before the ellipsis.
    expect([...line.slice(0, -1).matchAll(/\p{Regional_Indicator}/gu)].length % 2).toBe(0);
    expect(line).not.toMatch(/&(?:a|am|amp)?…$/);
  });
});
