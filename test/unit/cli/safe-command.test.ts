import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { register as registerAudit } from '../../../src/cli/audit.ts';
import { register as registerDemo } from '../../../src/cli/demo.ts';
import { register as registerDoctor } from '../../../src/cli/doctor.ts';
import { register as registerHr } from '../../../src/cli/hr.ts';
import { register as registerIdaas } from '../../../src/cli/idaas.ts';
import { register as registerRevoke } from '../../../src/cli/revoke.ts';
import { SafeCommand } from '../../../src/cli/safe-command.ts';
import { register as registerServe } from '../../../src/cli/serve.ts';
import { register as registerWorkflows } from '../../../src/cli/workflows.ts';

/**
 * No option parser ever prints an argument (issue 19 item 12): an opaque token begins with `-` one time in
 * 64, and pasted on a command line it is read as an option. Every command of the real program, as
 * src/main.ts builds it, refuses unknown options, surplus arguments and unknown commands without echoing
 * them, exit 2.
 */
const SECRET = '-AbCdEf0123456789_SECRET-token-value';

function program() {
  const output: string[] = [];
  const p = new SafeCommand('revoker')
    .exitOverride()
    .showHelpAfterError()
    .configureOutput({ writeErr: (s) => output.push(s), writeOut: (s) => output.push(s) });
  for (const register of [
    registerServe,
    registerIdaas,
    registerRevoke,
    registerAudit,
    registerWorkflows,
    registerHr,
    registerDemo,
    registerDoctor,
  ]) {
    register(p);
  }
  return { p, output };
}

/** Every command path: `revoke`, `audit verify`, `hr …`, … */
function paths(cmd: SafeCommand | import('commander').Command, prefix: string[] = []): string[][] {
  return cmd.commands.flatMap((c) => {
    const here = [...prefix, c.name()];
    return c.commands.length > 0 ? [here, ...paths(c, here)] : [here];
  });
}

async function refusal(args: string[]): Promise<{ err: CommanderError; output: string }> {
  const { p, output } = program();
  const err = await p.parseAsync(['node', 'revoker', ...args]).catch((e: unknown) => e);
  expect(err, args.join(' ')).toBeInstanceOf(CommanderError);
  return { err: err as CommanderError, output: output.join('') };
}

describe('command line parse errors never print the argument', () => {
  const all = paths(program().p);

  it('covers every command', () => {
    expect(all.length).toBeGreaterThanOrEqual(8);
    expect(all.map((p) => p.join(' '))).toContain('revoke');
  });

  it.each(all.map((p) => [p.join(' '), p]))(
    '%s: an unknown option is refused, unechoed, exit 2',
    async (_n, path) => {
      const { err, output } = await refusal([...path, SECRET]);
      expect(err.exitCode).toBe(2);
      // (A command with a mandatory option may refuse its absence first: that names only the option.)
      if (err.code === 'commander.unknownOption') expect(output).toContain('not shown');
      expect(output).not.toContain('SECRET');
      expect(err.message).not.toContain('SECRET');
    },
  );

  it('surplus arguments and unknown commands are refused unechoed too', async () => {
    const surplus = await refusal(['revoke', 'token', 'tok_1', SECRET.slice(1)]);
    expect(surplus.err.code).toBe('commander.excessArguments');
    expect(surplus.output).not.toContain('SECRET');
    const unknown = await refusal([SECRET.slice(1)]);
    expect(unknown.err.code).toBe('commander.unknownCommand');
    expect(unknown.err.exitCode).toBe(2);
    expect(unknown.output).not.toContain('SECRET');
  });
});
