import { afterEach, describe, expect, it } from 'vitest';
import { RedisRefusalLog } from '../../../src/audit/refusal-log.ts';
import { ForbiddenError } from '../../../src/domain/errors.ts';
import type { Actor } from '../../../src/domain/request.ts';
import type { WorkflowEngine } from '../../../src/workflows/types.ts';
import { MemoryIdp } from '../../helpers/memory-idp.ts';
import { createPipeline, type Pipeline } from '../../helpers/pipeline.ts';
import { testWorkflowEngine } from '../../helpers/test-workflows.ts';

/**
 * Issue 21 items 2, 3, 6 and 7 through the real intake on Redis: stopping an HR/SCIM revocation follows
 * one rule whatever the button; rights are today's; refusals are counted per minute; identity is the
 * IdP's, not an email the person can edit.
 */
let pipe: Pipeline | undefined;
afterEach(async () => {
  await pipe?.close();
  pipe = undefined;
});

const slack = (id: string, email?: string): Actor & { email?: string } => ({
  source: 'slack',
  id,
  ...(email ? { email } : {}),
});
const hr = { source: 'hr', id: 'standard' } as const;

/** A workflow engine whose files can be swapped, as a restart with new settings would. */
class SwitchableEngine implements WorkflowEngine {
  constructor(public current: WorkflowEngine) {}
  decide(...a: Parameters<WorkflowEngine['decide']>) {
    return this.current.decide(...a);
  }
  canApprove(...a: Parameters<WorkflowEngine['canApprove']>) {
    return this.current.canApprove(...a);
  }
}

function people(): MemoryIdp {
  const idp = new MemoryIdp();
  for (const id of ['heidi', 'bob', 'alice', 'carol', 'dave']) {
    idp.addUser(id);
    idp.addToken(id, 'team-wiki');
  }
  return idp;
}

async function forbidden(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ForbiddenError);
  return (err as Error).message;
}

describe('stopping an HR/SCIM revocation: one rule, whatever the button', () => {
  it('a protected approver cannot Deny her own offboarding; Deny from others is a vote of the two needed', async () => {
    const idp = people();
    const engine = await testWorkflowEngine([{ name: 'hr', sources: ['hr', 'scim'], required: 0 }]);
    pipe = await createPipeline({
      idp,
      workflows: engine,
      intakeOptions: {
        protectedUsers: {
          isProtected: async (userId) => userId === 'heidi',
          approvers: ['UHEIDI', 'UAPP1', 'UAPP2'],
        },
      },
    });
    const { request } = await pipe.intake.submit({
      target: { kind: 'user', userId: 'heidi' },
      reason: 'terminated',
      requestedBy: hr,
      source: 'hr',
      context: { email: 'heidi@example.com' },
    });
    expect(request.state).toBe('pending_approval');

    expect(
      await forbidden(pipe.intake.deny(request.id, slack('UHEIDI', 'heidi@example.com'), 'no')),
    ).toContain('your own access');
    // Her Slack profile changed to a plus-address: not an IdP user's address, so no vote at all.
    expect(
      await forbidden(pipe.intake.deny(request.id, slack('UHEIDI', 'heidi+slack@example.com'), 'no')),
    ).toContain('cannot tell who you are');
    // Without a confirmed Slack email nobody can be told apart from the person leaving.
    expect(await forbidden(pipe.intake.deny(request.id, slack('UAPP1'), 'no'))).toContain(
      'cannot tell who you are',
    );
    expect((await pipe.store.get(request.id))?.state).toBe('pending_approval');

    const first = await pipe.intake.deny(request.id, slack('UAPP1', 'alice@example.com'), 'mistake');
    expect(first.state).toBe('pending_approval');
    expect(first.cancelVotes).toHaveLength(1);
    // Cancel counts towards the same rule.
    const vote = await pipe.intake.requestCancel(request.id, slack('UAPP2', 'carol@example.com'));
    expect(vote).toMatchObject({ cancelled: true, votes: 2, required: 2 });
    expect((await pipe.store.get(request.id))?.state).toBe('denied');
    expect(idp.tokens.size).toBe(5);
  });

  it('a person leaving cannot vote to cancel by setting a plus-address as their Slack email', async () => {
    const idp = people();
    pipe = await createPipeline({
      idp,
      workflows: await testWorkflowEngine([{ name: 'hr', sources: ['hr'], required: 0 }]),
    });
    const { request } = await pipe.intake.submit({
      target: { kind: 'user', userId: 'bob' },
      reason: 'terminated',
      requestedBy: hr,
      source: 'hr',
      effectiveAt: new Date(Date.now() + 86_400_000).toISOString(),
    });
    expect(request.state).toBe('scheduled');
    expect(
      await forbidden(pipe.intake.requestCancel(request.id, slack('UBOB', 'bob+slack@example.com'))),
    ).toContain('cannot tell who you are');
    expect(
      await forbidden(pipe.intake.requestCancel(request.id, slack('UBOB', 'BOB@example.com'))),
    ).toContain('your own access');
    // Nor may anyone end it through the plain cancel (that is the HR source's own withdrawal).
    expect(await forbidden(pipe.intake.cancel(request.id, slack('UAPP1'), 'mine'))).toContain(
      'admins or approvers',
    );
    const rec = await pipe.store.get(request.id);
    expect(rec?.state).toBe('scheduled');
    expect(rec?.cancelVotes ?? []).toHaveLength(0);
  });
});

