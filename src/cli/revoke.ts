import type { Command } from 'commander';

/** `revoker revoke`: not built yet. */
export function register(program: Command): void {
  program
    .command('revoke')
    .description('(not built yet)')
    .action(() => {
      process.stderr.write('revoker revoke: not built yet\n');
      process.exitCode = 1;
    });
}
