import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every Prometheus metric Revoker exports, on one registry per process. Modules import the metric they
 * update; `/metrics` serialises `metrics.registry`. Labels are bounded sets (never ids or emails).
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'revoker_process_' });
  return {
    registry,
    /** Requests accepted by the intake, by source (slack|hr|scim|cli) and scope. */
    requests: new Counter({
      name: 'revoker_requests_total',
      help: 'Revocation requests accepted by the intake',
      labelNames: ['source', 'scope'] as const,
      registers: [registry],
    }),
    /** Requests refused (forbidden, bad input), by source and reason code. */
    rejections: new Counter({
      name: 'revoker_rejections_total',
      help: 'Requests or deliveries refused',
      labelNames: ['source', 'reason'] as const,
      registers: [registry],
    }),
    /** Final outcomes of requests: verified | unverifiable | failed | denied | expired | cancelled. */
    outcomes: new Counter({
      name: 'revoker_request_outcomes_total',
      help: 'Requests reaching a terminal state',
      labelNames: ['outcome', 'scope'] as const,
      registers: [registry],
    }),
    /** Tokens revoked (audited once each). */
    tokensRevoked: new Counter({
      name: 'revoker_tokens_revoked_total',
      help: 'Tokens revoked',
      registers: [registry],
    }),
    /** IdP calls by operation and outcome: ok | rate_limited | transient | permanent. */
    idpCalls: new Counter({
      name: 'revoker_idp_calls_total',
      help: 'Calls to the identity provider',
      labelNames: ['idp', 'operation', 'outcome'] as const,
      registers: [registry],
    }),
    /** Time a job spent from enqueue to completion, per queue. */
    jobLatency: new Histogram({
      name: 'revoker_job_latency_seconds',
      help: 'Enqueue-to-completion latency of jobs',
      labelNames: ['queue'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    /** Jobs by queue and state, refreshed on scrape. */
    queueDepth: new Gauge({
      name: 'revoker_queue_depth',
      help: 'Jobs per queue and state',
      labelNames: ['queue', 'state'] as const,
      registers: [registry],
    }),
    /** HTTP requests by route group (slack|hr|scim|health|metrics|admin) and status class. */
    http: new Histogram({
      name: 'revoker_http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['route', 'status'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3],
      registers: [registry],
    }),
    /**
     * Slack messages Slack refused for good (invalid_blocks, not_in_channel, channel_not_found, …), by
     * Web API method and Slack's error code: each one is a message nobody saw.
     */
    slackRefusals: new Counter({
      name: 'revoker_slack_refusals_total',
      help: 'Slack Web API calls refused permanently (message not delivered)',
      labelNames: ['method', 'error'] as const,
      registers: [registry],
    }),
    /** Webhook deliveries by source and outcome: accepted | duplicate | rejected. */
    webhooks: new Counter({
      name: 'revoker_webhook_deliveries_total',
      help: 'HR and SCIM deliveries',
      labelNames: ['source', 'outcome'] as const,
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
