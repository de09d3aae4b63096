import { Command } from 'commander';

/** Exit code of a refused command line (as for other bad input: 0 verified, 1 failed, 2 bad input). */
export const USAGE_EXIT_CODE = 2;

/**
 * Messages for commander's errors that would quote what was typed. A command line can carry a secret by
 * mistake (a token pasted as an argument; an opaque token begins with `-` once in 64 and is then read
 * as an option), and terminals, CI logs and shell history keep what is printed: so these errors name
 * the rule, never the argument.
 */
const SAFE_MESSAGES: Record<string, (cmd: Command) => string> = {
  'commander.unknownOption': (cmd) => `unknown option for "${path(cmd)}" (not shown: it may be a secret)`,
  'commander.unknownCommand': (cmd) => `unknown command for "${path(cmd)}" (not shown: it may be a secret)`,
  'commander.excessArguments': (cmd) =>
    `too many arguments for "${path(cmd)}" (not shown: they may be secrets)`,
  'commander.invalidArgument': (cmd) =>
    `an option or argument of "${path(cmd)}" has an invalid value (not shown: it may be a secret)`,
};

/** Codes whose messages name only what the program declares (flags, argument names): kept as they are. */
const DECLARED_ONLY = new Set([
  'commander.missingArgument',
  'commander.optionMissingArgument',
  'commander.missingMandatoryOptionValue',
  'commander.conflictingOption',
]);

function path(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * commander's Command whose parse errors never print an argument, on every sub-command (`createCommand`
 * makes each `.command()` one of these), and exit 2 like every other refused input.
 */
export class SafeCommand extends Command {
  override createCommand(name?: string): SafeCommand {
    return new SafeCommand(name);
  }

  override error(message: string, errorOptions?: { code?: string; exitCode?: number }): never {
    const code = errorOptions?.code ?? 'commander.error';
    const known = SAFE_MESSAGES[code];
    const safe = known
      ? `error: ${known(this)}; see ${path(this)} --help${this.name() === 'revoke' ? ' (revoke leaked reads the token from stdin, never from the command line)' : ''}`
      : DECLARED_ONLY.has(code)
        ? message
        : `error: invalid command line for "${path(this)}" (not shown); see ${path(this)} --help`;
    return super.error(safe, { code, exitCode: errorOptions?.exitCode ?? USAGE_EXIT_CODE });
  }
}
