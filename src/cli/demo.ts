import type { Command } from 'commander';
import { runDemo } from '../demo/run-demo.ts';

/** `revoker demo` (`npm run demo`): the whole story on a fresh machine; exit 0 only if it ends as it should. */
export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'play the four revocations and an HR offboarding against the embedded IDaaS, with real tokens',
    )
    .action(async () => {
      process.exitCode = await runDemo();
      // Libraries may keep sockets open a moment; the story is over.
      process.exit(process.exitCode);
    });
}
