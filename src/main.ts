import { readFileSync } from 'node:fs';
import { CommanderError } from 'commander';
import { register as registerAudit } from './cli/audit.ts';
import { register as registerDemo } from './cli/demo.ts';
import { register as registerDoctor } from './cli/doctor.ts';
import { register as registerHr } from './cli/hr.ts';
import { register as registerIdaas } from './cli/idaas.ts';
import { register as registerReport } from './cli/report.ts';
import { register as registerRevoke } from './cli/revoke.ts';
import { SafeCommand } from './cli/safe-command.ts';
import { register as registerServe } from './cli/serve.ts';
import { register as registerWorkflows } from './cli/workflows.ts';
import { isCodedError } from './domain/errors.ts';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/**
 * `revoker` CLI. Each sub-command lives in src/cli/<name>.ts and registers itself. A parse error never
 * prints the argument it is about (SafeCommand): it may be a pasted secret.
 */
const program = new SafeCommand('revoker')
  .version(pkg.version, '-V, --version', 'print the version')
  .description('Revoke OAuth/OIDC tokens from Slack, HR webhooks, SCIM and the shell')
  .showHelpAfterError()
  .exitOverride();

for (const register of [
  registerServe,
  registerIdaas,
  registerRevoke,
  registerAudit,
  registerWorkflows,
  registerHr,
  registerDemo,
  registerDoctor,
  registerReport,
]) {
  register(program);
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  // One clear line, no stack trace, for errors we raise on purpose (bad config, bad input).
  if (isCodedError(err)) {
    process.stderr.write(`revoker: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
