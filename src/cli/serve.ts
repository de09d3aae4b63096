import type { Command } from 'commander';
import { z } from 'zod';
import { loadConfig } from '../config.ts';
import { findContradiction, summarize } from '../doctor/config-checks.ts';
import { ConfigError, ValidationError } from '../domain/errors.ts';
import { createRuntime } from '../runtime.ts';
import { startService } from '../service.ts';
import { loadWorkflows } from '../workflows/loader.ts';

const RoleSchema = z.enum(['all', 'web', 'worker']);

/** `revoker serve [--role all|web|worker]`: the service. SIGTERM/SIGINT stop it gracefully, exit 0. */
export function register(program: Command): void {
  program
    .command('serve')
    .description('run the service: HTTP (Slack, webhooks, SCIM, health, metrics, dashboard) and/or workers')
    .option('--role <role>', 'all | web | worker', 'all')
    .action(async (opts: { role: string }) => {
      const role = RoleSchema.safeParse(opts.role);
      if (!role.success) throw new ValidationError(`--role must be all, web or worker (got "${opts.role}")`);
      const config = loadConfig();
      // Settings that contradict each other stop start-up with one line (`revoker doctor` explains more).
      const contradiction = findContradiction(config);
      if (contradiction) throw new ConfigError(contradiction.variable, contradiction.message);
      const rt = await createRuntime(config);
      // The same summary `revoker doctor` prints: which IdP, Slack mode, HR sources, workflows, Redis.
      rt.logger.info(
        { role: role.data, ...summarize(config, await loadWorkflows(config.WORKFLOWS_DIR, process.env)) },
        'revoker configuration',
      );
      const service = await startService(rt, { role: role.data });
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        rt.logger.info({ signal }, 'stopping: no new work; finishing or releasing active jobs');
        await service.close();
        await rt.close();
        process.exit(0);
      };
      process.once('SIGTERM', () => void stop('SIGTERM'));
      process.once('SIGINT', () => void stop('SIGINT'));
    });
}
