import type { Worker } from 'bullmq';
import { anchorPaths, startAuditAnchoring } from './audit/audit-anchor.ts';
import { AuditKeys } from './audit/audit-keys.ts';
import { startAuditRetention } from './audit/audit-retention.ts';
import { trustProxySetting } from './config.ts';
import { createGlobalTokenRevocationRouter } from './gtr/global-token-revocation-router.ts';
import { RedisHandshakeStore } from './hr/handshake-store.ts';
import { dedupeTtlSeconds } from './hr/hr-event-queue.ts';
import { createHrEventQueue, createHrRouter, type HrEventQueue, startHrEventWorker } from './hr/index.ts';
import { createHttpApp, type HttpMount, type RunningHttpServer, startHttpServer } from './http/index.ts';
import { RequestRetention } from './intake/request-retention.ts';
import { PipelineWorkers } from './queue/pipeline-workers.ts';
import { StartRights } from './queue/start-rights.ts';
import { offboardingSummarySource } from './report/report-summary-source.ts';
import type { Runtime } from './runtime.ts';
import { createScimRouter } from './scim/index.ts';
import { workflowAccess } from './slack/access.ts';
import { createSlackApp, interactiveConnections } from './slack/index.ts';

export type Role = 'all' | 'web' | 'worker';

export interface ServiceOptions {
  role: Role;
  /** HTTP port; default `config.PORT` (0 = a free one). */
  port?: number;
  /** Lock on active jobs; lower in tests so a killed worker's jobs come back sooner. Default 30,000 ms. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}

export interface RunningService {
  http?: RunningHttpServer;
  workers?: PipelineWorkers;
  hrQueue: HrEventQueue;
  /** Graceful stop: HTTP first (no new work), then workers (finish or release jobs), then connections. */
  close(graceMs?: number): Promise<void>;
}

/**
 * `revoker serve`: the web role (Slack, HR webhooks, SCIM, health, metrics, dashboard) and/or the worker
 * role (pipeline workers, HR event worker, Slack outbox), on one runtime.
 */
