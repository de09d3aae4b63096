import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { type Config, loadConfig } from '../config.ts';
import { ConfigError } from '../domain/errors.ts';
import { DEFAULT_IDP_RATE_LIMITS, IDP_KINDS, type IdpKind } from '../identity/rate-limits.ts';
import { type EnvMap, expandRefs } from '../workflows/env-refs.ts';
import { CONNECTION_ID } from './connection.ts';

/** What one connection is built from: its id, kind, the settings its adapter reads, and its limit. */
export interface ConnectionSpec {
  id: string;
  kind: IdpKind;
  /** The settings of this connection alone (`IDP` is its kind): what `createIdentityProvider` reads. */
  config: Config;
  /** Its own budget, calls per second for every process together. */
  ratePerSecond: number;
}

/**
 * CONNECTIONS_FILE, in the workflows' style (YAML, validated, `${VAR}` references to the environment so
 * secrets stay out of the file):
 *
 *   connections:
 *     - id: okta-us
 *       kind: okta
 *       rate_limit: 10          # calls/s; default OKTA_RATE_LIMIT, else Okta's documented quota
 *       env:
 *         OKTA_ORG_URL: https://us.okta.com
 *         OKTA_API_TOKEN: ${OKTA_US_API_TOKEN}
 */
const ConnectionsFileSchema = z
  .object({
    connections: z
      .array(
        z
          .object({
            id: z.string().regex(CONNECTION_ID, 'lower case letters, digits and -, starting with a letter'),
            kind: z.enum(IDP_KINDS),
            rate_limit: z.number().positive().optional(),
            env: z
              .record(
                z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'an environment variable name'),
                z.union([z.string(), z.number(), z.boolean()]).transform(String),
              )
              .default({}),
          })
          .strict(),
      )
      .min(1, 'names no connection'),
  })
  .strict();

/** Variables a connection's `env` may not set: they are the process's, not a connection's. */
const NOT_PER_CONNECTION = new Set(['IDP', 'CONNECTIONS_FILE', 'REDIS_URL', 'REVOKER_PREFIX']);

/**
 * The connections `config` names: one per kind in IDP (id = the kind), or each of CONNECTIONS_FILE's. A
 * connection's limit is its own (`rate_limit` in the file, else `<KIND>_RATE_LIMIT`), else IDP_RATE_LIMIT
 * when it is the only connection, else the kind's documented quota (src/identity/rate-limits.ts).
 */
export function connectionSpecs(config: Config, env: EnvMap = process.env): ConnectionSpec[] {
  if (!config.CONNECTIONS_FILE) {
    const single = config.idpKinds.length === 1;
    return config.idpKinds.map((kind) => {
      const own: Config = { ...config, IDP: kind, idpKinds: [kind] };
      return { id: kind, kind, config: own, ratePerSecond: rateOf(own, kind, single) };
    });
  }
  if (env.IDP?.trim()) {
    throw new ConfigError('IDP', 'set IDP or CONNECTIONS_FILE, not both (the file names every connection)');
  }
  return readConnectionsFile(config.CONNECTIONS_FILE, env);
}

function readConnectionsFile(file: string, env: EnvMap): ConnectionSpec[] {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError('CONNECTIONS_FILE', `cannot read ${file}: ${(err as Error).message}`);
  }
  const parsed = ConnectionsFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError('CONNECTIONS_FILE', `${file}: ${issue.path.join('.') || 'file'}: ${issue.message}`);
  }
  const list = parsed.data.connections;
  const single = list.length === 1;
  const seen = new Set<string>();
  return list.map((c) => {
    if (seen.has(c.id)) throw new ConfigError('CONNECTIONS_FILE', `${file}: connection id "${c.id}" twice`);
    seen.add(c.id);
    const own: Record<string, string | undefined> = { ...env, IDP: c.kind, CONNECTIONS_FILE: '' };
    for (const [name, value] of Object.entries(c.env)) {
      if (NOT_PER_CONNECTION.has(name))
        throw new ConfigError(
          'CONNECTIONS_FILE',
          `${file}: connection ${c.id}: ${name} is not per connection`,
        );
      own[name] = expandRefs(value, env).text;
    }
    let config: Config;
    try {
      config = loadConfig(own);
    } catch (err) {
      // The variable and why, never its value.
      throw new ConfigError('CONNECTIONS_FILE', `${file}: connection ${c.id}: ${(err as Error).message}`);
    }
    return {
      id: c.id,
      kind: c.kind,
      config: { ...config, CONNECTIONS_FILE: file },
      ratePerSecond: c.rate_limit ?? rateOf(config, c.kind, single),
    };
  });
}

function rateOf(config: Config, kind: IdpKind, single: boolean): number {
  const own = config[`${kind.toUpperCase()}_RATE_LIMIT` as `${Uppercase<IdpKind>}_RATE_LIMIT`];
  return own ?? (single ? config.IDP_RATE_LIMIT : undefined) ?? DEFAULT_IDP_RATE_LIMITS[kind].perSecond;
}
