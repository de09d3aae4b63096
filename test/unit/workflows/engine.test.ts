import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Actor, Source } from '../../../src/domain/request.ts';
import type { Scope } from '../../../src/domain/target.ts';
import { createWorkflowEngine, type YamlWorkflowEngine } from '../../../src/workflows/index.ts';

const shipped = fileURLToPath(new URL('../../../workflows/', import.meta.url));
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const env = {
  SLACK_ADMIN_USERS: 'UADMIN1,UADMIN2,SADMINS',
  SLACK_APPROVER_USERS: 'UAPPR1,UAPPR2,UADMIN1',
  SLACK_NOTIFY_CHANNEL: 'CSECURITY',
};
const slack = (id: string): Actor => ({ source: 'slack', id });

describe('YamlWorkflowEngine with the shipped defaults', () => {
  let engine: YamlWorkflowEngine;
  beforeAll(async () => {
    engine = await createWorkflowEngine(shipped, env);
  });
  const decide = (source: Source, scope: Scope, requestedBy: Actor = slack('UADMIN1')) =>
    engine.decide({ source, scope, requestedBy });

  it('lets an admin revoke one token from Slack without approval', async () => {
    expect(await decide('slack', 'token')).toEqual({
      workflow: 'slack-token',
      allowed: true,
      approvals: {
        required: 0,
        approvers: [],
        allowSelfApproval: false,
        expiresAfterMs: 86_400_000,
      },
      graceMs: 0,
      cancelApprovals: 2,
      steps: [{ revoke: true }, { verify: true }],
    });
  });

  it('needs one approver for all tokens of a user, expiring after 24h, no self-approval', async () => {
    const d = await decide('slack', 'user');
    expect(d).toMatchObject({ workflow: 'slack-user', allowed: true });
    expect(d.approvals).toEqual({
      required: 1,
      approvers: ['UAPPR1', 'UAPPR2', 'UADMIN1'],
      allowSelfApproval: false,
      expiresAfterMs: 86_400_000,
    });
  });

  it.each(['application', 'resourceServer'] as const)(
    'needs two approvers for %s (two-person rule)',
    async (scope) => {
      const d = await decide('slack', scope);
      expect(d).toMatchObject({ workflow: 'slack-bulk', allowed: true, approvals: { required: 2 } });
      expect(d.steps).toContainEqual({ notify: { channel: 'CSECURITY' } });
    },
  );

  it.each(['hr', 'scim', 'gtr'] as const)(
    'offboards a user from %s with no approval, any requester',
    async (source) => {
      const d = await decide(source, 'user', { source, id: 'bamboohr' });
      expect(d).toMatchObject({
        workflow: 'hr-offboarding',
        allowed: true,
        approvals: { required: 0 },
        graceMs: 0,
      });
      expect(d.steps).toEqual([{ revoke: true }, { verify: true }, { notify: { channel: 'CSECURITY' } }]);
    },
  );

  it('allows every scope from the CLI without approval', async () => {
    for (const scope of ['token', 'user', 'application', 'resourceServer'] as const) {
      expect(await decide('cli', scope, { source: 'cli', id: 'ops' })).toMatchObject({
        workflow: 'cli',
        allowed: true,
        approvals: { required: 0 },
      });
    }
  });

  it('refuses a Slack user who is not a requester', async () => {
    const d = await decide('slack', 'token', slack('UOTHER'));
    expect(d.allowed).toBe(false);
    expect(d.reason).toBe('you may not request this: you are not a requester for workflow slack-token');
  });

  it('refuses what no workflow covers, saying so', async () => {
    const d = await decide('hr', 'application', { source: 'hr', id: 'gusto' });
    expect(d).toMatchObject({ allowed: false, workflow: '' });
    expect(d.reason).toBe('no workflow allows hr requests to revoke all tokens issued to an application');
  });

  it('names the empty variable when nobody may request', async () => {
    const empty = await createWorkflowEngine(shipped, {});
    const d = await empty.decide({ source: 'slack', scope: 'token', requestedBy: slack('UADMIN1') });
    expect(d.allowed).toBe(false);
    expect(d.reason).toBe('nobody may request this under workflow slack-token: SLACK_ADMIN_USERS is empty');
  });

  it('refuses a request nobody could approve', async () => {
    const noApprovers = await createWorkflowEngine(shipped, { SLACK_ADMIN_USERS: 'UADMIN1' });
    const d = await noApprovers.decide({ source: 'slack', scope: 'user', requestedBy: slack('UADMIN1') });
    expect(d.allowed).toBe(false);
    expect(d.reason).toMatch(/needs 1 approval\(s\) but nobody can approve: SLACK_APPROVER_USERS is empty/);
  });

  it('resolves user groups through the membership resolver only', async () => {
    expect((await decide('slack', 'token', slack('UMEMBER'))).allowed).toBe(false);
    const seen: string[][] = [];
    const withGroups = await createWorkflowEngine(shipped, env, {
      membership: async (userId, principals) => {
        seen.push([...principals]);
        return userId === 'UMEMBER' && principals.includes('SADMINS');
      },
    });
    const d = await withGroups.decide({ source: 'slack', scope: 'token', requestedBy: slack('UMEMBER') });
    expect(d.allowed).toBe(true);
    expect(seen).toEqual([['UADMIN1', 'UADMIN2', 'SADMINS']]);
  });

  describe('canApprove', () => {
    it('refuses self-approval when the workflow turns it off', async () => {
      const d = await decide('slack', 'user', slack('UADMIN1'));
      expect(await engine.canApprove(d, slack('UADMIN1'), slack('UADMIN1'))).toEqual({
        ok: false,
        reason: 'you requested this; someone else must approve it',
      });
    });

    it('refuses someone who is not an approver', async () => {
      const d = await decide('slack', 'application');
      expect(await engine.canApprove(d, slack('UADMIN1'), slack('UADMIN2'))).toEqual({
        ok: false,
        reason: 'you are not an approver for workflow slack-bulk',
      });
    });

    it('accepts a listed approver who is not the requester', async () => {
      const d = await decide('slack', 'application', slack('UADMIN2'));
      expect(await engine.canApprove(d, slack('UADMIN2'), slack('UADMIN1'))).toEqual({ ok: true });
      expect(await engine.canApprove(d, slack('UADMIN2'), slack('UAPPR1'))).toEqual({ ok: true });
    });
  });
});