export async function startService(rt: Runtime, options: ServiceOptions): Promise<RunningService> {
  const { config, logger } = rt;
  const prefix = config.REVOKER_PREFIX;
  const hrQueue = createHrEventQueue({
    connection: rt.redis,
    prefix,
    dedupeTtlSeconds: dedupeTtlSeconds(config.HR_REPLAY_WINDOW_SECONDS * 1000),
  });
  hrQueue.on('error', (err) => logger.warn({ err: err.message }, 'hr queue: redis connection error'));
  const closers: Array<(graceMs: number) => Promise<void>> = [];
  let http: RunningHttpServer | undefined;
  let workers: PipelineWorkers | undefined;

  if (options.role !== 'web') {
    workers = new PipelineWorkers({
      connection: rt.redis,
      prefix,
      store: rt.store,
      queues: rt.queues,
      idp: rt.idp,
      connections: rt.connections,
      audit: rt.audit,
      notifier: rt.notifier,
      metrics: rt.metrics,
      logger,
      concurrency: config.WORKER_CONCURRENCY,
      lockDurationMs: options.lockDurationMs ?? config.WORKER_LOCK_MS,
      stalledIntervalMs: options.stalledIntervalMs ?? config.WORKER_STALLED_INTERVAL_MS,
      refusals: rt.refusals,
      rights: new StartRights({
        workflows: rt.workflows,
        protectedUsers: rt.protectedUsers,
        store: rt.store,
        audit: rt.audit,
        notifier: rt.notifier,
        metrics: rt.metrics,
        logger,
      }),
    });
    await workers.start();
    const hrWorker: Worker = startHrEventWorker({
      connection: rt.redis,
      prefix,
      idp: rt.idp,
      intake: rt.intake,
      audit: rt.audit,
      notifier: rt.notifier,
      redis: rt.redis,
      hrConfig: config.hr,
      domains: config.hrDomains,
      groups: config.hrGroups,
      clocks: config.hrClocks,
      logger,
      // Each HR event makes one IdP call (the e-mail look-up) that waits for the shared budget.
      concurrency: config.WORKER_CONCURRENCY,
    });
    rt.slack?.startWorker();
    const retention =
      config.AUDIT_RETENTION_DAYS > 0
        ? startAuditRetention({
            audit: rt.audit,
            days: config.AUDIT_RETENTION_DAYS,
            dir: config.AUDIT_ARCHIVE_DIR,
            logger,
          })
        : undefined;
    // The chain head, anchored outside Redis every minute it moved (AUDIT_ARCHIVE_DIR, AUDIT_ANCHOR_FILE).
    const anchoring = startAuditAnchoring({
      head: () => rt.audit.head(),
      paths: anchorPaths(config.AUDIT_ARCHIVE_DIR, prefix, config.AUDIT_ANCHOR_FILE),
      keys: AuditKeys.parse(config.AUDIT_HMAC_KEY),
      logger,
    });
    // Finished requests: working sets out of Redis at once, records after REQUEST_RETENTION_DAYS.
    const requestRetention = new RequestRetention({
      redis: rt.redis,
      prefix,
      days: config.REQUEST_RETENTION_DAYS,
      dir: config.AUDIT_ARCHIVE_DIR,
      logger,
    }).start();
    const w = workers;
    closers.push(async (grace) => {
      requestRetention.stop();
      anchoring.stop();
      retention?.stop();
      await Promise.all([w.close(grace), hrWorker.close()]);
    });
  }

  if (options.role !== 'worker') {
    const mounts: HttpMount[] = [
      {
        path: '/webhooks/hr',
        group: 'hr',
        handler: createHrRouter({
          secrets: config.hrSecrets,
          queue: hrQueue,
          audit: rt.audit,
          refusals: rt.refusals,
          replayWindowMs: config.HR_REPLAY_WINDOW_SECONDS * 1000,
          clocks: config.hrClocks,
          handshakes: new RedisHandshakeStore(rt.redis, prefix, config.hr.HR_CREDENTIALS_KEY),
          metrics: rt.metrics,
          logger,
        }),
      },
    ];
    // People wait on Slack's IdP calls (options search, confirmations): the budget's reserved share.
    const interactiveIdp = rt.idp.interactive();
    const slackDeps = {
      config,
      intake: rt.intake,
      idp: interactiveIdp,
      // Several connections: the dialog asks which one an app, API or token belongs to; same lane per connection.
      connections: interactiveConnections(rt.connections),
      redis: rt.redis,
      prefix,
      logger: logger.child({ component: 'slack' }),
      metrics: rt.metrics,
      // Deny by default: requesters per workflow; admins and approvers (people or user groups) see
      // HR/SCIM offboardings and may call off a scheduled one.
      access: workflowAccess({
        workflows: rt.workflows,
        staff: [...config.SLACK_ADMIN_USERS, ...config.SLACK_APPROVER_USERS],
        ...(rt.membership ? { membership: rt.membership } : {}),
        ...(config.SLACK_APPROVALS_CHANNEL ? { askChannel: config.SLACK_APPROVALS_CHANNEL } : {}),
      }),
      refusals: rt.refusals,
      audit: rt.audit,
      leaked: rt.leaked,
      reportSummary: offboardingSummarySource({
        audit: rt.audit,
        slaMs: config.OFFBOARDING_SLA,
        archiveDir: config.AUDIT_ARCHIVE_DIR,
      }),
    };
    if (config.SLACK_SIGNING_SECRET || config.SLACK_APP_TOKEN) {
      const slack = createSlackApp(slackDeps);
      if (slack.start) await slack.start();
      else mounts.unshift({ path: '/slack/events', group: 'slack', handler: slack.handler });
      closers.push(() => slack.stop());
    }
    if (config.SCIM_TOKEN) {
      mounts.push({
        path: '/scim/v2',
        group: 'scim',
        handler: createScimRouter({
          token: config.SCIM_TOKEN,
          idp: rt.idp,
          intake: rt.intake,
          audit: rt.audit,
          refusals: rt.refusals,
          redis: rt.redis,
          prefix,
          metrics: rt.metrics,
          logger,
        }),
      });
    }
    // Global Token Revocation received (draft-parecki-oauth-global-token-revocation-06): only with GTR_TOKEN.
    if (config.GTR_TOKEN) {
      mounts.push({
        path: '/global-token-revocation',
        group: 'gtr',
        handler: createGlobalTokenRevocationRouter({
          token: config.GTR_TOKEN,
          idp: rt.idp,
          intake: rt.intake,
          refusals: rt.refusals,
          metrics: rt.metrics,
          logger: logger.child({ component: 'gtr' }),
        }),
      });
    }
    // Health probes: a small share of the budget of their own, behind revocations (never the interactive one).
    const probeIdp = rt.idp.probing();
    const app = createHttpApp({
      logger,
      metrics: rt.metrics,
      mounts,
      // One background refresh per 10 s at most: with IDP=idaas and two OAuth clients that is ~4 IdP calls,
      // 4 % of IDP_RATE_LIMIT=10 (the probe lane's own 5 % share is the hard cap).
      readinessRefreshMs: 10_000,
      readiness: {
        redis: async () => {
          await rt.redis.ping();
        },
        // The per-client credential probe, in the background refresh only, on the budget's probe lane.
        idp: () => probeIdp.ping(),
      },
      queueDepth: [...rt.queues.all, hrQueue],
      refusals: rt.refusals,
      trustProxy: trustProxySetting(config.TRUST_PROXY),
      ...(config.METRICS_TOKEN ? { metricsToken: config.METRICS_TOKEN } : {}),
      ...(config.ADMIN_USER && config.ADMIN_PASSWORD
        ? {
            dashboard: {
              queues: [...rt.queues.all, hrQueue],
              user: config.ADMIN_USER,
              password: config.ADMIN_PASSWORD,
              readOnly: !config.ADMIN_DASHBOARD_WRITE,
              refusals: rt.refusals,
              lockout: { redis: rt.redis, prefix },
            },
            adminReport: {
              audit: rt.audit,
              slaMs: config.OFFBOARDING_SLA,
              archiveDir: config.AUDIT_ARCHIVE_DIR,
              timeZone: config.HR_TIME_ZONE,
            },
          }
        : {}),
    });
    http = await startHttpServer(app, { port: options.port ?? config.PORT, host: config.HOST });
    const h = http;
    closers.unshift(() => h.close());
    logger.info({ url: http.url, role: options.role }, 'revoker listening');
    // The IdP's start-up probe: an adapter that finds a scope unsupported on this plan declares it now, so
    // Slack stops offering it before anyone asks (readiness repeats the probe).
    rt.idp.ping().then(
      () =>
        logger.info(
          {
            idp: rt.idp.name,
            // A list, not the `scopes` object: its `token` key would meet the `*.token` redaction.
            revocableScopes: Object.entries(rt.idp.capabilities.scopes)
              .filter(([, on]) => on)
              .map(([scope]) => scope),
            revokesByValue: rt.idp.tokenValues !== undefined,
          },
          'IdP reachable',
        ),
      (err: unknown) => logger.warn({ idp: rt.idp.name, err }, 'IdP not reachable at start-up'),
    );
  }

  return {
    ...(http ? { http } : {}),
    ...(workers ? { workers } : {}),
    hrQueue,
    async close(graceMs = config.WORKER_SHUTDOWN_GRACE_MS) {
      for (const close of closers) await close(graceMs);
      await hrQueue.close();
    },
  };
}
