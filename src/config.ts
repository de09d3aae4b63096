import { z } from 'zod';
import { ConfigError } from './domain/errors.ts';
import { type HrConfig, loadHrConfig } from './hr/hr-config.ts';

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));
/** A URL with a default (always a string after parsing). */
const url = (fallback: string) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? fallback : v.trim()))
    .pipe(z.url());
/** A URL that may be absent. */
const optionalUrl = () =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()))
    .pipe(z.url().optional());
const idList = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().regex(/^[USW][A-Z0-9]+$/, 'must be Slack user (U…/W…) or user-group (S…) ids')));

/** Every environment variable Revoker reads (DESIGN §4), with its default. */
export const EnvSchema = z.object({
  NODE_ENV: optionalString,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  REDIS_URL: url('redis://127.0.0.1:6379'),
  /** Prefix of every Redis key Revoker writes (BullMQ queues, audit, requests). */
  REVOKER_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('revoker'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),

  SLACK_SIGNING_SECRET: optionalString,
  SLACK_BOT_TOKEN: optionalString,
  SLACK_APP_TOKEN: optionalString,
  SLACK_API_URL: url('https://slack.com/api/'),
  SLACK_APPROVALS_CHANNEL: optionalString,
  SLACK_ADMIN_USERS: idList,
  SLACK_APPROVER_USERS: idList,
  SLACK_NOTIFY_CHANNEL: optionalString,

  IDP: z.enum(['idaas', 'okta', 'entra', 'google', 'auth0', 'keycloak', 'oauth']).default('idaas'),
  IDAAS_URL: optionalUrl(),
  IDAAS_ADMIN_TOKEN: optionalString,
  IDAAS_PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  IDAAS_STORE: z.enum(['memory', 'redis']).default('memory'),
  IDAAS_SEED: optionalString,
  /**
   * IdP calls per second for every process together (one budget in Redis); default: the adapter's
   * documented quota (src/identity/rate-limits.ts).
   */
  IDP_RATE_LIMIT: z.coerce.number().positive().optional(),
  /** Share of IDP_RATE_LIMIT kept for calls a person waits on (Slack search, confirmation) while a batch runs. */
  IDP_INTERACTIVE_SHARE: z.coerce.number().min(0).max(0.9).default(0.2),
  WORKER_CONCURRENCY: z.coerce.number().int().positive().max(1000).default(10),
  /** Lock on an active job: after a worker dies, its jobs are taken over once this lapses. */
  WORKER_LOCK_MS: z.coerce.number().int().min(1000).default(30_000),
  /** How often workers look for stalled jobs (those of a dead worker). */
  WORKER_STALLED_INTERVAL_MS: z.coerce.number().int().min(500).default(30_000),
  /** SIGTERM: how long active jobs may run on before they are released to other workers. */
  WORKER_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),

  OKTA_ORG_URL: optionalUrl(),
  OKTA_API_TOKEN: optionalString,
  ENTRA_TENANT_ID: optionalString,
  ENTRA_CLIENT_ID: optionalString,
  ENTRA_CLIENT_SECRET: optionalString,
  ENTRA_GRAPH_URL: url('https://graph.microsoft.com/v1.0'),
  ENTRA_LOGIN_URL: url('https://login.microsoftonline.com'),
  GOOGLE_SERVICE_ACCOUNT_JSON: optionalString,
  GOOGLE_ADMIN_SUBJECT: optionalString,
  GOOGLE_ADMIN_URL: url('https://admin.googleapis.com'),
  GOOGLE_TOKEN_URL: url('https://oauth2.googleapis.com/token'),
  AUTH0_DOMAIN: optionalString,
  AUTH0_CLIENT_ID: optionalString,
  AUTH0_CLIENT_SECRET: optionalString,
  AUTH0_BASE_URL: optionalUrl(),
  KEYCLOAK_URL: optionalUrl(),
  KEYCLOAK_REALM: optionalString,
  KEYCLOAK_CLIENT_ID: optionalString,
  KEYCLOAK_CLIENT_SECRET: optionalString,
  OAUTH_ISSUER: optionalUrl(),
  OAUTH_CLIENT_ID: optionalString,
  OAUTH_CLIENT_SECRET: optionalString,

  ADMIN_USER: optionalString,
  ADMIN_PASSWORD: optionalString,
  /** Let the dashboard retry / remove jobs (read-only by default). */
  ADMIN_DASHBOARD_WRITE: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  SCIM_TOKEN: optionalString,
  WORKFLOWS_DIR: z.string().default('./workflows'),
});
export type Env = z.infer<typeof EnvSchema>;

