import type { Command } from 'commander';

/** `revoker workflows`: not built yet. */
export function register(program: Command): void {
  program
    .command('workflows')
    .description('(not built yet)')
    .action(() => {
      process.stderr.write('revoker workflows: not built yet\n');
      process.exitCode = 1;
    });
}