describe("rights are today's configuration, narrowed by the request's snapshot", () => {
  it('an approver removed from the workflow can no longer approve or deny a request made before', async () => {
    const before = await testWorkflowEngine([
      { name: 'apps', scopes: ['application'], required: 1, approvers: ['UOLD', 'UAPP1'] },
    ]);
    const after = await testWorkflowEngine([
      { name: 'apps', scopes: ['application'], required: 1, approvers: ['UAPP1', 'UNEW'] },
    ]);
    const engine = new SwitchableEngine(before);
    pipe = await createPipeline({ idp: people(), workflows: engine });
    const { request } = await pipe.intake.submit({
      target: { kind: 'application', applicationId: 'team-wiki' },
      reason: 'breach',
      requestedBy: slack('UREQ'),
      source: 'slack',
    });
    engine.current = after;
    expect(await forbidden(pipe.intake.approve(request.id, slack('UOLD')))).toContain('not an approver');
    expect(await forbidden(pipe.intake.deny(request.id, slack('UOLD'), 'no'))).toContain('not an approver');
    // Someone added since cannot decide a request whose snapshot did not name them.
    expect(await forbidden(pipe.intake.approve(request.id, slack('UNEW')))).toContain('not an approver');
    expect((await pipe.store.get(request.id))?.state).toBe('pending_approval');
    expect((await pipe.intake.approve(request.id, slack('UAPP1'))).approvals).toHaveLength(1);
  });
});

describe('refused clicks are aggregated', () => {
  it('20 outsider and 5 requester Approve clicks make one audit entry each per minute, with counts', async () => {
    const workflows = await testWorkflowEngine([
      { name: 'apps', scopes: ['application'], required: 1, approvers: ['UAPP1'] },
    ]);
    let log: RedisRefusalLog | undefined;
    pipe = await createPipeline({
      idp: people(),
      workflows,
      intakeOptions: { refusals: { record: (r) => log?.record(r) } },
    });
    log = new RedisRefusalLog({ redis: pipe.redis, prefix: pipe.prefix, audit: pipe.audit });
    const { request } = await pipe.intake.submit({
      target: { kind: 'application', applicationId: 'team-wiki' },
      reason: 'breach',
      requestedBy: slack('UREQ'),
      source: 'slack',
    });
    for (let i = 0; i < 20; i++) await forbidden(pipe.intake.approve(request.id, slack('UOUTSIDER')));
    for (let i = 0; i < 5; i++) await forbidden(pipe.intake.approve(request.id, slack('UREQ')));
    await log.flush({ all: true });
    const rejected = (await pipe.auditEntries()).filter((e) => e.action === 'request.rejected');
    expect(rejected.length).toBeLessThanOrEqual(2);
    expect(rejected.map((e) => Number(e.detail?.count)).sort((a, b) => a - b)).toEqual([5, 20]);
  });
});
