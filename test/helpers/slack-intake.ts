import type { ConnectionRegistry } from '../../src/connections/connection-registry.ts';
import type { IdentityProvider } from '../../src/identity/port.ts';
import type { Notifier } from '../../src/intake/notifier.ts';
import { type SlackAccess, workflowAccess } from '../../src/slack/access.ts';
import type { YamlWorkflowEngine } from '../../src/workflows/index.ts';
import { createPipeline, type Pipeline } from './pipeline.ts';
import { testWorkflowEngine } from './test-workflows.ts';

/** Slack users of the Slack tests' workflow. */
export const SLACK_TEST_REQUESTERS = ['U0REQ', 'U0REQUESTER', 'U0ME'];
export const SLACK_TEST_APPROVERS = ['U0APPROVER1', 'U0APPROVER2'];

/** The pipeline behind the Slack tests, with the workflow engine it decides with and the Slack access from it. */
export type SlackTestPipeline = Pipeline & { workflows: YamlWorkflowEngine; access: SlackAccess };

/**
 * The real intake (store, queues, audit) behind the Slack tests, deciding with the real workflow engine
 * over a test workflow: Slack requests from SLACK_TEST_REQUESTERS need `requiredApprovals` (default 1)
 * of SLACK_TEST_APPROVERS, never the requester's own; HR, SCIM and CLI requests need none. Workers are
 * not started: call `startWorkers()` where requests should run. `workflows` is the engine it decides
 * with, and `access` the Slack access derived from it as the service derives it (deny by default:
 * only SLACK_TEST_REQUESTERS may request; SLACK_TEST_APPROVERS are the staff).
 */
export async function slackTestPipeline(options: {
  idp: IdentityProvider;
  requiredApprovals?: number;
  alsoNotify?: Notifier;
  /** Several connections (issue 22): the intake and workers use them; `idp` is the primary's. */
  connections?: ConnectionRegistry;
}): Promise<SlackTestPipeline> {
  const workflows = await testWorkflowEngine([
    {
      name: 'slack-test',
      sources: ['slack'],
      requesters: SLACK_TEST_REQUESTERS,
      required: options.requiredApprovals ?? 1,
      approvers: SLACK_TEST_APPROVERS,
    },
    { name: 'others-test', sources: ['hr', 'scim', 'cli'], requesters: 'any' },
  ]);
  const pipe = await createPipeline({
    idp: options.idp,
    ...(options.alsoNotify ? { alsoNotify: options.alsoNotify } : {}),
    ...(options.connections ? { connections: options.connections } : {}),
    workflows,
  });
  const access = workflowAccess({ workflows, staff: SLACK_TEST_APPROVERS });
  return Object.assign(pipe, { workflows, access });
}
