import type { Worker } from 'bullmq';
import { createHrEventQueue, createHrRouter, type HrEventQueue, startHrEventWorker } from './hr/index.ts';
import { createHttpApp, type HttpMount, type RunningHttpServer, startHttpServer } from './http/index.ts';
import { PipelineWorkers } from './queue/pipeline-workers.ts';
import type { Runtime } from './runtime.ts';
import { createScimRouter } from './scim/index.ts';
import { createSlackApp } from './slack/index.ts';

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
  const hrQueue = createHrEventQueue({ connection: rt.redis, prefix });
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
      audit: rt.audit,
      notifier: rt.notifier,
      metrics: rt.metrics,
      logger,
      concurrency: config.WORKER_CONCURRENCY,
      lockDurationMs: options.lockDurationMs ?? config.WORKER_LOCK_MS,
      stalledIntervalMs: options.stalledIntervalMs ?? config.WORKER_STALLED_INTERVAL_MS,
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
      logger,
      // Each HR event makes one IdP call (the e-mail look-up) that waits for the shared budget.
      concurrency: config.WORKER_CONCURRENCY,
    });
    rt.slack?.startWorker();
    const w = workers;
    closers.push(async (grace) => {
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
      redis: rt.redis,
      prefix,
      logger: logger.child({ component: 'slack' }),
      metrics: rt.metrics,
      // Admins and approvers, people or user groups, may call off a scheduled offboarding.
      mayCancel: async (userId: string) => {
        const principals = [...config.SLACK_ADMIN_USERS, ...config.SLACK_APPROVER_USERS];
        return principals.includes(userId) || ((await rt.membership?.(userId, principals)) ?? false);
      },
      audit: rt.audit,
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
          redis: rt.redis,
          prefix,
          metrics: rt.metrics,
          logger,
        }),
      });
    }
    const app = createHttpApp({
      logger,
      metrics: rt.metrics,
      mounts,
      readiness: {
        redis: async () => {
          await rt.redis.ping();
        },
        idp: () => interactiveIdp.ping(),
      },
      queueDepth: [...rt.queues.all, hrQueue],
      ...(config.ADMIN_USER && config.ADMIN_PASSWORD
        ? {
            dashboard: {
              queues: [...rt.queues.all, hrQueue],
              user: config.ADMIN_USER,
              password: config.ADMIN_PASSWORD,
              readOnly: !config.ADMIN_DASHBOARD_WRITE,
            },
          }
        : {}),
    });
    http = await startHttpServer(app, { port: options.port ?? config.PORT, host: config.HOST });
    const h = http;
    closers.unshift(() => h.close());
    logger.info({ url: http.url, role: options.role }, 'revoker listening');
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
