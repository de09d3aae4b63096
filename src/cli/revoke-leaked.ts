import { userInfo } from 'node:os';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { type Config, loadConfig } from '../config.ts';
import { ConfigError, ValidationError } from '../domain/errors.ts';
import { sanitizeOutsideText } from '../domain/outside-text.ts';
import type { LeakedTokenReport } from '../intake/leaked-token-service.ts';
import { createRuntime } from '../runtime.ts';

export interface RevokeLeakedOptions {
  reason?: string;
  yes?: boolean;
  dryRun?: boolean;
}

/** What introspection told, line by line: never the value. */
export function describeReport(r: LeakedTokenReport): string {
  if (!r.active)
    return sanitizeOutsideText(
      `${r.tokenId}: not active (unknown, expired or already revoked); nothing to revoke`,
    );
  const lines = [
    `${r.tokenId}: active ${r.type === 'refresh_token' ? 'refresh token' : r.type === 'access_token' ? 'access token' : 'token'}`,
    `  owner:    ${r.subject ?? 'unknown'}${r.ownerName ? ` (${r.ownerName})` : ''}`,
    `  client:   ${r.clientId ?? 'unknown'}`,
    ...(r.audience ? [`  resource: ${r.audience.join(', ')}`] : []),
    ...(r.scopes ? [`  scopes:   ${r.scopes.join(' ')}`] : []),
    `  expires:  ${r.expiresAt ?? 'unknown'}`,
  ];
  // Subject, client, audience and scopes are what introspection answered: escaped line by line.
  return lines.map(sanitizeOutsideText).join('\n');
}

/**
 * `revoker revoke leaked`: the token value comes from stdin (never argv: shell history and `ps` would
 * keep it). Introspects, shows what it found, and revokes with the owning client's credentials once
 * confirmed: `--yes`, or typing `yes` at a terminal.
 */
export async function revokeLeaked(opts: RevokeLeakedOptions): Promise<void> {
  const config: Config = loadConfig();
  if (config.IDP === 'idaas' && !config.IDAAS_URL) {
    throw new ConfigError(
      'IDAAS_URL',
      'is required for the CLI (point it at the IDaaS `revoker serve` runs)',
    );
  }
  const interactive = process.stdin.isTTY === true;
  const value = await readTokenValue(interactive);
  if (value === '')
    throw new ValidationError('no token on stdin: pipe it in, e.g. `revoker revoke leaked < token.txt`');
  const rt = await createRuntime(config, { embedIdaas: false });
  try {
    if (!rt.leaked.available) {
      throw new ConfigError(
        'OAUTH_CLIENTS',
        `is required to revoke a token by its value with IDP=${config.IDP}`,
      );
    }
    const requestedBy = { source: 'cli' as const, id: userInfo().username || 'cli' };
    const report = await rt.leaked.inspect(value, requestedBy);
    process.stdout.write(`${describeReport(report)}\n`);
    if (opts.dryRun || !report.active) return;
    if (!opts.yes) {
      if (!interactive || !(await confirm())) {
        process.stdout.write(
          `not revoked${interactive ? '' : ': confirm with --yes (stdin carried the token)'}\n`,
        );
        process.exitCode = 1;
        return;
      }
    }
    const done = await rt.leaked.revoke(value, {
      requestedBy,
      reason: opts.reason ?? 'leaked token, revoked from the CLI',
    });
    process.stdout.write(
      done.verified
        ? `revoked ${report.tokenId}; introspection now says inactive\n`
        : `revoked ${report.tokenId}, but introspection still says active\n`,
    );
    if (!done.verified) process.exitCode = 1;
  } finally {
    await rt.close();
  }
}

/** At a terminal: a prompt on stderr and no echo. Piped: all of stdin. Trimmed either way. */
async function readTokenValue(interactive: boolean): Promise<string> {
  if (!interactive) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8').trim();
  }
  process.stderr.write('Paste the leaked token (it is not shown), then Enter: ');
  const muted = new Writable({ write: (_c, _e, done) => done() });
  const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
  const line = await new Promise<string>((resolve) => rl.once('line', resolve));
  rl.close();
  process.stderr.write('\n');
  return line.trim();
}

async function confirm(): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await new Promise<string>((resolve) => rl.question('Revoke it? Type yes: ', resolve));
  rl.close();
  return answer.trim().toLowerCase() === 'yes';
}
