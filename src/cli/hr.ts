import type { Command } from 'commander';
import { type Config, loadConfig } from '../config.ts';
import { ConfigError } from '../domain/errors.ts';
import type { Intake, RequestRecord } from '../intake/types.ts';

/** What `revoker hr` needs from the intake; `close` releases its Redis connections so the process exits. */
export interface HrCliIntake {
  intake: Pick<Intake, 'list'>;
  close(): Promise<void>;
}
export type HrCliIntakeFactory = (config: Config) => Promise<HrCliIntake>;

/**
 * Default factory: the lead's `createIntakeFromConfig(config)` from src/intake/index.ts, loaded lazily
 * (TODO: import it statically once src/intake/index.ts exports it).
 */
const defaultFactory: HrCliIntakeFactory = async (config) => {
  const specifier = '../intake/index.ts';
  // Variable specifier: the module is another engineer's and may not exist yet.
  const mod = (await import(specifier).catch(() => ({}))) as {
    createIntakeFromConfig?: (
      c: Config,
    ) => Promise<Intake & { close?: () => Promise<void> }> | (Intake & { close?: () => Promise<void> });
  };
  if (!mod.createIntakeFromConfig)
    throw new ConfigError('intake', 'createIntakeFromConfig is not available in this build');
  const intake = await mod.createIntakeFromConfig(config);
  return { intake, close: async () => intake.close?.() };
};

/** One line per scheduled HR offboarding: employee, email, effective time, request id, state. */
export function formatPending(records: RequestRecord[]): string {
  const rows = records
    .slice()
    .sort((a, b) => (a.effectiveAt ?? '').localeCompare(b.effectiveAt ?? ''))
    .map((r) => [
      `${r.context?.hrSource ?? r.requestedBy.id}:${r.context?.employeeId ?? '-'}`,
      r.context?.email ?? '-',
      r.effectiveAt ?? 'now',
      r.id,
      r.state,
    ]);
  const header = ['EMPLOYEE', 'EMAIL', 'EFFECTIVE', 'REQUEST', 'STATE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  return [header, ...rows]
    .map((row) =>
      row
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `revoker hr pending`: scheduled offboardings from HR webhooks. */
export function register(program: Command, factory: HrCliIntakeFactory = defaultFactory): void {
  const hr = program.command('hr').description('HR offboarding webhooks');
  hr.command('pending')
    .description('list scheduled HR offboardings (employee, email, effective time, request id, state)')
    .option('--json', 'print JSON instead of a table')
    .action(async (options: { json?: boolean }) => {
      const { intake, close } = await factory(loadConfig());
      try {
        const records = await intake.list({ source: 'hr', states: ['scheduled'], limit: 1000 });
        process.stdout.write(
          options.json ? `${JSON.stringify(records, null, 2)}\n` : `${formatPending(records)}\n`,
        );
      } finally {
        await close();
      }
    });
}
