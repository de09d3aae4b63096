import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { type Config, loadConfig } from '../config.ts';
import { connectionLine } from '../connections/connection-status.ts';
import { ConfigError, UnsupportedError, ValidationError } from '../domain/errors.ts';
import { sanitizeOutsideText } from '../domain/outside-text.ts';
import { TERMINAL_STATES } from '../domain/request.ts';
import { describeTarget, type Target } from '../domain/target.ts';
import { informativeParts } from '../identity/part-outcomes.ts';
import type { IdentityProvider } from '../identity/port.ts';
import type { Intake, RequestRecord } from '../intake/types.ts';
import { createLogger } from '../log.ts';
import { createRuntime, type Runtime } from '../runtime.ts';
import { revokeLeaked } from './revoke-leaked.ts';

const KINDS = { token: 'token', user: 'user', app: 'application', api: 'resourceServer' } as const;
type Kind = keyof typeof KINDS;

interface RevokeOptions {
  reason?: string;
  user?: string;
  wait?: boolean;
  timeout: string;
  key?: string;
  yes?: boolean;
  dryRun?: boolean;
  json?: boolean;
  /** `--idp`: the connection id. */
  idp?: string;
}

/**
 * Resolves what an operator typed (an email, a name, an audience) to the IdP's ids, so the request,
 * the audit log and the approval message all name the same thing.
 */
export async function resolveTarget(
  idp: IdentityProvider,
  kind: Kind,
  ref: string,
  user?: string,
): Promise<Target> {
  switch (kind) {
    case 'token': {
      if (!user)
        throw new ValidationError('revoke token needs --user <user id or email> (whose token it is)');
      return { kind: 'token', userId: (await resolveUser(idp, user)).id, tokenId: ref };
    }
    case 'user':
      return { kind: 'user', userId: (await resolveUser(idp, ref)).id };
    case 'app': {
      const exact = await idp.getApplication(ref).catch(() => undefined);
      if (exact) return { kind: 'application', applicationId: exact.id };
      const found = await idp.searchApplications(ref, 5);
      const only = single(found, ref, 'application', (a) => `${a.name} (${a.id})`);
      return { kind: 'application', applicationId: only.id };
    }
    case 'api': {
      const exact = await idp.getResourceServer(ref).catch(() => undefined);
      if (exact) return { kind: 'resourceServer', resourceServerId: exact.id };
      const found = await idp.searchResourceServers(ref, 5);
      const byAudience = found.filter((r) => r.audience === ref);
      const only = single(
        byAudience.length === 1 ? byAudience : found,
        ref,
        'API',
        (r) => `${r.name} (${r.id})`,
      );
      return { kind: 'resourceServer', resourceServerId: only.id };
    }
  }
}

async function resolveUser(idp: IdentityProvider, ref: string) {
  if (ref.includes('@')) {
    const byEmail = await idp.findUserByEmail(ref);
    if (byEmail) return byEmail;
  }
  const exact = await idp.getUser(ref).catch(() => undefined);
  if (exact) return exact;
  return single(
    await idp.searchUsers(ref, 5),
    ref,
    'user',
    (u) => `${u.userName} <${u.email ?? '?'}> (${u.id})`,
  );
}

function single<T>(items: T[], ref: string, what: string, show: (t: T) => string): T {
  if (items.length === 1) return items[0]!;
  if (items.length === 0) throw new ValidationError(`no ${what} matches "${ref}"`);
  throw new ValidationError(`"${ref}" matches several: ${items.map(show).join(', ')}; be more specific`);
}

/**
 * Refuses, in the IdP's own words, a scope it cannot do on this plan or edition. The reachability check runs
 * the adapter's start-up probe first (e.g. Auth0 declares every scope unsupported below Enterprise).
 */
export async function refuseUnsupported(idp: IdentityProvider, scope: Target['kind']): Promise<void> {
  await idp.ping();
  if (!idp.capabilities.scopes[scope]) {
    throw new UnsupportedError(
      idp.capabilities.unsupportedReasons[scope] ?? `${idp.name} cannot revoke this scope`,
    );
  }
}

