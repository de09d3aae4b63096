import type { Config } from '../config.ts';
import { HR_SOURCES } from '../hr/registry.ts';
import { loadWorkflows } from '../workflows/loader.ts';
import type { Workflow } from '../workflows/workflow.ts';
import { WorkflowFileError } from '../workflows/workflow-file-error.ts';
import { type Check, fail, pass } from './check.ts';

/** Settings that make an HR source "configured" besides its secret: vendor API access. */
const HR_API_SETTINGS: Record<string, (c: Config) => boolean> = {
  bamboohr: (c) => Boolean(c.hr.BAMBOOHR_API_KEY || c.hr.BAMBOOHR_API_URL),
  hibob: (c) => Boolean(c.hr.HIBOB_API_USER || c.hr.HIBOB_API_TOKEN),
  gusto: (c) => Boolean(c.hr.GUSTO_API_TOKEN),
  deel: (c) => Boolean(c.hr.DEEL_API_TOKEN),
};

/**
 * Settings that contradict each other: `revoker serve` refuses to start on the first one (one line), and
 * the doctor reports them. Each is a configuration no one would choose on purpose.
 */
export function findContradiction(config: Config): { variable: string; message: string } | undefined {
  const slackIn = config.SLACK_SIGNING_SECRET
    ? 'SLACK_SIGNING_SECRET'
    : config.SLACK_APP_TOKEN
      ? 'SLACK_APP_TOKEN'
      : undefined;
  if (slackIn && !config.SLACK_BOT_TOKEN)
    return {
      variable: 'SLACK_BOT_TOKEN',
      message: `is required with ${slackIn}: Revoker could hear Slack but not answer it`,
    };
  for (const v of ['SLACK_APPROVALS_CHANNEL', 'SLACK_NOTIFY_CHANNEL'] as const) {
    if (config[v] && !config.SLACK_BOT_TOKEN)
      return {
        variable: 'SLACK_BOT_TOKEN',
        message: `is required with ${v}: nothing can be posted there without it`,
      };
  }
  if (config.REDIS_SENTINEL_TLS && config.REDIS_SENTINELS.length === 0)
    return { variable: 'REDIS_SENTINEL_TLS', message: 'is set but REDIS_SENTINELS is not' };
  if (config.IDAAS_STORE === 'redis' && config.IDAAS_URL)
    return {
      variable: 'IDAAS_STORE',
      message: 'applies to the in-process IDaaS, but IDAAS_URL points at another one',
    };
  if (config.ADMIN_DASHBOARD_WRITE && !config.ADMIN_USER)
    return {
      variable: 'ADMIN_DASHBOARD_WRITE',
      message: 'is set but the dashboard is off (ADMIN_USER / ADMIN_PASSWORD unset)',
    };
  // Any IDaaS connection in the list reads them (a connections file names its own per connection).
  if (
    !config.CONNECTIONS_FILE &&
    !config.idpKinds.includes('idaas') &&
    (config.IDAAS_URL || config.IDAAS_ADMIN_TOKEN)
  )
    return {
      variable: 'IDP',
      message: `is ${config.idpKinds.join(',')}, yet IDAAS_URL / IDAAS_ADMIN_TOKEN are set: which IdP is meant?`,
    };
  return undefined;
}

/** Each HR source with settings has a secret (without one its webhooks are refused), and no secret names an unknown source. */
export function checkHr(config: Config, env: NodeJS.ProcessEnv): Check[] {
  const checks: Check[] = [];
  const enabled = Object.keys(HR_SOURCES).filter((s) => config.hrSecrets[s]);
  for (const source of Object.keys(HR_SOURCES)) {
    const variable = `HR_${source.toUpperCase()}_SECRET`;
    const blank = variable in env && !config.hrSecrets[source];
    const apiSet = HR_API_SETTINGS[source]?.(config) ?? false;
    if (config.hrSecrets[source])
      checks.push(pass('hr', `${source}: webhook secret set (POST /webhooks/hr/${source})`));
    else if (blank || apiSet)
      checks.push(
        fail(
          'hr',
          `${source}: ${blank ? `${variable} is set but empty` : `API access is configured but ${variable} is not`}: its webhook deliveries are refused (404)`,
          `set ${variable} to the signing secret from ${source}'s webhook settings`,
        ),
      );
  }
  for (const key of Object.keys(config.hrSecrets)) {
    if (!(key in HR_SOURCES))
      checks.push(
        fail(
          'hr',
          `HR_${key.toUpperCase()}_SECRET names no HR source`,
          `use one of ${Object.keys(HR_SOURCES).join(', ')}`,
        ),
      );
  }
  if (checks.length === 0 && enabled.length === 0)
    checks.push(pass('hr', 'no HR source enabled (no HR_<SOURCE>_SECRET)'));
  return checks;
}

export interface WorkflowCheck {
  checks: Check[];
  workflows: Workflow[];
}

