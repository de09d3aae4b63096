import { Command } from 'commander';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { formatPending, register } from '../../../src/cli/hr.ts';
import { MemoryIdp } from '../../helpers/memory-idp.ts';
import { createPipeline } from '../../helpers/pipeline.ts';

describe('revoker hr pending', () => {
  it('lists only scheduled HR requests, soonest first', async () => {
    const now = new Date('2026-06-01T00:00:00Z');
    const pipe = await createPipeline({ idp: new MemoryIdp(), clock: () => now });
    onTestFinished(() => pipe.close());
    const intake = pipe.intake;
    const base = {
      target: { kind: 'user', userId: 'u1' },
      reason: 'r',
      requestedBy: { source: 'hr', id: 'gusto' },
    } as const;
    await intake.submit({
      ...base,
      source: 'hr',
      effectiveAt: '2026-12-01T00:00:00Z',
      context: { hrSource: 'gusto', employeeId: 'E2', email: 'b@example.com' },
    });
    await intake.submit({
      ...base,
      source: 'hr',
      effectiveAt: '2026-07-01T00:00:00Z',
      context: { hrSource: 'gusto', employeeId: 'E1', email: 'a@example.com' },
    });
    await intake.submit({ ...base, source: 'hr' }); // immediate: queued, not listed
    await intake.submit({ ...base, source: 'cli', effectiveAt: '2026-08-01T00:00:00Z' });

    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const close = vi.fn(async () => {});
    const program = new Command().exitOverride();
    register(program, async () => ({ intake, close }));
    await program.parseAsync(['node', 'revoker', 'hr', 'pending']);
    const text = String(out.mock.calls[0]![0]);
    out.mockRestore();
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^EMPLOYEE\s+EMAIL\s+EFFECTIVE\s+ZONE\s+UTC\s+REQUEST\s+STATE$/);
    // No HR_TIME_ZONE: the company's clock is UTC.
    expect(lines[1]).toMatch(
      /^gusto:E1\s+a@example.com\s+2026-07-01 00:00 \+00:00\s+UTC\s+2026-07-01T00:00:00(\.000)?Z\s+req_[A-Za-z0-9_-]+\s+scheduled$/,
    );
    expect(lines[2]).toContain('gusto:E2');
    expect(close).toHaveBeenCalledOnce();
  });

  it('prints a header only when nothing is scheduled', () => {
    expect(formatPending([])).toBe('EMPLOYEE  EMAIL  EFFECTIVE  ZONE  UTC  REQUEST  STATE');
  });
});
