import { userInfo } from 'node:os';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { type Config, loadConfig } from '../config.ts';
import { ConfigError, ValidationError } from '../domain/errors.ts';
import { sanitizeOutsideText } from '../domain/outside-text.ts';
import { type LeakedTokenReport, NOT_VISIBLE, tokenTypeWords } from '../intake/leaked-token-service.ts';
import { createLogger } from '../log.ts';
import { createRuntime } from '../runtime.ts';

export interface RevokeLeakedOptions {
  reason?: string;
  yes?: boolean;
  dryRun?: boolean;
}

/** What introspection told, line by line: never the value. */
export function describeReport(r: LeakedTokenReport): string {
  if (!r.active) {
    // RFC 7662 §2.2: `active: false` to a client may mean "not yours to know about", not "dead".
    return sanitizeOutsideText(
      `${r.tokenId}: no configured client sees it active (expired, revoked, unknown, or issued to a client not in OAUTH_CLIENTS)`,
    );
  }
  const lines = [
    `${r.tokenId}: active ${tokenTypeWords(r.type)}`,
    `  owner:    ${r.subject ?? 'unknown'}${r.ownerName ? ` (${r.ownerName})` : ''}`,
    ...(r.username ? [`  username: ${r.username}`] : []),
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
  // A person reads stdout: log records only when LOG_LEVEL asks for them, and then on stderr.
  const logger = createLogger({ level: process.env.LOG_LEVEL ? config.LOG_LEVEL : 'silent', stderr: true });
  const rt = await createRuntime(config, { embedIdaas: false, logger });
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
    if (opts.dryRun) return;
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
    // 0 revoked and seen so, 1 still active, 3 unverifiable (as `revoke --wait`).
    const line =
      done.outcome === 'revoked'
        ? `revoked ${report.tokenId}; introspection now says inactive`
        : done.outcome === 'still_active'
          ? `revoked ${report.tokenId}, but introspection still says active (only its own client${report.clientId ? `, ${report.clientId},` : ''} may revoke it, RFC 7009 §2.1: is it in OAUTH_CLIENTS?)`
          : `could not confirm: ${NOT_VISIBLE} (revoked with each configured client anyway)`;
    process.stdout.write(`${line}\n`);
    if (done.outcome !== 'revoked') process.exitCode = done.outcome === 'unverifiable' ? 3 : 1;
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
