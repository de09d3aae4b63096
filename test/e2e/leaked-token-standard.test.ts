import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisAuditLog } from '../../src/audit/redis-audit-log.ts';
import { type Idaas, loadDemoTenant, parseSeed, seedClients, startIdaas } from '../../src/idaas/index.ts';
import { CLI_TIMEOUT_MS, runRevoker } from '../helpers/cli.ts';
import { OAuthTestServer } from '../helpers/oauth-test-server.ts';
import { connectRedis, deleteKeys, REDIS_URL, randomPrefix } from '../helpers/redis.ts';
import { isAlive, isDead } from '../helpers/service.ts';

/**
 * `revoker revoke leaked` (IDP=oauth) against a server that behaves as real third-party ones do
 * (test/helpers/oauth-test-server.ts) and against the embedded IDaaS with a `client_secret_post` client
 * whose secret has reserved characters: what the CLI prints, its exit code, and the audit it leaves.
 * The oracle is each server's own state.
 */
const RESERVED = 'f@eld:app+secret/with= spaces';
const prefix = randomPrefix('leaked-std');
const redis = connectRedis();
let as: OAuthTestServer;
let idaas: Idaas;

beforeAll(async () => {
  as = await OAuthTestServer.start({
    clients: [
      { clientId: 'wiki', method: 'client_secret_basic', secret: 'wiki-secret-0123456789' },
      { clientId: 'expenses', method: 'client_secret_post', secret: RESERVED },
      { clientId: 'hidden-app', method: 'client_secret_basic', secret: 'hidden-secret-0123456789' },
    ],
  });
  const demo = loadDemoTenant();
  idaas = await startIdaas({
    seed: parseSeed({
      ...demo,
      applications: [
        ...demo.applications,
        {
          client_id: 'field-app',
          name: 'Field App',
          client_secret: RESERVED,
          token_endpoint_auth_method: 'client_secret_post',
          redirect_uris: ['http://127.0.0.1:8080/field/callback'],
          grant_types: ['authorization_code', 'refresh_token'],
        },
      ],
    }),
  });
});

afterAll(async () => {
  await as?.close();
  await idaas?.close();
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

/** The three clients Revoker is given for the test server (not hidden-app). */
const AS_CLIENTS = JSON.stringify([
  { client_id: 'wiki', client_secret: 'wiki-secret-0123456789' },
  { client_id: 'expenses', client_secret: RESERVED, token_endpoint_auth_method: 'client_secret_post' },
]);

function cli(args: string[], env: Record<string, string>, stdin: string) {
  // No LOG_LEVEL: what a person sees at a terminal.
  return runRevoker(args, { REDIS_URL, REVOKER_PREFIX: prefix, LOG_LEVEL: undefined, ...env }, { stdin });
}

async function audited(): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  for await (const e of new RedisAuditLog({ redis, prefix }).entries()) {
    if (e.action === 'token.revoked_by_value') found.push(e.detail ?? {});
  }
  return found;
}

describe('revoker revoke leaked against standard servers (issue 19)', () => {
  it(
    'a live token of a client Revoker was not given: "could not confirm", exit 3, audited unverifiable; no log record on stdout',
    async () => {
      const live = as.issue('hidden-app', 'access_token');
      const env = { IDP: 'oauth', OAUTH_ISSUER: as.issuer, OAUTH_CLIENTS: AS_CLIENTS };
      const run = await cli(['revoke', 'leaked', '--yes', '--reason', 'SEC-19'], env, live);
      expect(run.code, run.stderr).toBe(3);
      expect(run.stdout).not.toMatch(/nothing to revoke/);
      expect(run.stdout).toContain(
        'could not confirm: none of the configured clients can see this token; add its client to OAUTH_CLIENTS',
      );
      // Not one JSON log record on stdout without LOG_LEVEL (issue 19 item 4).
      expect(run.stdout.split('\n').some((l) => l.trimStart().startsWith('{'))).toBe(false);
      expect(as.isActive(live)).toBe(true);
      expect(await audited()).toEqual([
        expect.objectContaining({ outcome: 'unverifiable', verified: false }),
      ]);
      expect(`${run.stdout}${run.stderr}`).not.toContain(live);
    },
    CLI_TIMEOUT_MS,
  );

  it(
    'an id_token is shown and revoked as one; a value that begins with "-" on argv is refused unechoed, exit 2',
    async () => {
      const idToken = as.issue('wiki', 'id_token');
      const env = { IDP: 'oauth', OAUTH_ISSUER: as.issuer, OAUTH_CLIENTS: AS_CLIENTS };
      const dashed = as.issue('wiki', 'access_token', undefined, true);
      expect(dashed.startsWith('-')).toBe(true);
      const argv = await cli(['revoke', 'leaked', dashed], env, '');
      expect(argv.code).toBe(2);
      expect(`${argv.stdout}${argv.stderr}`).not.toContain(dashed);
      expect(`${argv.stdout}${argv.stderr}`).not.toContain(dashed.slice(1, 12));
      expect(argv.stderr).toContain('never from the command line');
      const surplus = await cli(['revoke', 'token', 'tok_1', dashed.slice(1)], env, '');
      expect(surplus.code).toBe(2);
      expect(`${surplus.stdout}${surplus.stderr}`).not.toContain(dashed.slice(1));
      expect(as.isActive(dashed)).toBe(true);

      const run = await cli(['revoke', 'leaked', '--yes'], env, idToken);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain('active ID token (id_token)');
      expect(as.isActive(idToken)).toBe(false);
      const last = (await audited()).at(-1);
      expect(last).toMatchObject({ type: 'id_token', outcome: 'revoked', verified: true });
    },
    CLI_TIMEOUT_MS * 2,
  );

  it(
    'the embedded IDaaS: a client_secret_post client whose secret has reserved characters revokes its token',
    async () => {
      const [tok] = await idaas.mintTokens({ user: 'alice', application: 'field-app' });
      const clients = JSON.stringify(
        seedClients(idaas.seed).map((c) => ({
          client_id: c.clientId,
          client_secret: c.clientSecret,
          ...(c.authMethod ? { token_endpoint_auth_method: c.authMethod } : {}),
        })),
      );
      const env = { IDP: 'oauth', OAUTH_ISSUER: idaas.issuer, OAUTH_CLIENTS: clients };
      expect(await isAlive(idaas, tok!)).toBe(true);
      const run = await cli(['revoke', 'leaked', '--yes'], env, tok!.access_token);
      expect(run.code, `${run.stdout}${run.stderr}`).toBe(0);
      expect(run.stdout).toMatch(/client: +field-app/);
      expect(await isDead(idaas, tok!)).toBe(true);
    },
    CLI_TIMEOUT_MS,
  );
});
