import { spawn } from 'node:child_process';

/**
 * A `revoker` process starts Node and loads the sources: seconds on an idle machine, tens of seconds on a
 * loaded 2-core one. Tests that run the CLI use this as their timeout; it bounds a hang, it measures
 * nothing.
 */
export const CLI_TIMEOUT_MS = 120_000;

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Piped to the child's stdin (closed empty otherwise, so a command reading stdin never waits). */
  stdin?: string;
  /** Kills the child after this long: bounds a hang, measures nothing. */
  timeoutMs?: number;
}

/**
 * `revoker <args>` in a child process on this Node (`bin/revoker.js`), the way a shell runs it: `env`
 * is added to the test's environment (a key set to undefined is left out: Node skips undefined env
 * values). Resolves with the exit code and both outputs; never throws on a non-zero exit (tests assert
 * the code).
 */
export function runRevoker(
  args: string[],
  env: Record<string, string | undefined> = {},
  { stdin, timeoutMs = CLI_TIMEOUT_MS }: CliOptions = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/revoker.js', ...args], {
      env: { ...process.env, ...env },
      timeout: timeoutMs,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}
