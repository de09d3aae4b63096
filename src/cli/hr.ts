import type { Command } from 'commander';
import { type Config, loadConfig } from '../config.ts';
import { sanitizeOutsideText } from '../domain/outside-text.ts';
import type { Intake, RequestRecord } from '../intake/types.ts';
import { createRuntime } from '../runtime.ts';

/** What `revoker hr` needs from the intake; `close` releases its Redis connections so the process exits. */
export interface HrCliIntake {
  intake: Pick<Intake, 'list'>;
  close(): Promise<void>;
}
export type HrCliIntakeFactory = (config: Config) => Promise<HrCliIntake>;

/** Default factory: the runtime's intake (reads Redis; no IdP call is needed to list). */
const defaultFactory: HrCliIntakeFactory = async (config) => {
  const rt = await createRuntime(config, { embedIdaas: false });
  return { intake: rt.intake, close: () => rt.close() };
};

/** One line per scheduled HR offboarding: employee, email, effective time, request id, state. */
export function formatPending(records: RequestRecord[]): string {
  const rows = records
    .slice()
    .sort((a, b) => (a.effectiveAt ?? '').localeCompare(b.effectiveAt ?? ''))
    // Every cell came from an HR payload or Redis: a newline or an ANSI escape must not forge a row.
    .map((r) =>
      [
        `${r.context?.hrSource ?? r.requestedBy.id}:${r.context?.employeeId ?? '-'}`,
        r.context?.email ?? '-',
        r.effectiveAt ?? 'now',
        r.id,
        r.state,
      ].map(sanitizeOutsideText),
    );
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
