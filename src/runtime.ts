import { WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import { AuditKeys } from './audit/audit-keys.ts';
import { RedisAuditLog } from './audit/redis-audit-log.ts';
import { RedisRefusalLog } from './audit/refusal-log.ts';
import type { Config } from './config.ts';
import { ConnectionRegistry } from './connections/connection-registry.ts';
import { connectionSpecs } from './connections/connection-specs.ts';
import { createConnections } from './connections/create-connections.ts';
import { checkGtrApps, gtrAppConnections } from './connections/gtr-connections.ts';
import { type Idaas, seedClients, startIdaas } from './idaas/index.ts';
import { BudgetedIdentityProvider } from './identity/budgeted-identity-provider.ts';
import type { IdentityProviderOverrides } from './identity/factory.ts';
import type { IdpBudget } from './identity/idp-budget.ts';
import type { IdentityProvider } from './identity/port.ts';
import { LeakedTokenService } from './intake/leaked-token-service.ts';
import { LogNotifier } from './intake/log-notifier.ts';
import { CompositeNotifier, type Notifier } from './intake/notifier.ts';
import { RedisRequestStore } from './intake/request-store.ts';
import { RevocationService } from './intake/revocation-service.ts';
import { createLogger, type Logger } from './log.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { RevocationQueues } from './queue/revocation-queues.ts';
import { connectRedis } from './redis/connect.ts';
import { createSlackNotifications, type SlackNotifications } from './slack/index.ts';
import { usergroupMembership } from './slack/usergroup-membership.ts';
import { createWorkflowEngine } from './workflows/index.ts';
import type { MembershipResolver, WorkflowEngine } from './workflows/types.ts';

/** Everything a Revoker process shares, built once from the validated config (the composition root). */
export interface Runtime {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  /** BullMQ-ready connection (`maxRetriesPerRequest: null`). */
  redis: Redis;
  /** The IdP, every call of which takes a permit from `budget` (`idp.interactive()` for people waiting). */
  idp: BudgetedIdentityProvider;
  /** The one IdP call budget shared by every process on this Redis. */
  budget: IdpBudget;
  /**
   * Every connection (IDP's list or CONNECTIONS_FILE's, then each GTR_APPS app as `gtr-<name>`), each with
   * its own adapter, budget and queue; the first is `idp` / `budget` above.
   */
  connections: ConnectionRegistry;
  /** The embedded IDaaS when this process runs it (IDP=idaas without IDAAS_URL). */
  idaas?: Idaas;
  /** Slack user-group membership (S… ids) when SLACK_BOT_TOKEN is set. */
  membership?: MembershipResolver;
  /** Slack notifications (outbox + notifier) when SLACK_BOT_TOKEN is set. */
  slack?: SlackNotifications;
  audit: RedisAuditLog;
  /** Refused requests, counted per minute and written to the audit log as one entry each minute. */
  refusals: RedisRefusalLog;
  workflows: WorkflowEngine;
  /** PROTECTED_USERS / PROTECTED_GROUPS with their approvers, when any are set. */
  protectedUsers?: { isProtected(userId: string): Promise<boolean>; approvers: string[] };
  store: RedisRequestStore;
  queues: RevocationQueues;
  /** Add notifiers (e.g. Slack's) before anything is submitted. */
  notifiers: Notifier[];
  notifier: Notifier;
  intake: RevocationService;
  /** Revocation of a token by its value (synchronous; the value is never queued or stored). */
  leaked: LeakedTokenService;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  logger?: Logger;
  /** Run the embedded IDaaS in this process when IDP=idaas and IDAAS_URL is unset. Default true. */
  embedIdaas?: boolean;
  /** Environment for `${VAR}` references in workflow files. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

export async function createRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const logger = options.logger ?? createLogger({ level: config.LOG_LEVEL });
  const specs = connectionSpecs(config, options.env ?? process.env);
  // Refused before anything starts: an app's id that names another connection, iss_sub with no issuer.
  checkGtrApps(config.gtrApps, specs);
  const metrics = createMetrics();
  const redis = connectRedis(config);
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const prefix = config.REVOKER_PREFIX;

  let idaas: Idaas | undefined;
  let refusalsLater: RedisRefusalLog | undefined;
  let idaasOverride: IdentityProviderOverrides['idaas'];
  // The embedded IDaaS runs in-process for the (first) IDaaS connection that names no IDAAS_URL.
  const embeddable = specs.find((s) => s.kind === 'idaas' && !s.config.IDAAS_URL);
  if (embeddable && options.embedIdaas !== false) {
    idaas = await startIdaas({
      port: config.IDAAS_PORT,
      ...(config.IDAAS_ADMIN_PORT !== undefined ? { adminPort: config.IDAAS_ADMIN_PORT } : {}),
      ...(config.IDAAS_SEED ? { seed: config.IDAAS_SEED } : {}),
      store: config.IDAAS_STORE === 'redis' ? { redis, prefix: `${prefix}:idaas` } : 'memory',
      ...(config.IDAAS_ADMIN_TOKEN ? { adminToken: config.IDAAS_ADMIN_TOKEN } : {}),
      ...(config.IDAAS_KEYS_SECRET ? { keysSecret: config.IDAAS_KEYS_SECRET } : {}),
      // Sign-in failures counted in Revoker's Redis, refusals into its audit log (created below).
      signInThrottle: {
        redis,
        prefix: `${prefix}:idaas`,
        refusals: { record: (r) => refusalsLater?.record(r) },
      },
      logger: logger.child({ component: 'idaas' }),
    });
    idaasOverride = {
      baseUrl: idaas.adminUrl,
      adminToken: idaas.adminToken,
      issuer: idaas.issuer,
      clients: seedClients(idaas.seed),
    };
    logger.info({ url: idaas.url }, 'embedded IDaaS running in-process');
  }
  const idps = createConnections({
    specs,
    redis,
    prefix,
    interactiveShare: config.IDP_INTERACTIVE_SHARE,
    ...(idaasOverride ? { idaas: idaasOverride } : {}),
  });
  // Apps that accept Global Token Revocation are connections too, after the IdPs (never the primary).
  const apps = gtrAppConnections({
    apps: config.gtrApps,
    specs,
    primary: idps.primary,
    ...(idaas && embeddable === specs[0] ? { embeddedIssuer: idaas.issuer } : {}),
    redis,
    prefix,
    interactiveShare: config.IDP_INTERACTIVE_SHARE,
  });
  const connections = apps.length > 0 ? new ConnectionRegistry([...idps.all, ...apps]) : idps;
  const idp = connections.primary.idp;
  const budget = connections.primary.budget;
  if (!(idp instanceof BudgetedIdentityProvider) || !budget) throw new Error('unbudgeted connection');
  // Workflows may name Slack user groups (S…); their members come from Slack when a bot token is set.
  const membership = config.SLACK_BOT_TOKEN
    ? usergroupMembership({
        // Someone waits on this answer (it runs before an ack): no retries, no waiting out a 429, and
        // an HTTP timeout; the resolver serves a stale list or says "try again" instead.
        client: new WebClient(config.SLACK_BOT_TOKEN, {
          slackApiUrl: config.SLACK_API_URL,
          retryConfig: { retries: 0 },
          rejectRateLimitedCalls: true,
          timeout: 2_000,
        }),
        logger: logger.child({ component: 'slack-groups' }),
      })
    : undefined;
  const workflows = await createWorkflowEngine(
    config.WORKFLOWS_DIR,
    options.env ?? process.env,
    membership ? { membership } : {},
  );
  const audit = new RedisAuditLog({ redis, prefix, keys: AuditKeys.parse(config.AUDIT_HMAC_KEY) });
  const refusals = new RedisRefusalLog({
    redis,
    prefix,
    audit,
    logger: logger.child({ component: 'audit' }),
  });
  refusals.start();
  refusalsLater = refusals;
  const store = new RedisRequestStore({ redis, prefix });
  const queues = new RevocationQueues({ connection: redis, prefix, connections: connections.all });
  // A queue without an 'error' listener prints raw stacks while Redis is away (a failover, a restart);
  // they reconnect by themselves, so this is a warning in the log.
  for (const q of queues.all) {
    q.on('error', (err) => logger.warn({ err: err.message, queue: q.name }, 'queue: redis connection error'));
  }
  const notifiers: Notifier[] = [new LogNotifier(logger.child({ component: 'notifier' }))];
  // Slack messages are queued (slack-outbox) from any process; the worker role sends them.
  const slack = config.SLACK_BOT_TOKEN
    ? createSlackNotifications(
        {
          config,
          redis,
          prefix,
          metrics,
          logger: logger.child({ component: 'slack' }),
        },
        // Several connections: approval messages and DMs say which one an app, API or token belongs to.
        { severalConnections: connections.all.length > 1 },
      )
    : undefined;
  if (slack) notifiers.push(slack.notifier);
  const notifier = new CompositeNotifier(notifiers);
  const guarded =
    config.PROTECTED_USERS.length > 0 || config.PROTECTED_GROUPS.length > 0
      ? protectedUsers(idp, config.PROTECTED_USERS, config.PROTECTED_GROUPS, config.SLACK_APPROVER_USERS)
      : undefined;
  const intake = new RevocationService({
    store,
    queues,
    workflows,
    idp,
    audit,
    notifier,
    metrics,
    logger,
    redis,
    refusals,
    requestLimit: { perMinute: config.REQUESTS_PER_MINUTE, prefix },
    connections,
    ...(guarded ? { protectedUsers: guarded } : {}),
    ...(config.slackIdpUserMap ? { slackIdpUserMap: config.slackIdpUserMap } : {}),
    hrReplayWindowMs: config.HR_REPLAY_WINDOW_SECONDS * 1000,
  });
  const leaked = new LeakedTokenService({
    idp,
    audit,
    workflows,
    logger: logger.child({ component: 'leaked' }),
  });
  return {
    config,
    logger,
    metrics,
    redis,
    idp,
    budget,
    connections,
    ...(idaas ? { idaas } : {}),
    ...(slack ? { slack } : {}),
    ...(membership ? { membership } : {}),
    audit,
    refusals,
    workflows,
    ...(guarded ? { protectedUsers: guarded } : {}),
    store,
    queues,
    notifiers,
    notifier,
    intake,
    leaked,
    async close() {
      await refusals.close();
      await slack?.close();
      await queues.close();
      await idaas?.close();
      redis.disconnect();
    },
  };
}

/**
 * PROTECTED_USERS matched against an IdP user's id, email or user name (lower-cased list), and
 * PROTECTED_GROUPS against their groups; an IdP that reports no groups counts as a match (safe side).
 */
function protectedUsers(
  idp: IdentityProvider,
  list: readonly string[],
  groups: readonly string[],
  approvers: readonly string[],
) {
  return {
    approvers: [...approvers],
    async isProtected(userId: string): Promise<boolean> {
      if (list.includes(userId.toLowerCase())) return true;
      const u = await idp.getUser(userId);
      if ([u.email, u.userName].some((v) => v !== undefined && list.includes(v.toLowerCase()))) return true;
      return groups.length > 0 && (u.groups === undefined || u.groups.some((g) => groups.includes(g)));
    },
  };
}
