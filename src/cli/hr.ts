import type { Command } from 'commander';
import { type Config, loadConfig } from '../config.ts';
import { clockFor, type HrClocks, zonedTime } from '../domain/dates.ts';
import { sanitizeOutsideText } from '../domain/outside-text.ts';
import { RedisHandshakeStore } from '../hr/handshake-store.ts';
import type { Intake, RequestRecord } from '../intake/types.ts';
import { connectRedis } from '../redis/connect.ts';
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

/** The zone a request's times are shown in: the one it was made in, else its source's today. */
export function zoneOf(r: RequestRecord, clocks?: HrClocks): string {
  return r.context?.timeZone ?? clockFor(r.context?.hrSource ?? r.requestedBy.id, clocks).timeZone;
}

/** A record with its effective time on the company's clock beside UTC (`--json`). */
export function withZonedTime(r: RequestRecord, clocks?: HrClocks) {
  const timeZone = zoneOf(r, clocks);
  const z = r.effectiveAt ? zonedTime(r.effectiveAt, timeZone) : undefined;
  return {
    ...r,
    timeZone,
    ...(z && r.effectiveAt
      ? { effectiveLocal: z.iso, effectiveUtc: new Date(r.effectiveAt).toISOString() }
      : {}),
  };
}

/**
 * One line per scheduled HR offboarding: employee, email, effective time in the company's zone, the
 * zone, the same instant in UTC, request id, state.
 */
export function formatPending(records: RequestRecord[], clocks?: HrClocks): string {
  const rows = records
    .slice()
    .sort((a, b) => (a.effectiveAt ?? '').localeCompare(b.effectiveAt ?? ''))
    .map((r) => {
      const timeZone = zoneOf(r, clocks);
      const z = r.effectiveAt ? zonedTime(r.effectiveAt, timeZone) : undefined;
      return [
        `${r.context?.hrSource ?? r.requestedBy.id}:${r.context?.employeeId ?? '-'}`,
        r.context?.email ?? '-',
        z?.local ?? 'now',
        timeZone,
        r.effectiveAt ? new Date(r.effectiveAt).toISOString() : 'now',
        r.id,
        r.state,
        // Every cell came from an HR payload or Redis: a newline or an ANSI escape must not forge a row.
      ].map(sanitizeOutsideText);
    });
  const header = ['EMPLOYEE', 'EMAIL', 'EFFECTIVE', 'ZONE', 'UTC', 'REQUEST', 'STATE'];
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

/**
 * `revoker hr verification-token <source>`: prints the verification token a vendor posted when its
 * subscription was created (Gusto), kept sealed in Redis; send it back with the vendor's verify call
 * (`PUT /v1/webhook_subscriptions/{uuid}/verify`) and set it as HR_GUSTO_SECRET. Printed, never logged.
 */
async function printVerificationToken(source: string): Promise<void> {
  const config = loadConfig();
  const redis = connectRedis(config);
  try {
    const token = await new RedisHandshakeStore(
      redis,
      config.REVOKER_PREFIX,
      config.hr.HR_CREDENTIALS_KEY,
    ).read(source);
    if (!token) {
      process.stderr.write(
        `no verification token from ${source} is kept (set HR_CREDENTIALS_KEY, then ask ${source} to resend it)\n`,
      );
      process.exitCode = 1;
      return;
    }
    process.stdout.write(`${token}\n`);
  } finally {
    redis.disconnect();
  }
}

/** `revoker hr pending`: scheduled offboardings from HR webhooks. */
export function register(program: Command, factory: HrCliIntakeFactory = defaultFactory): void {
  const hr = program.command('hr').description('HR offboarding webhooks');
  hr.command('verification-token <source>')
    .description('print the verification token a vendor posted when its subscription was created (gusto)')
    .action(async (source: string) => printVerificationToken(source));
  hr.command('pending')
    .description(
      'list scheduled HR offboardings (employee, email, effective time in the HR time zone and in UTC, request id, state)',
    )
    .option('--json', 'print JSON instead of a table')
    .action(async (options: { json?: boolean }) => {
      const config = loadConfig();
      const { intake, close } = await factory(config);
      try {
        const records = (await intake.list({ source: 'hr', states: ['scheduled'], limit: 1000 })).sort(
          (a, b) => (a.effectiveAt ?? '').localeCompare(b.effectiveAt ?? ''),
        );
        const clocks = config.hrClocks;
        process.stdout.write(
          options.json
            ? `${JSON.stringify(
                records.map((r) => withZonedTime(r, clocks)),
                null,
                2,
              )}\n`
            : `${formatPending(records, clocks)}\n`,
        );
      } finally {
        await close();
      }
    });
}
