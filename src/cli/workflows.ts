import type { Command } from 'commander';
import { sanitizeOutsideText } from '../domain/outside-text.ts';
import { formatDuration } from '../workflows/duration.ts';
import { loadWorkflows } from '../workflows/loader.ts';
import type { Principals, Workflow } from '../workflows/workflow.ts';
import { WorkflowFileError } from '../workflows/workflow-file-error.ts';

function who(p: Principals): string {
  if (p.any) return 'any';
  const refs = p.refs.length > 0 ? ` via ${p.refs.map((r) => `\${${r}}`).join(', ')}` : '';
  return `${p.ids.length} id(s)${refs}`;
}

function row(w: Workflow): string[] {
  const approvals =
    w.approvals.required === 0
      ? 'none'
      : `${w.approvals.required} of ${who(w.approvals.approvers)}` +
        `${w.approvals.selfApproval ? ', self ok' : ''}, expire ${formatDuration(w.approvals.expiresAfterMs)}`;
  const steps = w.steps.map((s) => ('notify' in s ? `notify ${s.notify.channel}` : Object.keys(s)[0]!));
  return [
    w.name,
    w.match.sources.join(','),
    w.match.scopes.length === 4 ? 'all' : w.match.scopes.join(','),
    who(w.requesters),
    approvals,
    formatDuration(w.graceMs),
    steps.join(', '),
  ];
}

export function table(raw: string[][]): string {
  // Workflow files are outside text too: no control character reaches the terminal.
  const rows = raw.map((r) => r.map(sanitizeOutsideText));
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `revoker workflows validate [DIR]`: check workflow files, with file:line:col errors. */
export function register(program: Command): void {
  const workflows = program.command('workflows').description('Inspect the workflow files');
  workflows
    .command('validate')
    .description('Validate workflow files; exit 1 listing file:line:col problems')
    .argument('[dir]', 'directory of *.yaml workflow files (default: $WORKFLOWS_DIR or ./workflows)')
    .action(async (dir: string | undefined) => {
      // Read WORKFLOWS_DIR directly rather than through loadConfig(), so that checking files in
      // CI does not require the rest of the service's configuration to be valid.
      const target = dir ?? process.env.WORKFLOWS_DIR ?? './workflows';
      let loaded: Workflow[];
      try {
        loaded = await loadWorkflows(target, process.env);
      } catch (err) {
        if (!(err instanceof WorkflowFileError)) throw err;
        process.stderr.write(`${err.issues.join('\n')}\n${err.issues.length} problem(s) in ${target}\n`);
        process.exitCode = 1;
        return;
      }
      const header = ['WORKFLOW', 'SOURCES', 'SCOPES', 'REQUESTERS', 'APPROVALS', 'GRACE', 'STEPS'];
      process.stdout.write(`${table([header, ...loaded.map(row)])}\n`);
      for (const w of loaded) {
        for (const warning of w.warnings) process.stdout.write(`warning: ${w.file}: ${w.name}: ${warning}\n`);
      }
      process.stdout.write(`ok: ${loaded.length} workflow(s) in ${target}\n`);
    });
}
