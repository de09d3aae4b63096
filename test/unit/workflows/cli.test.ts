import { describe, expect, it } from 'vitest';
import { CLI_TIMEOUT_MS, runRevoker } from '../../helpers/cli.ts';

const validate = (...args: string[]) =>
  runRevoker(['workflows', 'validate', ...args], {
    SLACK_ADMIN_USERS: 'U1',
    SLACK_APPROVER_USERS: 'U2,U3',
    SLACK_NOTIFY_CHANNEL: 'C1',
  });

describe('revoker workflows validate (CLI)', { timeout: CLI_TIMEOUT_MS }, () => {
  it('exits 0 with a summary table for the shipped workflows', async () => {
    const r = await validate('workflows/');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^WORKFLOW\s+SOURCES\s+SCOPES/);
    expect(r.stdout).toMatch(/slack-bulk\s+slack\s+application,resourceServer\s+1 id\(s\)/);
    expect(r.stdout).toContain('ok: 5 workflow(s) in workflows/');
  });

  it('exits 1 listing file:line:col problems for a broken directory', async () => {
    const r = await validate('test/unit/workflows/fixtures/broken');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('test/unit/workflows/fixtures/broken/bad.yaml:3:20 match.sources.1:');
    expect(r.stderr).toContain('test/unit/workflows/fixtures/broken/bad.yaml:14:1 colour: unknown key');
    expect(r.stderr).toContain('7 problem(s)');
  });
});