export function summary(rec: RequestRecord): string {
  const r = rec.result;
  const outcome = r
    ? ` — revoked ${r.revoked}, remaining ${r.remaining}${r.error ? ` (${sanitizeOutsideText(r.error)})` : ''}`
    : '';
  // Each part of the scope with its outcome: "verified: refresh tokens; unverifiable: sessions (…)".
  const parts = informativeParts(r?.parts);
  // Never "verified" when the IdP could not show the result: say so, and why.
  const state =
    rec.state === 'unverifiable'
      ? parts
        ? 'done, unverifiable;'
        : `done, unverifiable: ${sanitizeOutsideText(r?.unverifiable ?? 'unknown')};`
      : `${rec.state}:`;
  // Target ids, names and IdP errors are outside text: escaped before they reach a terminal.
  return sanitizeOutsideText(
    `${rec.id} ${state} ${describeTarget(rec.target)}${outcome}${parts ? ` — ${parts}` : ''}`,
  );
}

/**
 * A fanned-out user revocation's connections, one indented line each (`  okta: verified`,
 * `  google: waiting for it (retrying): …`); none for a request in one connection. Outside text (each why)
 * is sanitised: no control character or bidi override reaches the terminal.
 */
export function connectionLines(rec: RequestRecord): string[] {
  return (rec.connections ?? []).map((c) => `  ${sanitizeOutsideText(connectionLine(c, { maxWhy: 500 }))}`);
}

/** What people read about a request: its summary, then one line per connection when it has several. */
export function describeRequest(rec: RequestRecord): string {
  return [summary(rec), ...connectionLines(rec)].join('\n');
}

/** `revoker revoke token|user|app|api <ref> [--reason] [--wait]`: the same workflow, with source "cli". */
export function register(program: Command): void {
  program
    .command('revoke')
    .description('request a revocation from the shell (same workflow as Slack, source "cli")')
    .argument('<scope>', 'token | user | app | api | leaked (a token by its value, read from stdin)')
    .argument('[ref]', 'token id, user id or email, application id or name, API id, name or audience')
    .option('--user <user>', 'for a token: the user it belongs to (id or email)')
    .option('--reason <text>', 'why (recorded in the audit log)', 'requested from the CLI')
    .option('--wait', 'wait for the result; exit 0 verified, 3 done but unverifiable, 1 otherwise')
    .option('--timeout <seconds>', 'with --wait: give up after this long', '600')
    .option('--key <idempotency-key>', 'same key ⇒ same request (safe to re-run)')
    .option('--yes', 'leaked: revoke without asking (needed when stdin carries the token)')
    .option('--dry-run', 'leaked: only show what introspection says')
    .option('--json', 'print one JSON result (for scripts) instead of lines for people')
    .option(
      '--idp <connection>',
      'the connection (identity system) it belongs to; default the first configured',
    )
    .action(async (scope: string, ref: string | undefined, opts: RevokeOptions) => {
      if (scope === 'leaked') {
        if (ref !== undefined) {
          throw new ValidationError(
            'revoke leaked reads the token from stdin, never from the command line (shell history and ps keep arguments)',
          );
        }
        await revokeLeaked(opts);
        return;
      }
      if (!(scope in KINDS))
        // The scope is not echoed: a token pasted in its place would be printed.
        throw new ValidationError('scope must be token, user, app, api or leaked');
      if (ref === undefined) throw new ValidationError(`revoke ${scope} needs what to revoke`);
      const config: Config = loadConfig();
      if (config.IDP === 'idaas' && !config.IDAAS_URL) {
        throw new ConfigError(
          'IDAAS_URL',
          'is required for the CLI (the embedded IDaaS runs inside `revoker serve`; point the CLI at it with IDAAS_URL and IDAAS_ADMIN_TOKEN)',
        );
      }
      // A person reads stdout: log records only when LOG_LEVEL asks for them, and then on stderr.
      const logger = createLogger({
        level: process.env.LOG_LEVEL ? config.LOG_LEVEL : 'silent',
        stderr: true,
      });
      const rt = await createRuntime(config, { embedIdaas: false, logger });
      const say = (line: string) => {
        if (!opts.json) process.stdout.write(`${line}\n`);
      };
      try {
        const conn = connectionNamed(rt, opts.idp);
        await refuseUnsupported(conn.idp, KINDS[scope as Kind]);
        const target = await resolveTarget(conn.idp, scope as Kind, ref, opts.user);
        const { request, duplicate } = await rt.intake.submit({
          target,
          reason: opts.reason ?? 'requested from the CLI',
          requestedBy: { source: 'cli', id: userInfo().username || 'cli' },
          source: 'cli',
          connection: conn.id,
          ...(opts.key ? { idempotencyKey: `cli:${opts.key}` } : {}),
        });
        say(`${duplicate ? 'already requested' : 'requested'}: ${describeRequest(request)}`);
        if (!opts.wait) {
          if (opts.json) process.stdout.write(`${JSON.stringify(resultOf(request, duplicate))}\n`);
          return;
        }
        const workers = await rt.queues.idpCallsOf(conn.id).getWorkersCount();
        if (workers === 0) process.stderr.write('warning: no worker is connected; start `revoker serve`\n');
        const done = await waitWithProgress(rt.intake, request.id, Number(opts.timeout) * 1000, say);
        if (opts.json) process.stdout.write(`${JSON.stringify(resultOf(done, duplicate))}\n`);
        else say(describeRequest(done));
        // 3: done, but the IdP could not show the result (0 verified, 1 failed, 2 bad input).
        if (done.state !== 'verified') process.exitCode = done.state === 'unverifiable' ? 3 : 1;
      } finally {
        await rt.close();
      }
    });
}

