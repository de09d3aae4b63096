import type { Config } from '../config.ts';
import { type ConnectionSpec, connectionSpecs } from '../connections/connection-specs.ts';
import { createIdentityProvider } from '../identity/factory.ts';
import { type Check, fail, pass } from './check.ts';
import {
  checkContradictions,
  checkGtr,
  checkHr,
  checkScim,
  checkWorkflows,
  notifyChannels,
  summarize,
} from './config-checks.ts';
import { checkGtrAppConnections } from './gtr-app-checks.ts';
import { checkIdp } from './idp-checks.ts';
import { checkRedis } from './redis-checks.ts';
import { checkSlack } from './slack-checks.ts';

export interface DoctorReport {
  summary: ReturnType<typeof summarize>;
  checks: Check[];
  ok: boolean;
}

/** Every check of `revoker doctor`, in the order a person fixes things: config, Redis, IdP, Slack, HR, SCIM. */
export async function runDoctor(config: Config, env: NodeJS.ProcessEnv = process.env): Promise<DoctorReport> {
  const { checks: workflowChecks, workflows } = await checkWorkflows(config, env);
  const idpChecks = await checkConnections(config, env);
  const checks = [
    ...checkContradictions(config),
    ...(await checkRedis(config)),
    ...idpChecks,
    ...(await checkSlack(config, notifyChannels(workflows))),
    ...checkHr(config, env),
    ...workflowChecks,
    ...checkScim(config),
    ...checkGtr(config),
  ];
  return { summary: summarize(config, workflows), checks, ok: checks.every((c) => c.ok) };
}

/** Every connection (IDP's list or CONNECTIONS_FILE's, then GTR_APPS's), each probed with its own settings. */
async function checkConnections(config: Config, env: NodeJS.ProcessEnv): Promise<Check[]> {
  let specs: ConnectionSpec[];
  try {
    specs = connectionSpecs(config, env);
  } catch (err) {
    return [fail('idp', (err as Error).message, 'fix the connection settings named above')];
  }
  const out: Check[] = [];
  const several = specs.length + config.gtrApps.length > 1;
  for (const spec of specs) {
    const c = spec.config;
    const what = c.IDP === 'idaas' ? `IDaaS at ${c.IDAAS_URL}` : c.IDP;
    // One connection keeps the names it always had; several name each connection.
    const label = several ? `connection ${spec.id} (${what}, ${spec.ratePerSecond}/s)` : what;
    if (c.IDP === 'idaas' && !c.IDAAS_URL) {
      const embedded = 'embedded IDaaS: runs inside `revoker serve` (nothing to probe from here)';
      out.push(pass('idp', several ? `connection ${spec.id}: ${embedded}` : embedded));
      continue;
    }
    out.push(...(await checkIdp(createIdentityProvider(c), label)));
  }
  out.push(...(await checkGtrAppConnections(config, specs)));
  return out;
}
