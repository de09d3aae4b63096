import { ValidationError } from '../domain/errors.ts';

/** One problem in a workflow file; `line`/`col` are 1-based, absent when the file as a whole is at fault. */
export interface WorkflowProblem {
  file: string;
  line?: number;
  col?: number;
  message: string;
}

export function formatProblem(p: WorkflowProblem): string {
  return p.line === undefined ? `${p.file}: ${p.message}` : `${p.file}:${p.line}:${p.col ?? 1} ${p.message}`;
}

/**
 * Workflow files that do not load. A ValidationError (code `revoker_validation_error`), so callers
 * that handle coded errors print it as one clear message; `problems` has every `file:line:col`.
 */
export class WorkflowFileError extends ValidationError {
  constructor(readonly problems: readonly WorkflowProblem[]) {
    const lines = problems.map(formatProblem);
    super(`invalid workflow files:\n  ${lines.join('\n  ')}`, lines);
  }
}
