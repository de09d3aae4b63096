import { afterEach, describe, expect, it } from 'vitest';
import type { Actor } from '../../../src/domain/request.ts';
import { silentLogger } from '../../../src/log.ts';
import { createMetrics } from '../../../src/metrics.ts';
import { StartRights } from '../../../src/queue/start-rights.ts';
import type { DecideInput, WorkflowDecision, WorkflowEngine } from '../../../src/workflows/types.ts';
import { MemoryIdp } from '../../helpers/memory-idp.ts';
import { createPipeline, type Pipeline } from '../../helpers/pipeline.ts';
import { type TestWorkflow, testWorkflowEngine } from '../../helpers/test-workflows.ts';

/** The operator's workflows, edited (and the service restarted) between approval and start. */
class EditedWorkflows implements WorkflowEngine {
  constructor(public current: WorkflowEngine) {}
  decide(input: DecideInput): Promise<WorkflowDecision> {
    return this.current.decide(input);
  }
  canApprove(decision: WorkflowDecision, requestedBy: Actor, approver: Actor) {
    return this.current.canApprove(decision, requestedBy, approver);
  }
}

const ALICE: Actor = { source: 'slack', id: 'UALICE' };
const base: TestWorkflow = {
  name: 'offboard',
  sources: ['slack'],
  scopes: ['user'],
  requesters: ['UALICE'],
  required: 1,
  approvers: ['UAPPROVER1', 'UAPPROVER2'],
};

let pipe: Pipeline | undefined;
afterEach(async () => {
  await pipe?.close();
  pipe = undefined;
});

/**
 * A request approved under `before`, the workflows then edited to `after`, then the workers start (its
 * start job runs only now): its outcome, the IdP's own state of the target's tokens, and the audit.
 */
async function approvedThenEdited(after: TestWorkflow, opts: { effectiveInMs?: number } = {}) {
  const idp = new MemoryIdp();
  idp.addUser('dave');
  idp.addToken('dave', 'team-wiki');
  idp.addToken('dave', 'expense-portal');
  const workflows = new EditedWorkflows(await testWorkflowEngine([base]));
  pipe = await createPipeline({ idp, workflows });
  const { request } = await pipe.intake.submit({
    target: { kind: 'user', userId: 'dave' },
    reason: 'leaver',
    requestedBy: ALICE,
    source: 'slack',
    ...(opts.effectiveInMs ? { effectiveAt: new Date(Date.now() + opts.effectiveInMs).toISOString() } : {}),
  });
  // Scheduled 1.5 s ahead: far enough that a loaded machine still approves it before its start is due.
  const approved = await pipe.intake.approve(request.id, { source: 'slack', id: 'UAPPROVER1' });
  expect(approved.state).toBe(opts.effectiveInMs ? 'scheduled' : 'queued');
  workflows.current = await testWorkflowEngine([after]);
  const p = pipe;
  await p.startWorkers({
    rights: new StartRights({
      workflows,
      store: p.store,
      audit: p.audit,
      notifier: p.notifier,
      metrics: createMetrics(),
      logger: silentLogger,
    }),
  });
  const outcome = await p.intake.waitForOutcome(request.id, 15_000);
  const alive = await idp.listUserTokens('dave');
  const failedEntries = (await p.auditEntries()).filter(
    (e) => e.requestId === request.id && e.action === 'request.failed',
  );
  return { outcome, alive, failedEntries, events: p.notifier.events };
}

describe('rights checked against today’s configuration when a request starts (issue 21 item 3)', () => {
  it('an approver removed from the workflow before the start: the approved request does not run, failing visibly', async () => {
    const r = await approvedThenEdited({ ...base, approvers: ['UAPPROVER2'] });
    expect(r.outcome.state).toBe('failed');
    expect(r.outcome.result?.error).toMatch(/needs 1 approval\(s\) from today's approvers; it has 0/);
    // The IdP's own state: nothing was revoked.
    expect(r.alive).toHaveLength(2);
    expect(r.failedEntries).toHaveLength(1);
    expect(r.failedEntries[0]?.detail).toMatchObject({ error: 'approvals_short' });
    // The requester is told (the notifier carries request.failed with the reason in the result).
    expect(
      r.events.some((e) => e.type === 'request.failed' && 'request' in e && e.request.state === 'failed'),
    ).toBe(true);
  });

  it('the workflow now needs two approvals: a scheduled request with one does not start', async () => {
    const r = await approvedThenEdited({ ...base, required: 2 }, { effectiveInMs: 1500 });
    expect(r.outcome.state).toBe('failed');
    expect(r.outcome.result?.error).toMatch(/needs 2 approval/);
    expect(r.alive).toHaveLength(2);
  });

  it('the requester lost the right to request: refused at start', async () => {
    const r = await approvedThenEdited({ ...base, requesters: ['UBOB'] });
    expect(r.outcome.state).toBe('failed');
    expect(r.outcome.result?.error).toMatch(/today's workflows no longer allow this request/);
    expect(r.failedEntries[0]?.detail).toMatchObject({ error: 'not_allowed_today' });
    expect(r.alive).toHaveLength(2);
  });

  it('a change that still allows it (another approver added, the approval kept): the request runs', async () => {
    const r = await approvedThenEdited(
      { ...base, approvers: ['UAPPROVER1', 'UAPPROVER3'] },
      { effectiveInMs: 1500 },
    );
    expect(r.outcome.state).toBe('verified');
    expect(r.alive).toHaveLength(0);
    expect(r.failedEntries).toHaveLength(0);
  });
});

describe('a protected user’s HR offboarding at start: today’s SLACK_APPROVER_USERS (issue 21 item 3)', () => {
  async function protectedApproved(approversAtStart: string[]) {
    const idp = new MemoryIdp();
    idp.addUser('heidi');
    idp.addToken('heidi', 'team-wiki');
    const workflows = await testWorkflowEngine([{ name: 'hr', sources: ['hr'], required: 0 }]);
    // One object, as the service shares it: the restart with new settings is the list changing.
    const guarded = { isProtected: async (id: string) => id === 'heidi', approvers: ['UAPP1', 'UAPP2'] };
    pipe = await createPipeline({ idp, workflows, intakeOptions: { protectedUsers: guarded } });
    const { request } = await pipe.intake.submit({
      target: { kind: 'user', userId: 'heidi' },
      reason: 'terminated',
      requestedBy: { source: 'hr', id: 'standard' },
      source: 'hr',
    });
    expect(request.state).toBe('pending_approval');
    expect((await pipe.intake.approve(request.id, { source: 'slack', id: 'UAPP1' })).state).toBe('queued');
    guarded.approvers = approversAtStart;
    const p = pipe;
    await p.startWorkers({
      rights: new StartRights({
        workflows,
        protectedUsers: guarded,
        store: p.store,
        audit: p.audit,
        notifier: p.notifier,
        metrics: createMetrics(),
        logger: silentLogger,
      }),
    });
    return { outcome: await p.intake.waitForOutcome(request.id, 15_000), idp };
  }

  it('approved by someone removed from the protected approvers before it started: not run', async () => {
    const { outcome, idp } = await protectedApproved(['UAPP2']);
    expect(outcome.state).toBe('failed');
    expect(outcome.result?.error).toMatch(/it has 0/);
    expect(await idp.listUserTokens('heidi')).toHaveLength(1);
  });

  it('approved by someone still a protected approver: runs', async () => {
    const { outcome, idp } = await protectedApproved(['UAPP1', 'UAPP2']);
    expect(outcome.state).toBe('verified');
    expect(await idp.listUserTokens('heidi')).toHaveLength(0);
  });
});
