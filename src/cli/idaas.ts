import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { ConfigError, ValidationError } from '../domain/errors.ts';
import { AuthorizationFlowError, issueTokens } from '../idaas/authorization-code-flow.ts';
import { loadDemoTenant, loadSeedFile, type Seed, startIdaas } from '../idaas/index.ts';
import { createLogger } from '../log.ts';
import { connectRedis } from '../redis/connect.ts';

const DEFAULT_URL = 'http://127.0.0.1:4000';

interface ServeOptions {
  port: string;
  host: string;
  seed?: string;
  store: string;
}

interface IssueOptions {
  user: string;
  app: string;
  resource?: string;
  scope?: string;
  password?: string;
  seed?: string;
}

/** `revoker idaas`: run the embedded identity service; `revoker idaas issue`: get real tokens from it. */
export function register(program: Command): void {
  const idaas = program
    .command('idaas')
    .description('Run the embedded identity service (OpenID Provider + admin API) in the foreground')
    .option('--port <port>', 'TCP port', process.env.IDAAS_PORT ?? '4000')
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--seed <file>', 'seed JSON (users, applications, resource servers); default the demo tenant')
    .option('--store <store>', 'memory | redis (REDIS_URL, keys under REVOKER_PREFIX:idaas)', 'memory')
    .action(serve);

  idaas
    .command('issue')
    .description('Obtain tokens through the authorization-code flow (PKCE) and print them as JSON')
    .requiredOption('--user <user>', 'user id or email')
    .requiredOption('--app <app>', 'application client_id or name')
    .option('--resource <resource>', 'resource server id, name or audience')
    .option('--scope <scope>', 'scopes to request (default: OIDC scopes, or all of the API)')
    .option('--password <password>', "the user's password (default: the seed's)")
    .option('--seed <file>', 'seed the IDaaS runs with (for client secrets and passwords)')
    .action(issue);
}

async function serve(o: ServeOptions): Promise<void> {
  const port = Number(o.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError('--port', 'must be 0–65535');
  if (o.store !== 'memory' && o.store !== 'redis')
    throw new ConfigError('--store', 'must be memory or redis');
  const logger = createLogger({ name: 'idaas' });
  const prefix = `${process.env.REVOKER_PREFIX ?? 'revoker'}:idaas`;
  const redis = o.store === 'redis' ? connectRedis(loadConfig()) : undefined;
  const idaas = await startIdaas({
    port,
    host: o.host,
    ...(o.seed ? { seed: o.seed } : {}),
    store: redis ? { redis, prefix } : 'memory',
    ...(process.env.IDAAS_ADMIN_TOKEN ? { adminToken: process.env.IDAAS_ADMIN_TOKEN } : {}),
    // The signing and cookie keys encrypted at rest (with the Redis store, the store's Redis also counts
    // sign-in failures).
    ...(process.env.IDAAS_KEYS_SECRET ? { keysSecret: process.env.IDAAS_KEYS_SECRET } : {}),
    logger,
  });
  process.stderr.write(`IDaaS listening at ${idaas.url}\n`);
  // A generated admin token is shown once, to the operator's terminal only; one they set is never echoed.
  if (!process.env.IDAAS_ADMIN_TOKEN) process.stderr.write(`IDAAS_ADMIN_TOKEN=${idaas.adminToken}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await idaas.close();
  redis?.disconnect();
}

async function issue(o: IssueOptions): Promise<void> {
  const seed: Seed = o.seed ? loadSeedFile(o.seed) : loadDemoTenant();
  const issuerUrl = process.env.IDAAS_URL ?? DEFAULT_URL;
  const app = seed.applications.find(
    (a) => a.client_id === o.app || a.name.toLowerCase() === o.app.toLowerCase(),
  );
  if (!app) throw new ValidationError(`--app: no application "${o.app}" in the seed`);
  const redirectUri = app.redirect_uris[0];
  if (!redirectUri) throw new ValidationError(`--app: application "${app.client_id}" has no redirect URI`);
  const user = seed.users.find(
    (u) => u.userId.toLowerCase() === o.user.toLowerCase() || u.email.toLowerCase() === o.user.toLowerCase(),
  );
  const password = o.password ?? user?.password;
  if (!password) throw new ValidationError(`--password: unknown user "${o.user}", give their password`);
  const rs =
    o.resource === undefined
      ? undefined
      : seed.resourceServers.find(
          (r) => r.id === o.resource || r.audience === o.resource || r.name === o.resource,
        );
  if (o.resource !== undefined && !rs)
    throw new ValidationError(`--resource: no resource server "${o.resource}"`);
  try {
    const tokens = await issueTokens({
      issuerUrl,
      user: o.user,
      password,
      clientId: app.client_id,
      ...(app.client_secret ? { clientSecret: app.client_secret } : {}),
      redirectUri,
      ...(rs ? { resource: rs.audience } : {}),
      scope:
        o.scope ??
        (rs ? `openid offline_access ${rs.scopes.join(' ')}` : 'openid offline_access profile email'),
    });
    process.stdout.write(`${JSON.stringify(tokens, null, 2)}\n`);
  } catch (err) {
    if (err instanceof AuthorizationFlowError) throw new ValidationError(`issue failed: ${err.message}`);
    throw err;
  }
}
