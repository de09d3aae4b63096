import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_TIMEOUT_MS, runRevoker } from '../helpers/cli.ts';
import { isAlive, isDead, startTestService, type TestService } from '../helpers/service.ts';

/** The `revoker` CLI in a child process, against a running service (its Redis, workers and IDaaS). */
let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t?.close();
});

/** `envOverride` replaces the quiet default; a key set to undefined is left out of the child's environment. */
const revoker = (args: string[], envOverride: Record<string, string | undefined> = { LOG_LEVEL: 'silent' }) =>
  runRevoker(args, {
    REDIS_URL: t.rt.config.REDIS_URL,
    REVOKER_PREFIX: t.prefix,
    IDAAS_URL: t.idaas.url,
    IDAAS_ADMIN_TOKEN: t.idaas.adminToken,
    ...envOverride,
  });

/** The request id a `revoker revoke` run printed. */
const idIn = (stdout: string) => /req_[A-Za-z0-9_-]+/.exec(stdout)?.[0];

describe('revoker revoke (CLI)', { timeout: 2 * CLI_TIMEOUT_MS }, () => {
  it('revoke user <email> --wait: the workers revoke, it prints the verified result and exits 0', async () => {
    const [bob] = await t.idaas.mintTokens({ user: 'bob', application: 'team-wiki' });
    const [carol] = await t.idaas.mintTokens({ user: 'carol', application: 'team-wiki' });
    const run = await revoker(['revoke', 'user', 'bob@example.com', '--reason', 'from the shell', '--wait']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /req_\S+ verified: all tokens of user usr_\S+ — revoked [1-9]\d*, remaining 0/,
    );
    expect(await isDead(t.idaas, bob!)).toBe(true);
    expect(await isAlive(t.idaas, carol!)).toBe(true);
    const rec = await t.rt.intake.get(idIn(run.stdout)!);
    expect(rec).toMatchObject({ source: 'cli', reason: 'from the shell', state: 'verified' });
  });

  it('revoke api <audience> resolves the audience to the API', async () => {
    const [tok] = await t.idaas.mintTokens({
      user: 'dave',
      application: 'expense-portal',
      resourceServer: 'reports-api',
    });
    const run = await revoker(['revoke', 'api', 'https://reports.example.com/api', '--wait']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('all tokens issued to resource server reports-api');
    expect(await isDead(t.idaas, tok!)).toBe(true);
  });

  it('the same --key twice is one request', async () => {
    const first = await revoker(['revoke', 'app', 'team-wiki', '--key', 'rotate-2026-11']);
    const second = await revoker(['revoke', 'app', 'team-wiki', '--key', 'rotate-2026-11']);
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(first.stdout).toMatch(/^requested: (req_\S+)/);
    const id = idIn(first.stdout)!;
    expect(second.stdout).toMatch(new RegExp(`^already requested: ${id} `));
    const forApp = (await t.rt.intake.list({ source: 'cli', limit: 200 })).filter(
      (r) => r.target.kind === 'application' && r.target.applicationId === 'team-wiki',
    );
    expect(forApp.map((r) => r.id)).toEqual([id]);
  });

  it('bad input gets one clear line and exit 2: unknown app, unknown scope, token without --user', async () => {
    const unknown = await revoker(['revoke', 'app', 'no-such-app']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe('revoker: no application matches "no-such-app"');
    const scope = await revoker(['revoke', 'tenant', 'x']);
    expect(scope.code).toBe(2);
    expect(scope.stderr).toContain('scope must be token, user, app, api or leaked');
    const token = await revoker(['revoke', 'token', 'tok_abc']);
    expect(token.code).toBe(2);
    expect(token.stderr).toContain('needs --user');
  });

  it('--wait talks to people: requested, progress, outcome, and no JSON log line without LOG_LEVEL', async () => {
    await t.idaas.mintTokens({ user: 'alice', application: 'expense-portal', count: 3 });
    const run = await revoker(['revoke', 'user', 'alice@example.com', '--wait'], { LOG_LEVEL: undefined });
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^requested: req_\S+ \w+: all tokens of user usr_\S+$/);
    expect(lines.at(-1)).toMatch(/^req_\S+ verified: all tokens of user usr_\S+ — revoked \d+, remaining 0$/);
    for (const line of lines.slice(1, -1)) expect(line).toMatch(/^\w+: revoked \d+ of \d+$/);
    const jsonish = `${run.stdout}\n${run.stderr}`.split('\n').filter((l) => l.trim().startsWith('{'));
    expect(jsonish).toEqual([]);
  });

  it('--json prints one machine-readable result and nothing else on stdout', async () => {
    await t.idaas.mintTokens({ user: 'carol', application: 'expense-portal' });
    const run = await revoker(['revoke', 'user', 'carol@example.com', '--wait', '--json'], {
      LOG_LEVEL: undefined,
    });
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      id: expect.stringMatching(/^req_/),
      state: 'verified',
      duplicate: false,
      target: { kind: 'user' },
      result: { ok: true, remaining: 0 },
    });
  });
});

describe('revoker revoke --idp (issue 22)', { timeout: 2 * CLI_TIMEOUT_MS }, () => {
  it('names the connection in the request and --json; an unknown connection is bad input (exit 2)', async () => {
    const [tok] = await t.idaas.mintTokens({ user: 'erin', application: 'team-wiki' });
    const run = await revoker(['revoke', 'user', 'erin@example.com', '--idp', 'idaas', '--wait', '--json'], {
      LOG_LEVEL: undefined,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout.trim())).toMatchObject({ state: 'verified', connection: 'idaas' });
    expect(await isDead(t.idaas, tok!)).toBe(true);
    const unknown = await revoker(['revoke', 'user', 'erin@example.com', '--idp', 'okta-eu']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe('revoker: --idp: no connection "okta-eu" (configured: idaas)');
  });
});

describe('revoker --version', () => {
  it('prints the package version', { timeout: 2 * CLI_TIMEOUT_MS }, async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const run = await revoker(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(version);
  });
});