export interface Config extends Env {
  /** HR_<SOURCE>_SECRET, keyed by lower-case source name. */
  hrSecrets: Record<string, string>;
  /** HR vendor API access (`BAMBOOHR_API_URL`, `HIBOB_API_*`, `GUSTO_API_*`, `DEEL_API_*`), from the same environment. */
  hr: HrConfig;
}

/** Which variables each IdP needs, checked only when that IdP is chosen. */
const IDP_REQUIRED: Record<Env['IDP'], (keyof Env)[]> = {
  idaas: [],
  okta: ['OKTA_ORG_URL', 'OKTA_API_TOKEN'],
  entra: ['ENTRA_TENANT_ID', 'ENTRA_CLIENT_ID', 'ENTRA_CLIENT_SECRET'],
  google: ['GOOGLE_SERVICE_ACCOUNT_JSON', 'GOOGLE_ADMIN_SUBJECT'],
  auth0: ['AUTH0_DOMAIN', 'AUTH0_CLIENT_ID', 'AUTH0_CLIENT_SECRET'],
  keycloak: ['KEYCLOAK_URL', 'KEYCLOAK_REALM', 'KEYCLOAK_CLIENT_ID', 'KEYCLOAK_CLIENT_SECRET'],
  oauth: ['OAUTH_ISSUER', 'OAUTH_CLIENT_ID', 'OAUTH_CLIENT_SECRET'],
};

/**
 * Reads and validates the environment. Throws one `ConfigError` naming the first bad variable,
 * so start-up stops with a single clear line.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    const index = issue.path.length > 1 ? ` (item ${String(issue.path[1])})` : '';
    throw new ConfigError(variable, `${issue.message}${index}`);
  }
  const cfg = parsed.data;
  for (const variable of IDP_REQUIRED[cfg.IDP]) {
    if (cfg[variable] === undefined) throw new ConfigError(variable, `is required when IDP=${cfg.IDP}`);
  }
  if (cfg.IDAAS_URL && !cfg.IDAAS_ADMIN_TOKEN) {
    throw new ConfigError('IDAAS_ADMIN_TOKEN', 'is required when IDAAS_URL is set');
  }
  if (cfg.SLACK_APP_TOKEN && !cfg.SLACK_APP_TOKEN.startsWith('xapp-')) {
    throw new ConfigError('SLACK_APP_TOKEN', 'must be an app-level token (xapp-…)');
  }
  if ((cfg.ADMIN_USER === undefined) !== (cfg.ADMIN_PASSWORD === undefined)) {
    throw new ConfigError(
      cfg.ADMIN_USER ? 'ADMIN_PASSWORD' : 'ADMIN_USER',
      'set ADMIN_USER and ADMIN_PASSWORD together',
    );
  }
  const hrSecrets: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    const m = /^HR_([A-Z0-9_]+)_SECRET$/.exec(key);
    if (m && value) hrSecrets[m[1]!.toLowerCase()] = value;
  }
  if (hrSecrets.standard && !hrSecrets.standard.startsWith('whsec_')) {
    throw new ConfigError('HR_STANDARD_SECRET', 'must be a Standard Webhooks secret (whsec_…)');
  }
  return { ...cfg, hrSecrets, hr: loadHrConfig(env) };
}
