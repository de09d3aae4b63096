import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { formatChecks } from '../doctor/check.ts';
import { runDoctor } from '../doctor/run-doctor.ts';

/** `revoker doctor [--json]`: check a deployment before the first real offboarding; exit 0 only if all pass. */
export function register(program: Command): void {
  program
    .command('doctor')
    .description('check Redis, the IdP, Slack, HR sources, workflows and SCIM; a fix for each failure')
    .option('--json', 'print the report as one JSON document')
    .action(async (opts: { json?: boolean }) => {
      const report = await runDoctor(loadConfig());
      if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else {
        const s = report.summary;
        process.stdout.write(
          `revoker: IdP ${s.idp}; Slack ${s.slack}; HR ${s.hrSources.join(', ') || 'none'}; SCIM ${s.scim ? 'on' : 'off'}; ` +
            `workflows ${s.workflows.join(', ') || 'none'}; Redis ${s.redis}, writes wait for ${s.replicasAck} replica(s)\n`,
        );
        process.stdout.write(`${formatChecks(report.checks)}\n`);
      }
      process.exitCode = report.ok ? 0 : 1;
    });
}
