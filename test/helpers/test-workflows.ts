import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { SOURCES } from '../../src/domain/request.ts';
import { SCOPES, type Scope } from '../../src/domain/target.ts';
import { createWorkflowEngine, type YamlWorkflowEngine } from '../../src/workflows/index.ts';

/**
 * The real workflow engine over workflow files written for a test: tests get the engine's own rules and
 * wording (who may request, who may approve, self-approval, expiry) instead of a re-implementation.
 */
export interface TestWorkflow {
  name: string;
  sources?: string[];
  scopes?: Scope[];
  requesters?: 'any' | string[];
  required?: number;
  approvers?: string[];
  selfApproval?: boolean;
  /** A duration as the files write it (`24h`, `90s`). */
  expiresAfter?: string;
}

/** Writes `workflows` as YAML files (one per workflow, in order), loads them with the real loader. */
export async function testWorkflowEngine(workflows: TestWorkflow[]): Promise<YamlWorkflowEngine> {
  const dir = await mkdtemp(join(tmpdir(), 'revoker-test-workflows-'));
  try {
    await Promise.all(
      workflows.map((w, i) =>
        writeFile(
          join(dir, `${String(i).padStart(2, '0')}-${w.name}.yaml`),
          stringify({
            name: w.name,
            match: { sources: w.sources ?? [...SOURCES], ...(w.scopes ? { scopes: w.scopes } : {}) },
            requesters: w.requesters ?? 'any',
            approvals: {
              required: w.required ?? 0,
              ...(w.approvers ? { approvers: w.approvers } : {}),
              selfApproval: w.selfApproval ?? false,
              expiresAfter: w.expiresAfter ?? '24h',
            },
          }),
        ),
      ),
    );
    return await createWorkflowEngine(dir, {});
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const TEST_APPROVERS = ['UAPPROVER1', 'UAPPROVER2', 'UAPPROVER3'];

/**
 * One workflow per scope, for every source: `approvals[scope]` approvals (default none) from
 * `approvers`; for tests about the pipeline rather than about the workflow files.
 */
export function approvalsPerScope(
  approvals: Partial<Record<Scope, number>> = {},
  approvers: string[] = TEST_APPROVERS,
  expiresAfter = '60s',
): Promise<YamlWorkflowEngine> {
  return testWorkflowEngine(
    SCOPES.map((scope) => ({
      name: `test-${scope.toLowerCase()}`,
      scopes: [scope],
      required: approvals[scope] ?? 0,
      approvers,
      expiresAfter,
    })),
  );
}