describe('YamlWorkflowEngine matching', () => {
  let engine: YamlWorkflowEngine;
  beforeAll(async () => {
    engine = await createWorkflowEngine(`${fixtures}valid`, { ADMINS: 'U1', APPROVERS: 'U1,U2' });
  });

  it('lets the workflow naming one scope beat one naming all, regardless of file order', async () => {
    const d = await engine.decide({ source: 'slack', scope: 'token', requestedBy: slack('U1') });
    expect(d).toMatchObject({ workflow: 'narrow-token', allowed: true, graceMs: 90_000 });
  });

  it('does not fall through to a broader workflow when the governing one refuses', async () => {
    const d = await engine.decide({ source: 'slack', scope: 'token', requestedBy: slack('U2') });
    expect(d).toMatchObject({ workflow: 'narrow-token', allowed: false });
  });

  it('breaks ties by file order', async () => {
    const d = await engine.decide({ source: 'slack', scope: 'user', requestedBy: slack('U2') });
    expect(d).toMatchObject({ workflow: 'broad', allowed: true });
  });

  it('allows self-approval when the workflow says so', async () => {
    const d = await engine.decide({ source: 'slack', scope: 'token', requestedBy: slack('U1') });
    expect(await engine.canApprove(d, slack('U1'), slack('U1'))).toEqual({ ok: true });
  });
});
