import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Queue } from 'bullmq';
import express, { type RequestHandler, type Router } from 'express';
import type { RefusalRecorder } from '../audit/refusal-log.ts';
import { type Logger, silentLogger } from '../log.ts';
import { createMetrics, type Metrics } from '../metrics.ts';
import { accessLog } from './access-log.ts';
import { ADMIN_REPORT_PATH, type AdminReportOptions, adminReportRouter } from './admin-report.ts';
import { type DashboardOptions, DEFAULT_DASHBOARD_PATH, dashboardRouter } from './dashboard.ts';
import { errorHandler, notFound } from './errors.ts';
import { healthRouter, type ReadinessCheck } from './health.ts';
import { metricsRouter } from './metrics-endpoint.ts';
import { requestContext, routeGroup } from './request-id.ts';

export interface HttpMount {
  /** Path prefix, e.g. `/slack/events`, `/webhooks/hr`, `/scim/v2`. */
  path: string;
  /** The router; it owns its body parsing (there is no global body parser). */
  handler: Router | RequestHandler;
  /** Route-group label for metrics and the access log (`slack`, `hr`, `scim`, …): a small fixed set. */
  group: string;
}

export interface HttpAppOptions {
  /** Root logger; each request logs through a child carrying its request id. Default: silent. */
  logger?: Logger;
  /** Metrics registry served at `/metrics`. Default: a fresh `createMetrics()`. */
  metrics?: Metrics;
  /** Routers mounted in order after the operational routes. Default: none. */
  mounts?: HttpMount[];
  /** Named readiness checks for `/readyz` (e.g. redis, idp). Default: none (always ready). */
  readiness?: Record<string, ReadinessCheck>;
  /** Time each readiness check may take. Default 2000 ms. */
  readinessTimeoutMs?: number;
  /** How old `/readyz`'s cached result may get before a request starts a background refresh. Default 5000 ms. */
  readinessRefreshMs?: number;
  /** Queue dashboard at `/admin/queues`; without it that path is a plain 404. Default: not mounted. */
  dashboard?: DashboardOptions;
  /** The offboarding report at `/admin/report`, behind the dashboard's auth; needs `dashboard`. Default: not mounted. */
  adminReport?: AdminReportOptions;
  /** Queues whose job counts feed `revoker_queue_depth` on each scrape. Default: none. */
  queueDepth?: Queue[];
  /** METRICS_TOKEN: `/metrics` then needs `Authorization: Bearer <token>`. Default: open. */
  metricsToken?: string;
  /** TRUST_PROXY as Express's `trust proxy` (hop count or proxy list). Default false: the TCP peer. */
  trustProxy?: number | string[] | false;
  /** Where refusals (a wrong metrics token) are counted per minute. Default: not counted. */
  refusals?: RefusalRecorder;
}

/** `app.locals` key that `startHttpServer` sets while draining, so `/readyz` turns 503. */
const DRAINING = 'revokerDraining';

/**
 * The service's express app: request ids and access logs, `/healthz`, `/readyz`, `/metrics`, the
 * optional dashboard, then each mount in order, a JSON 404 and a JSON error handler. No global body
 * parser, so raw-body routes can verify signatures over the exact bytes.
 */
export function createHttpApp(options: HttpAppOptions = {}): express.Express {
  const logger = options.logger ?? silentLogger;
  const metrics = options.metrics ?? createMetrics();
  const app = express();
  app.disable('x-powered-by');
  // Only proxies we were told about may name the client (X-Forwarded-For); `req.ip` is the peer otherwise.
  app.set('trust proxy', options.trustProxy ?? false);
  app.locals[DRAINING] = false;

  app.use(requestContext(logger), accessLog(metrics, logger));
  app.use(['/healthz', '/readyz'], routeGroup('health'));
  app.use(
    healthRouter({
      logger,
      readiness: options.readiness,
      readinessTimeoutMs: options.readinessTimeoutMs,
      readinessRefreshMs: options.readinessRefreshMs,
      isDraining: () => app.locals[DRAINING] === true,
    }),
  );
  app.use('/metrics', routeGroup('metrics'));
  app.use(
    metricsRouter({
      metrics,
      queueDepth: options.queueDepth,
      logger,
      ...(options.metricsToken ? { token: options.metricsToken } : {}),
      ...(options.refusals ? { refusals: options.refusals } : {}),
    }),
  );
  if (options.dashboard) {
    const path = options.dashboard.basePath ?? DEFAULT_DASHBOARD_PATH;
    app.use(path, routeGroup('admin'), dashboardRouter({ ...options.dashboard, basePath: path }));
    if (options.adminReport) {
      app.use(
        ADMIN_REPORT_PATH,
        routeGroup('admin'),
        adminReportRouter({ ...options.adminReport, ...options.dashboard }),
      );
    }
  }
  for (const mount of options.mounts ?? []) {
    app.use(mount.path, routeGroup(mount.group), mount.handler);
  }
  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}

export interface StartOptions {
  /** Port to listen on; 0 picks a free one (see the returned `port`). */
  port: number;
  /** Interface to bind. Default `127.0.0.1` (every interface only when asked: `0.0.0.0`). */
  host?: string;
  /** How long `close()` lets in-flight requests finish before cutting their connections. Default 10000 ms. */
  shutdownTimeoutMs?: number;
  /** Idle keep-alive timeout; above a load balancer's own idle timeout avoids 502s. Default 65000 ms. */
  keepAliveTimeoutMs?: number;
}

export interface RunningHttpServer {
  /** `http://host:port`, with a wildcard bind shown as 127.0.0.1. */
  url: string;
  port: number;
  server: http.Server;
  /**
   * Graceful stop: refuses new connections, marks `/readyz` unready, closes idle keep-alive sockets,
   * lets in-flight requests finish (answering them with `Connection: close`), and after the
   * shutdown timeout cuts whatever is left. Idempotent.
   */
  close(): Promise<void>;
}

export async function startHttpServer(
  app: express.Express,
  options: StartOptions,
): Promise<RunningHttpServer> {
  const host = options.host ?? '127.0.0.1';
  let draining = false;
  const inFlight = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
    // Requests arriving on a kept-alive socket during shutdown are served, then their socket closes.
    if (draining) res.shouldKeepAlive = false;
    app(req, res);
  });
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 65_000;
  // Must exceed keepAliveTimeout, or Node can time out a request that reused an idle socket.
  server.headersTimeout = server.keepAliveTimeout + 1000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost =
    host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      draining = true;
      app.locals[DRAINING] = true;
      for (const res of inFlight) res.shouldKeepAlive = false;
      const timer = setTimeout(() => server.closeAllConnections(), options.shutdownTimeoutMs ?? 10_000);
      timer.unref();
      server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      server.closeIdleConnections();
    });
    return closing;
  };

  return { url: `http://${shownHost}:${port}`, port, server, close };
}
