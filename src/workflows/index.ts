import { YamlWorkflowEngine, type YamlWorkflowEngineOptions } from './engine.ts';
import type { EnvMap } from './env-refs.ts';
import { loadWorkflows } from './loader.ts';

export { formatDuration, parseDuration } from './duration.ts';
export { YamlWorkflowEngine, type YamlWorkflowEngineOptions } from './engine.ts';
export type { EnvMap } from './env-refs.ts';
export { loadWorkflows } from './loader.ts';
export type * from './types.ts';
export type { Principals, Workflow } from './workflow.ts';
export { formatProblem, WorkflowFileError, type WorkflowProblem } from './workflow-file-error.ts';

/** Loads `dir` (throwing WorkflowFileError on any problem) and builds the engine over it. */
export async function createWorkflowEngine(
  dir: string,
  env: EnvMap = process.env,
  options: YamlWorkflowEngineOptions = {},
): Promise<YamlWorkflowEngine> {
  return new YamlWorkflowEngine(await loadWorkflows(dir, env), options);
}
