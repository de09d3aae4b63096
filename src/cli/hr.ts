import type { Command } from 'commander';

/** `revoker hr`: not built yet. */
export function register(program: Command): void {
  program
    .command('hr')
    .description('(not built yet)')
    .action(() => {
      process.stderr.write('revoker hr: not built yet\n');
      process.exitCode = 1;
    });
}
