import { loadConfig } from '../../src/config.ts';
import type { Idaas, IssuedTokens } from '../../src/idaas/index.ts';
import { type Logger, silentLogger } from '../../src/log.ts';
import { createRuntime, type Runtime } from '../../src/runtime.ts';
import { type RunningService, type ServiceOptions, startService } from '../../src/service.ts';
import { connectRedis, deleteKeys, REDIS_URL, randomPrefix } from './redis.ts';
import { type HeldTokens, probeHeld } from './token-probe.ts';

export interface TestService {
  rt: Runtime;
  service: RunningService;
  /** Base URL of Revoker's HTTP server. */
  url: string;
  idaas: Idaas;
  prefix: string;
  close(): Promise<void>;
}

/**
 * The whole service as `revoker serve --role all` runs it — embedded IDaaS, HTTP, workers — on the real
 * Redis under a random prefix, configured only through environment variables.
 */
export async function startTestService(
  env: Record<string, string> = {},
  options: Partial<ServiceOptions> & { logger?: Logger; prefixLabel?: string } = {},
): Promise<TestService> {
  const { logger = silentLogger, prefixLabel = 'e2e', ...serviceOptions } = options;
  const prefix = randomPrefix(prefixLabel);
  const fullEnv: NodeJS.ProcessEnv = {
    REDIS_URL,
    REVOKER_PREFIX: prefix,
    PORT: '0',
    HOST: '127.0.0.1',
    IDAAS_PORT: '0',
    LOG_LEVEL: 'silent',
    WORKFLOWS_DIR: 'workflows',
    // Audit archives and anchors of a test service stay out of the working tree.
    AUDIT_ARCHIVE_DIR: `.tmp/audit-archive/${prefix}`,
    SLACK_ADMIN_USERS: 'UADMIN1,UADMIN2',
    SLACK_APPROVER_USERS: 'UAPPROVER1,UAPPROVER2,UAPPROVER3',
    ...env,
  };
  const config = loadConfig(fullEnv);
  const rt = await createRuntime(config, { env: fullEnv, logger });
  const service = await startService(rt, { role: 'all', port: 0, ...serviceOptions });
  return {
    rt,
    service,
    url: service.http!.url,
    idaas: rt.idaas!,
    prefix,
    async close() {
      await service.close(1000);
      await rt.close();
      const redis = connectRedis();
      await deleteKeys(redis, prefix);
      redis.disconnect();
    },
  };
}

export interface Liveness {
  /** 200 at UserInfo (or the API's whoami) and active at introspection. */
  access: boolean;
  /** The refresh token still gets a new access token. */
  refresh: boolean | undefined;
  userinfo: number;
  refreshResult: string | undefined;
}

/** Checks a minted token the ways a client would notice; keeps the rotated refresh token. */
export async function liveness(idaas: Idaas, token: IssuedTokens): Promise<Liveness> {
  const held = heldOf(token);
  const res = await probeHeld(idaas, held);
  if (held.refreshToken) token.refresh_token = held.refreshToken;
  return {
    access: res.userinfo === 200 && res.introspection.active,
    refresh: res.refresh ? res.refresh.result === 'ok' : undefined,
    userinfo: res.userinfo,
    refreshResult: res.refresh?.result,
  };
}

/** An issued token pair as `probeHeld` takes it. */
export function heldOf(token: IssuedTokens): HeldTokens {
  return {
    applicationId: token.applicationId,
    accessToken: token.access_token,
    refreshToken: token.refresh_token,
    resourceServerId: token.resourceServerId,
  };
}

/** Dead every way: 401 at UserInfo/whoami, inactive, and (when it has one) the refresh token gets invalid_grant. */
export async function isDead(idaas: Idaas, token: IssuedTokens): Promise<boolean> {
  const l = await liveness(idaas, token);
  return (
    l.userinfo === 401 && !l.access && (l.refreshResult === undefined || l.refreshResult === 'invalid_grant')
  );
}

export async function isAlive(idaas: Idaas, token: IssuedTokens): Promise<boolean> {
  const l = await liveness(idaas, token);
  return l.access && l.refresh !== false;
}

/** The IdP's internal id of a seeded user (`usr_…`). */
export async function userIdOf(t: TestService, login: string): Promise<string> {
  const users = await t.rt.idp.searchUsers(login, 10);
  const u = users.find((x) => x.userName === login || x.email === login);
  if (!u) throw new Error(`no user ${login}`);
  return u.id;
}

/** One real token pair for `user` at `application` (optionally for an API), minted by the IDaaS. */
export async function mintOne(
  t: TestService,
  user: string,
  application = 'expense-portal',
  resourceServer?: string,
): Promise<IssuedTokens> {
  const [tok] = await t.idaas.mintTokens({
    user,
    application,
    ...(resourceServer ? { resourceServer } : {}),
  });
  return tok!;
}

/** Every job on the hr-events queue, whatever its state: unchanged ⇒ nothing was enqueued. */
export async function hrJobCount(t: TestService): Promise<number> {
  const counts = await t.service.hrQueue.getJobCounts();
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
