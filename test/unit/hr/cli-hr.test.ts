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

describe('revoker hr pending: outside text', () => {
  it('escapes a newline and ANSI escapes in an HR employeeId, so no row is forged', () => {
    const forged =
      'E1\n\u001b[32mgusto:E9  eve@example.com  2026-01-01T00:00:00Z  req_fake  scheduled\u001b[0m';
    const rec = {
      id: 'req_a',
      target: { kind: 'user', userId: 'u1' },
      reason: 'r',
      requestedBy: { source: 'hr', id: 'gusto' },
      source: 'hr',
      effectiveAt: '2026-07-01T00:00:00.000Z',
      createdAt: '2026-06-01T00:00:00.000Z',
      updatedAt: '2026-06-01T00:00:00.000Z',
      state: 'scheduled',
      workflow: 'w',
      requiredApprovals: 0,
      approvals: [],
      approvers: [],
      allowSelfApproval: false,
      progress: { done: 0, total: 0 },
      context: { hrSource: 'gusto', employeeId: forged, email: 'a@example.com' },
    } as const;
    const out = formatPending([rec as unknown as Parameters<typeof formatPending>[0][number]]);
    const lines = out.split('\n');
    expect(lines).toHaveLength(2);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting no escape character is printed.
    expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(lines[1]).toContain('\ufffd');
  });
});
