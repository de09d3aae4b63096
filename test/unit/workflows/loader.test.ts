import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadWorkflows, WorkflowFileError } from '../../../src/workflows/index.ts';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const shipped = fileURLToPath(new URL('../../../workflows/', import.meta.url));

async function problems(dir: string): Promise<string[]> {
  try {
    await loadWorkflows(`${fixtures}${dir}`, {});
  } catch (err) {
    expect(err).toBeInstanceOf(WorkflowFileError);
    expect((err as WorkflowFileError).code).toBe('revoker_validation_error');
    return (err as WorkflowFileError).issues.map((l) => l.replace(fixtures, ''));
  }
  throw new Error(`expected ${dir} to fail`);
}

describe('loadWorkflows', () => {
  it('reports every schema problem as file:line:col', async () => {
    const lines = await problems('broken');
    expect(lines).toEqual([
      expect.stringMatching(/^broken\/bad\.yaml:3:20 match\.sources\.1: Invalid option/),
      expect.stringMatching(/^broken\/bad\.yaml:8:15 approvals\.approvers\.0: bad reference \$\{BAD NAME\}/),
      expect.stringMatching(/^broken\/bad\.yaml:9:17 approvals\.expiresAfter: invalid duration "24 hours"/),
      expect.stringMatching(/^broken\/bad\.yaml:10:8 grace: invalid duration 10/),
      expect.stringMatching(/^broken\/bad\.yaml:13:5 steps\.1: a step is `revoke`, `verify` or `notify/),
      'broken/bad.yaml:14:1 colour: unknown key',
      'broken/missing.yaml:2:1 requesters: is required',
    ]);
  });

  it('reports YAML syntax errors with their position', async () => {
    // Written at run time: a broken YAML file in the repo would fail the formatter's own check.
    const dir = await mkdtemp(join(tmpdir(), 'revoker-wf-'));
    try {
      await writeFile(join(dir, 'bad.yaml'), 'name: syntax\nmatch:\n  sources: [slack\nrequesters: any\n');
      await expect(loadWorkflows(dir, {})).rejects.toThrow(/bad\.yaml:4:1 Flow sequence/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a workflow name used twice, pointing at the second', async () => {
    expect(await problems('duplicate')).toEqual([
      expect.stringMatching(/^duplicate\/b\.yaml:2:7 name: "same" is already used in .*duplicate\/a\.yaml$/),
    ]);
  });

  it('refuses a missing or empty directory', async () => {
    await expect(loadWorkflows(`${fixtures}does-not-exist`, {})).rejects.toThrow(/cannot read directory/);
  });

  it('expands env references: comma lists, literals, unset variables, substitutions', async () => {
    const env = { ADMINS: ' U1 , S2,,U1', APPROVERS: 'U9', TEAM: 'blue' };
    const workflows = await loadWorkflows(`${fixtures}valid`, env);
    expect(workflows.map((w) => w.name)).toEqual(['broad', 'broad-later', 'narrow-token']);
    const narrow = workflows[2]!;
    expect(narrow.requesters).toEqual({
      any: false,
      ids: ['U0LITERAL', 'U1', 'S2'],
      refs: ['ADMINS', 'UNSET_VAR'],
      emptyRefs: ['UNSET_VAR'],
    });
    expect(narrow.approvals).toMatchObject({
      required: 1,
      approvers: { ids: ['U9'] },
      selfApproval: true,
      expiresAfterMs: 5_400_000,
    });
    expect(narrow.graceMs).toBe(90_000);
    expect(narrow.steps).toEqual([{ revoke: true }, { notify: { channel: '#sec-blue' } }]);
    expect(narrow.description).toBe('Only listed admins, with a mixed literal and reference list.');
    expect(workflows[0]!.match.scopes).toEqual(['token', 'user', 'application', 'resourceServer']);
    expect(workflows[0]!.steps).toEqual([{ revoke: true }, { verify: true }]);
    expect(workflows[1]!.warnings).toEqual(['nobody may request under this workflow: NOBODY is empty']);
  });

  it('loads the shipped defaults, skipping notify steps whose channel is empty', async () => {
    const workflows = await loadWorkflows(shipped, {});
    expect(workflows.map((w) => w.name).sort()).toEqual([
      'cli',
      'hr-offboarding',
      'slack-bulk',
      'slack-token',
      'slack-user',
    ]);
    const hr = workflows.find((w) => w.name === 'hr-offboarding')!;
    expect(hr.steps).toEqual([{ revoke: true }, { verify: true }]);
    expect(hr.warnings).toContain('notify step skipped: SLACK_NOTIFY_CHANNEL is empty');
    const withChannel = await loadWorkflows(shipped, { SLACK_NOTIFY_CHANNEL: 'C123' });
    expect(withChannel.find((w) => w.name === 'hr-offboarding')!.steps).toContainEqual({
      notify: { channel: 'C123' },
    });
  });
});
