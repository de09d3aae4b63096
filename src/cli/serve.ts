import type { Command } from 'commander';
import { z } from 'zod';
import { loadConfig } from '../config.ts';
import { ValidationError } from '../domain/errors.ts';
import { createRuntime } from '../runtime.ts';
import { startService } from '../service.ts';

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
      const rt = await createRuntime(config);
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
