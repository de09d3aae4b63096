export { accessLog, statusClass } from './access-log.ts';
export { type BasicAuthOptions, basicAuth, parseBasicAuth } from './basic-auth.ts';
export { rawBody } from './body.ts';
export { type DashboardOptions, DEFAULT_DASHBOARD_PATH, dashboardRouter } from './dashboard.ts';
export { errorHandler, type JsonErrorBody, jsonError, notFound } from './errors.ts';
export {
  type CheckStatus,
  type HealthOptions,
  healthRouter,
  type ReadinessBody,
  type ReadinessCheck,
} from './health.ts';
export { isSecretKey, MASK, maskSecrets, maskString, scrubStrings } from './mask.ts';
export { type MetricsEndpointOptions, metricsRouter } from './metrics-endpoint.ts';
export { isSafeRequestId, REQUEST_ID_HEADER, requestContext, requestLog, routeGroup } from './request-id.ts';
export {
  createHttpApp,
  type HttpAppOptions,
  type HttpMount,
  type RunningHttpServer,
  type StartOptions,
  startHttpServer,
} from './server.ts';
