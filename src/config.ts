import { isIP } from 'node:net';
import { z } from 'zod';
import { type HrConfig, loadHrConfig } from './config/hr-settings.ts';
import { loadSlackIdpUserMap } from './config/slack-idp-user-map.ts';
import { canonicalTimeZone, type HrClocks, type OffboardingAt, parseOffboardingAt } from './domain/dates.ts';
import { ConfigError } from './domain/errors.ts';
import { type GtrAppConfig, loadGtrApps } from './identity/gtr/gtr-apps-config.ts';
import { loadOAuthClients, type OAuthClient } from './identity/oauth-clients.ts';
import { IDP_KINDS, type IdpKind } from './identity/rate-limits.ts';
import { parseDuration } from './workflows/duration.ts';

/** An IANA time zone name (`America/Los_Angeles`), canonicalised; default UTC. */
const timeZone = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v.trim() === '') return 'UTC';
    const zone = canonicalTimeZone(v);
    if (zone) return zone;
    ctx.addIssue({
      code: 'custom',
      message: `not an IANA time zone name: ${v.slice(0, 64)} (e.g. Europe/Paris)`,
    });
    return z.NEVER;
  });

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
/** A comma-separated list, items trimmed, empties dropped. */
const commaList = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
const idList = commaList.pipe(
  z.array(z.string().regex(/^[USW][A-Z0-9]+$/, 'must be Slack user (U…/W…) or user-group (S…) ids')),
);
/** A TRUST_PROXY value: a hop count, or addresses / CIDRs (and proxy-addr's named ranges). */
function isTrustProxy(value: string): boolean {
  if (/^\d{1,2}$/.test(value)) return true;
  return value.split(',').every((raw) => {
    const item = raw.trim();
    if (['loopback', 'linklocal', 'uniquelocal'].includes(item)) return true;
    const [addr, bits, ...rest] = item.split('/');
    const family = isIP(addr ?? '');
    if (family === 0 || rest.length > 0) return false;
    return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
  });
}

/** TRUST_PROXY as Express's `trust proxy` setting: a hop count, or the list of trusted proxies. */
export function trustProxySetting(value: string | undefined): number | string[] | false {
  if (value === undefined) return false;
  if (/^\d{1,2}$/.test(value)) return Number(value);
  return value.split(',').map((s) => s.trim());
}

/** `true`/`false`/`1`/`0`, default false. */
const flag = z
  .enum(['true', 'false', '1', '0'])
  .default('false')
  .transform((v) => v === 'true' || v === '1');