/** The connection `--idp` names (default the first configured); an unknown one is bad input (exit 2). */
function connectionNamed(rt: Runtime, id: string | undefined) {
  const conn = id === undefined ? rt.connections.primary : rt.connections.get(id);
  if (!conn) {
    throw new ValidationError(`--idp: no connection "${id}" (configured: ${rt.connections.ids.join(', ')})`);
  }
  return conn;
}

/** The one JSON document `--json` prints: what scripts need, no token values (there are none here). */
export function resultOf(rec: RequestRecord, duplicate: boolean) {
  return {
    id: rec.id,
    state: rec.state,
    duplicate,
    target: rec.target,
    ...(rec.connection ? { connection: rec.connection } : {}),
    progress: rec.progress,
    // Each part of the scope with its outcome (also inside `result`), for scripts that only want those.
    ...(rec.result?.parts ? { parts: rec.result.parts } : {}),
    // A fanned-out user revocation: each connection's status (why already sanitised and bounded by the model).
    ...(rec.connections ? { connections: rec.connections } : {}),
    ...(rec.result ? { result: rec.result } : {}),
  };
}

/**
 * Waits for a terminal state, telling the person how far it got whenever progress moves, and each
 * connection's line whenever it changes (`waitForOutcome` wakes on every state change; progress is polled
 * between them).
 */
export async function waitWithProgress(
  intake: Pick<Intake, 'waitForOutcome' | 'get'>,
  requestId: string,
  timeoutMs: number,
  say: (line: string) => void,
): Promise<RequestRecord> {
  const deadline = Date.now() + timeoutMs;
  let shown = '';
  const shownLines = new Map<string, string>();
  for (;;) {
    const left = deadline - Date.now();
    const rec = await intake
      .waitForOutcome(requestId, Math.max(1, Math.min(left, 1000)))
      .catch(async (err: unknown) => {
        if (Date.now() >= deadline) throw err;
        return intake.get(requestId);
      });
    if (!rec) throw new ValidationError(`request ${requestId} disappeared`);
    if (TERMINAL_STATES.includes(rec.state)) return rec;
    const line = `${rec.state}: revoked ${rec.progress.done} of ${rec.progress.total}`;
    if (line !== shown && rec.progress.total > 0) say(line);
    shown = line;
    for (const [i, text] of connectionLines(rec).entries()) {
      const id = rec.connections![i]!.connection;
      if (shownLines.get(id) !== text) say(text);
      shownLines.set(id, text);
    }
  }
}
