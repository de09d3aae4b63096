import type { Command } from 'commander';

/** `revoker demo`: not built yet. */
export function register(program: Command): void {
  program
    .command('demo')
    .description('(not built yet)')
    .action(() => {
      process.stderr.write('revoker demo: not built yet\n');
      process.exitCode = 1;
    });
}
