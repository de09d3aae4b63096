import type { Command } from 'commander';

/** `revoker idaas`: not built yet. */
export function register(program: Command): void {
  program
    .command('idaas')
    .description('(not built yet)')
    .action(() => {
      process.stderr.write('revoker idaas: not built yet\n');
      process.exitCode = 1;
    });
}
