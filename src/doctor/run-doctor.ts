import type { Config } from '../config.ts';
import { createIdentityProvider } from '../identity/factory.ts';
import { type Check, pass } from './check.ts';
import {
  checkContradictions,
  checkGtr,
  checkHr,
  checkScim,
  checkWorkflows,
  notifyChannels,
  summarize,
} from './config-checks.ts';
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
  const idpChecks =
    config.IDP === 'idaas' && !config.IDAAS_URL
      ? [pass('idp', 'embedded IDaaS: runs inside `revoker serve` (nothing to probe from here)')]
      : await checkIdp(
          createIdentityProvider(config),
          config.IDP === 'idaas' ? `IDaaS at ${config.IDAAS_URL}` : config.IDP,
        );
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
