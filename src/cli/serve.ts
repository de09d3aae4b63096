import type { Command } from 'commander';

/** `revoker serve`: not built yet. */
export function register(program: Command): void {
  program
    .command('serve')
    .description('(not built yet)')
    .action(() => {
      process.stderr.write('revoker serve: not built yet\n');
      process.exitCode = 1;
    });
}