/** Every environment variable Revoker reads (DESIGN §4), with its default. */
export const EnvSchema = z.object({
  NODE_ENV: optionalString,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  REDIS_URL: url('redis://127.0.0.1:6379'),
  /** Sentinel mode: `host:port,host:port,…`; the master's address comes from them (REDIS_URL keeps password, db, TLS). */
  REDIS_SENTINELS: commaList.pipe(
    z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port[,host:port…]')),
  ),
  /** The master's name in Sentinel (`sentinel monitor <name> …`); required with REDIS_SENTINELS. */
  REDIS_SENTINEL_NAME: optionalString,
  REDIS_SENTINEL_PASSWORD: optionalString,
  /** Talk TLS to the sentinels too (the data nodes use TLS when REDIS_URL is `rediss://`). */
  REDIS_SENTINEL_TLS: flag,
  /** PEM file of the CA that signed the Redis (and sentinels') TLS certificates. */
  REDIS_TLS_CA: optionalString,
  /** Replicas that must hold a write before anyone outside is told it succeeded (Redis `WAIT`). */
  REDIS_MIN_REPLICAS_ACK: z.coerce.number().int().min(0).max(16).default(0),
  /** How long a write may wait for those replicas before the caller is answered 503. */
  REDIS_WAIT_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  /** Prefix of every Redis key Revoker writes (BullMQ queues, audit, requests). */
  REVOKER_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('revoker'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Loopback by default: listening on every interface is a choice (`HOST=0.0.0.0` in a container). */
  HOST: z.string().default('127.0.0.1'),

  SLACK_SIGNING_SECRET: optionalString,
  SLACK_BOT_TOKEN: optionalString,
  SLACK_APP_TOKEN: optionalString,
  SLACK_API_URL: url('https://slack.com/api/'),
  SLACK_APPROVALS_CHANNEL: optionalString,
  SLACK_ADMIN_USERS: idList,
  SLACK_APPROVER_USERS: idList,
  SLACK_NOTIFY_CHANNEL: optionalString,
  /** JSON object (or a file holding it): Slack user id → IdP user id, see src/config/slack-idp-user-map.ts. */
  SLACK_IDP_USER_MAP: optionalString,

  /**
   * The identity systems to revoke in, comma-separated (`idaas`, `okta,google`): one connection each, with
   * its own variables, budget and queue. Default `idaas`. Two of one kind: CONNECTIONS_FILE instead.
   */
  IDP: commaList.pipe(
    z
      .array(z.enum(IDP_KINDS))
      .transform((list) => (list.length === 0 ? (['idaas'] as IdpKind[]) : list))
      .refine((list) => new Set(list).size === list.length, {
        message: 'names a kind twice: two connections of one kind are named in CONNECTIONS_FILE',
      }),
  ),
  /**
   * YAML file naming every connection (id, kind, its variables, its limit): for two of one kind (two Okta
   * orgs). When set, it replaces IDP (src/connections/connection-specs.ts).
   */
  CONNECTIONS_FILE: optionalString,
  IDAAS_URL: optionalUrl(),
  IDAAS_ADMIN_TOKEN: optionalString,
  IDAAS_PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  IDAAS_STORE: z.enum(['memory', 'redis']).default('memory'),
  IDAAS_SEED: optionalString,
  /**
   * With IDAAS_STORE=redis: the IDaaS signing and cookie keys are stored encrypted under a key derived
   * from this (at least 32 characters). Default: unset (stored unencrypted, with a start-up warning).
   */
  IDAAS_KEYS_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /**
   * IdP calls per second for every process together (one budget in Redis); default: the adapter's
   * documented quota (src/identity/rate-limits.ts).
   */
  IDP_RATE_LIMIT: z.coerce.number().positive().optional(),
  /** Per-kind budgets when IDP names several (calls/s); IDP_RATE_LIMIT is the default of a single one. */
  IDAAS_RATE_LIMIT: z.coerce.number().positive().optional(),
  OKTA_RATE_LIMIT: z.coerce.number().positive().optional(),
  ENTRA_RATE_LIMIT: z.coerce.number().positive().optional(),
  GOOGLE_RATE_LIMIT: z.coerce.number().positive().optional(),
  AUTH0_RATE_LIMIT: z.coerce.number().positive().optional(),
  KEYCLOAK_RATE_LIMIT: z.coerce.number().positive().optional(),
  OAUTH_RATE_LIMIT: z.coerce.number().positive().optional(),
  /** How long one IdP call may take before it counts as failed (transient: retried). */
  IDP_TIMEOUT_MS: z.coerce.number().int().min(50).max(120_000).default(10_000),
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
  /** Okta API service app (OAuth 2.0, private_key_jwt), Okta's recommended alternative to an API token. */
  OKTA_CLIENT_ID: optionalString,
  /** Its private key: PKCS#8 PEM or a JWK as JSON. */
  OKTA_PRIVATE_KEY: optionalString,
  /** The `kid` of that key as registered in Okta (optional for a single key). */
  OKTA_KEY_ID: optionalString,
  ENTRA_TENANT_ID: optionalString,
  ENTRA_CLIENT_ID: optionalString,
  ENTRA_CLIENT_SECRET: optionalString,
  /** PEM file with the app registration's certificate and private key (instead of a client secret). */
  ENTRA_CLIENT_CERTIFICATE_PATH: optionalString,
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
  /** JSON array (or a file holding it) of `{client_id, client_secret}`: see src/identity/oauth-clients.ts. */
  OAUTH_CLIENTS: optionalString,

  ADMIN_USER: optionalString,
  ADMIN_PASSWORD: optionalString,
  /** Let the dashboard retry / remove jobs (read-only by default). */
  ADMIN_DASHBOARD_WRITE: flag,
  SCIM_TOKEN: optionalString,
  /** When set, `GET /metrics` answers only `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise); unset = open. */
  METRICS_TOKEN: optionalString,
  /**
   * Reverse proxies in front of the web role: a hop count (`1`) or a comma list of proxy addresses / CIDRs
   * (`10.0.0.0/8,192.168.1.5`, or `loopback`, `linklocal`, `uniquelocal`). The client address (dashboard
   * lockout, access log) is then read from `X-Forwarded-For`; unset = the TCP peer, no header trusted.
   */
  TRUST_PROXY: optionalString.pipe(
    z.string().refine(isTrustProxy, 'must be a hop count or a comma list of IP addresses / CIDRs').optional(),
  ),
  /** Bearer for POST /global-token-revocation (Global Token Revocation received); unset: not served. */
  GTR_TOKEN: optionalString,
  /** JSON array (or a file holding it) of apps that accept Global Token Revocation: src/identity/gtr/gtr-apps-config.ts. */
  GTR_APPS: optionalString,
  /** New Slack requests one requester may make per minute (approval fatigue); 0 = no limit. */
  REQUESTS_PER_MINUTE: z.coerce.number().int().min(0).default(10),
  /**
   * Break-glass users (emails, user names or IdP ids): HR and SCIM never revoke them without an
   * approval from SLACK_APPROVER_USERS.
   */
  PROTECTED_USERS: commaList.transform((list) => list.map((s) => s.toLowerCase())),
  /** IdP groups whose members are protected like PROTECTED_USERS (e.g. `break-glass`). */
  PROTECTED_GROUPS: commaList,
  /** Audit entries older than this are archived to AUDIT_ARCHIVE_DIR, then trimmed; 0 = keep all in Redis. */
  AUDIT_RETENTION_DAYS: z.coerce.number().min(0).default(0),
  AUDIT_ARCHIVE_DIR: z.string().default('./audit-archive'),
  /**
   * A finished request's record (archived to AUDIT_ARCHIVE_DIR) leaves Redis this many days after it ended;
   * its working sets leave within a minute of its end, whatever this says.
   */
  REQUEST_RETENTION_DAYS: z.coerce.number().min(0).default(90),
  /**
   * `kid:secret[,kid:secret…]`: HMAC keys held outside Redis; the first signs every audit entry, all verify
   * (rotation: put the new key first, keep the old). Unset = entries are hash-chained but unsigned.
   */
  AUDIT_HMAC_KEY: optionalString,
  /** A file on another volume where the chain head is anchored too (besides AUDIT_ARCHIVE_DIR/anchors.<prefix>.jsonl). */
  AUDIT_ANCHOR_FILE: optionalString,
  /**
   * HR vendors that sign no timestamp (Gusto, HiBob, Deel): the event time in the signed body must be
   * within this many seconds of now; the dedupe marker outlives it.
   */
  HR_REPLAY_WINDOW_SECONDS: z.coerce.number().int().min(60).default(86_400),
  /** The company's clock: date-only HR terminations and zone-less vendor times are read in it (IANA name). */
  HR_TIME_ZONE: timeZone,
  /** When on the last day worked access ends: `end-of-day` (default), `start-of-day` or a local `HH:MM`. */
  OFFBOARDING_AT: z
    .string()
    .optional()
    .transform((v, ctx): OffboardingAt => {
      const at = parseOffboardingAt(v?.trim() || 'end-of-day');
      if (at) return at;
      ctx.addIssue({ code: 'custom', message: 'must be end-of-day, start-of-day or a local time HH:MM' });
      return z.NEVER;
    }),
  /** `revoker report` flags an offboarding whose effective time → verified took longer (default 1h). */
  OFFBOARDING_SLA: z
    .string()
    .optional()
    .transform((v, ctx) => {
      try {
        const ms = parseDuration(v?.trim() || '1h');
        if (ms > 0) return ms;
      } catch {}
      ctx.addIssue({ code: 'custom', message: 'must be a duration such as 1h, 30m or 4h' });
      return z.NEVER;
    }),
  /** The embedded IDaaS's admin API on its own port (0 = a free one); unset = on IDAAS_PORT. */
  IDAAS_ADMIN_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  WORKFLOWS_DIR: z.string().default('./workflows'),
});
export type Env = z.infer<typeof EnvSchema>;

export interface Config extends Omit<Env, 'IDP'> {
  /** The first (for one connection, the only) kind IDP names: what single-IdP code paths use. */
  IDP: IdpKind;
  /** Every kind IDP names, in order (one connection each unless CONNECTIONS_FILE names them). */
  idpKinds: IdpKind[];
  /** HR_<SOURCE>_SECRET, keyed by lower-case source name. */
  hrSecrets: Record<string, string>;
  /** HR_<SOURCE>_DOMAINS: the email domains each listed source may offboard (lower-case). */
  hrDomains: Record<string, string[]>;
  /** HR_<SOURCE>_GROUPS: the IdP groups each listed source may offboard. */
  hrGroups: Record<string, string[]>;
  /** HR vendor API access (`BAMBOOHR_API_URL`, `HIBOB_API_*`, `GUSTO_API_*`, `DEEL_API_*`), from the same environment. */
  hr: HrConfig;
  /** HR_TIME_ZONE + OFFBOARDING_AT, and HR_<SOURCE>_TIME_ZONE per lower-case source. */
  hrClocks: HrClocks;
  /** OAUTH_CLIENTS (or OAUTH_CLIENT_ID/_SECRET as one entry): the leaked-token path's client credentials. */
  oauthClients: OAuthClient[];
  /** GTR_APPS, validated: apps Revoker sends Global Token Revocation to. */
  gtrApps: GtrAppConfig[];
  /** SLACK_IDP_USER_MAP, validated (Slack user id → IdP user id); absent or empty: none. */
  slackIdpUserMap?: ReadonlyMap<string, string>;
}

/** Which variables each IdP needs, checked only when that IdP is chosen. */
const IDP_REQUIRED: Record<IdpKind, (keyof Env)[]> = {
  idaas: [],
  // Plus a credential each, checked below: an API token or a service app; a client secret or a certificate.
  okta: ['OKTA_ORG_URL'],
  entra: ['ENTRA_TENANT_ID', 'ENTRA_CLIENT_ID'],
  google: ['GOOGLE_SERVICE_ACCOUNT_JSON', 'GOOGLE_ADMIN_SUBJECT'],
  auth0: ['AUTH0_DOMAIN', 'AUTH0_CLIENT_ID', 'AUTH0_CLIENT_SECRET'],
  keycloak: ['KEYCLOAK_URL', 'KEYCLOAK_REALM', 'KEYCLOAK_CLIENT_ID', 'KEYCLOAK_CLIENT_SECRET'],
  oauth: ['OAUTH_ISSUER'],
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
  const { IDP: idpKinds, ...rest } = parsed.data;
  // A connections file names each connection's variables itself (checked per connection when it is read).
  const checked: IdpKind[] = rest.CONNECTIONS_FILE ? [] : idpKinds;
  const cfg = { ...rest, IDP: idpKinds[0]!, idpKinds };
  for (const kind of checked) {
    for (const variable of IDP_REQUIRED[kind]) {
      if (cfg[variable] === undefined) throw new ConfigError(variable, `is required when IDP=${kind}`);
    }
  }
  const has = (kind: IdpKind) => checked.includes(kind);
  if (has('okta') && !cfg.OKTA_API_TOKEN && !(cfg.OKTA_CLIENT_ID && cfg.OKTA_PRIVATE_KEY)) {
    throw new ConfigError(
      cfg.OKTA_CLIENT_ID ? 'OKTA_PRIVATE_KEY' : 'OKTA_API_TOKEN',
      'is required when IDP=okta (or OKTA_CLIENT_ID with OKTA_PRIVATE_KEY for an OAuth service app)',
    );
  }
  if (has('entra') && !cfg.ENTRA_CLIENT_SECRET && !cfg.ENTRA_CLIENT_CERTIFICATE_PATH) {
    throw new ConfigError(
      'ENTRA_CLIENT_SECRET',
      'is required when IDP=entra (or ENTRA_CLIENT_CERTIFICATE_PATH)',
    );
  }
  if (cfg.REDIS_SENTINELS.length > 0 && !cfg.REDIS_SENTINEL_NAME) {
    throw new ConfigError('REDIS_SENTINEL_NAME', 'is required when REDIS_SENTINELS is set');
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
  const hrDomains: Record<string, string[]> = {};
  const hrGroups: Record<string, string[]> = {};
  const hrZones: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    const tz = /^HR_([A-Z0-9_]+)_TIME_ZONE$/.exec(key);
    if (tz && value?.trim()) {
      const zone = timeZone.safeParse(value);
      if (!zone.success) throw new ConfigError(key, zone.error.issues[0]!.message);
      hrZones[tz[1]!.toLowerCase()] = zone.data;
    }
    const m = /^HR_([A-Z0-9_]+)_SECRET$/.exec(key);
    if (m && value) hrSecrets[m[1]!.toLowerCase()] = value;
    const d = /^HR_([A-Z0-9_]+)_DOMAINS$/.exec(key);
    if (d && value?.trim())
      hrDomains[d[1]!.toLowerCase()] = commaList.parse(value.toLowerCase()).map((s) => s.replace(/^@/, ''));
    const g = /^HR_([A-Z0-9_]+)_GROUPS$/.exec(key);
    if (g && value?.trim()) hrGroups[g[1]!.toLowerCase()] = commaList.parse(value);
  }
  if (hrSecrets.standard && !hrSecrets.standard.startsWith('whsec_')) {
    throw new ConfigError('HR_STANDARD_SECRET', 'must be a Standard Webhooks secret (whsec_…)');
  }
  const oauthClients = loadOAuthClients(cfg);
  if (has('oauth') && oauthClients.length === 0) {
    throw new ConfigError(
      'OAUTH_CLIENTS',
      'is required when IDP=oauth (or OAUTH_CLIENT_ID with OAUTH_CLIENT_SECRET)',
    );
  }
  const hrClocks: HrClocks = {
    default: { timeZone: cfg.HR_TIME_ZONE, offboardingAt: cfg.OFFBOARDING_AT },
    bySource: hrZones,
  };
  if (cfg.GTR_TOKEN !== undefined && cfg.GTR_TOKEN.length < 16) {
    throw new ConfigError('GTR_TOKEN', 'must be at least 16 characters (a random secret)');
  }
  const gtrApps = loadGtrApps(cfg);
  const slackIdpUserMap = loadSlackIdpUserMap(cfg);
  return {
    ...cfg,
    hrSecrets,
    hrDomains,
    hrGroups,
    hr: loadHrConfig(env),
    hrClocks,
    oauthClients,
    gtrApps,
    slackIdpUserMap,
  };
}
