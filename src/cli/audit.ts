import type { Command } from 'commander';

/** `revoker audit`: not built yet. */
export function register(program: Command): void {
  program
    .command('audit')
    .description('(not built yet)')
    .action(() => {
      process.stderr.write('revoker audit: not built yet\n');
      process.exitCode = 1;
    });
}