export async function checkWorkflows(config: Config, env: NodeJS.ProcessEnv): Promise<WorkflowCheck> {
  try {
    const workflows = await loadWorkflows(config.WORKFLOWS_DIR, env);
    const checks = [
      pass(
        'workflows',
        `${workflows.length} valid in ${config.WORKFLOWS_DIR}: ${workflows.map((w) => w.name).join(', ')}`,
      ),
    ];
    // A warning matters where the workflow can be reached: Slack on, an HR source, SCIM, or the CLI.
    const reachable = (w: Workflow) => w.match.sources.some((src) => sourceEnabled(config, src));
    for (const w of workflows)
      for (const warning of w.warnings)
        checks.push(
          reachable(w)
            ? fail('workflows', `${w.name}: ${warning}`, `edit ${w.file} or set the variable it names`)
            : pass('workflows', `${w.name}: unused here (${w.match.sources.join(', ')} off), so: ${warning}`),
        );
    return { checks, workflows };
  } catch (err) {
    if (!(err instanceof WorkflowFileError)) throw err;
    return {
      checks: [
        fail(
          'workflows',
          `${err.issues.length} problem(s): ${err.issues.join('; ')}`,
          'fix the files (`revoker workflows validate` lists them)',
        ),
      ],
      workflows: [],
    };
  }
}

function sourceEnabled(config: Config, source: Workflow['match']['sources'][number]): boolean {
  switch (source) {
    case 'slack':
      return Boolean(config.SLACK_SIGNING_SECRET || config.SLACK_APP_TOKEN);
    case 'hr':
      return Object.keys(config.hrSecrets).length > 0;
    case 'scim':
      return Boolean(config.SCIM_TOKEN);
    case 'gtr':
      return Boolean(config.GTR_TOKEN);
    default:
      return true;
  }
}

/** Channels named in workflow `notify` steps, after `${VAR}` expansion (empty ones are skipped). */
export function notifyChannels(workflows: readonly Workflow[]): string[] {
  const out = new Set<string>();
  for (const w of workflows)
    for (const s of w.steps) if ('notify' in s && s.notify.channel.trim()) out.add(s.notify.channel.trim());
  return [...out];
}

export function checkScim(config: Config): Check[] {
  if (!config.SCIM_TOKEN) return [pass('scim', 'off (SCIM_TOKEN unset): /scim/v2 is not served')];
  return config.SCIM_TOKEN.length >= 24
    ? [pass('scim', 'SCIM_TOKEN set: /scim/v2 served')]
    : [
        fail(
          'scim',
          `SCIM_TOKEN is ${config.SCIM_TOKEN.length} characters: guessable`,
          'use a random token of 32+ characters (openssl rand -hex 32)',
        ),
      ];
}

/** Global Token Revocation: received at /global-token-revocation (GTR_TOKEN), sent to GTR_APPS. */
export function checkGtr(config: Config): Check[] {
  const received = !config.GTR_TOKEN
    ? pass('gtr', 'off (GTR_TOKEN unset): /global-token-revocation is not served')
    : config.GTR_TOKEN.length >= 24
      ? pass('gtr', 'GTR_TOKEN set: /global-token-revocation served')
      : fail(
          'gtr',
          `GTR_TOKEN is ${config.GTR_TOKEN.length} characters: guessable`,
          'use a random token of 32+ characters (openssl rand -hex 32)',
        );
  const apps = config.gtrApps.map((a) => a.name);
  return [
    received,
    pass('gtr', apps.length > 0 ? `GTR_APPS: ${apps.join(', ')}` : 'GTR_APPS unset: no apps to send to'),
  ];
}

export function checkContradictions(config: Config): Check[] {
  const c = findContradiction(config);
  return c
    ? [fail('config', `${c.variable} ${c.message}`, `set or unset ${c.variable} so the settings agree`)]
    : [pass('config', 'settings agree')];
}

/** What `revoker serve` runs with, in one record (logged at start, printed by the doctor). */
export function summarize(config: Config, workflows: readonly Workflow[]) {
  return {
    // Several connections: each named (README "Several identity systems"); one keeps its old words.
    idp: config.CONNECTIONS_FILE
      ? `connections of ${config.CONNECTIONS_FILE}`
      : config.idpKinds.length > 1
        ? config.idpKinds.join(', ')
        : config.IDP === 'idaas'
          ? config.IDAAS_URL
            ? `idaas at ${config.IDAAS_URL}`
            : 'idaas (in-process)'
          : config.IDP,
    slack: config.SLACK_APP_TOKEN
      ? 'socket mode'
      : config.SLACK_SIGNING_SECRET
        ? 'http'
        : config.SLACK_BOT_TOKEN
          ? 'notifications only'
          : 'off',
    hrSources: Object.keys(config.hrSecrets).sort(),
    scim: Boolean(config.SCIM_TOKEN),
    workflows: workflows.map((w) => w.name),
    redis:
      config.REDIS_SENTINELS.length > 0
        ? `sentinel ${config.REDIS_SENTINEL_NAME}`
        : new URL(config.REDIS_URL).protocol === 'rediss:'
          ? 'tls'
          : 'single',
    replicasAck: config.REDIS_MIN_REPLICAS_ACK,
  };
}
