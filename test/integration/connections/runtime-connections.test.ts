import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { silentLogger } from '../../../src/log.ts';
import { createRuntime, type Runtime } from '../../../src/runtime.ts';
import { connectRedis, deleteKeys, REDIS_URL, randomPrefix } from '../../helpers/redis.ts';
import { REPO_WORKFLOWS_DIR } from '../../helpers/worker-process.ts';

let rt: Runtime | undefined;
afterEach(async () => {
  const prefix = rt?.config.REVOKER_PREFIX;
  await rt?.close();
  rt = undefined;
  if (prefix) {
    const redis = connectRedis();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  }
});

const okta = { OKTA_ORG_URL: 'https://acme.okta.com', OKTA_API_TOKEN: 'okta-token' };

async function runtime(env: Record<string, string>): Promise<Runtime> {
  const full = { REDIS_URL, REVOKER_PREFIX: randomPrefix('conn'), WORKFLOWS_DIR: REPO_WORKFLOWS_DIR, ...env };
  rt = await createRuntime(loadConfig(full), { embedIdaas: false, logger: silentLogger, env: full });
  return rt;
}

/** The budget's Redis key, by a pause written through it (the key is the budget's own business). */
async function budgetKeys(r: Runtime): Promise<string[]> {
  for (const c of r.connections.all) await c.budget?.pause(60_000);
  return (await r.redis.keys(`${r.config.REVOKER_PREFIX}:idp:budget*`)).sort();
}

describe('connections in the runtime (issue 22)', () => {
  it('IDP=idaas keeps the single-IdP names: one connection, `idp-calls`, `{prefix}:idp:budget`', async () => {
    const r = await runtime({ IDP: 'idaas' });
    expect(r.connections.ids).toEqual(['idaas']);
    expect(r.queues.all.map((q) => q.name)).toEqual([
      'revocations',
      'revocations-people',
      'idp-calls',
      'dead-letters',
    ]);
    expect(await budgetKeys(r)).toEqual([`${r.config.REVOKER_PREFIX}:idp:budget`]);
  });

  it('IDP=idaas,okta: the second has its own queue and budget key', async () => {
    const r = await runtime({ IDP: 'idaas,okta', ...okta });
    expect(r.connections.ids).toEqual(['idaas', 'okta']);
    expect(r.connections.all.map((c) => [c.id, c.kind, c.suffix])).toEqual([
      ['idaas', 'idaas', ''],
      ['okta', 'okta', '.okta'],
    ]);
    expect(r.queues.all.map((q) => q.name)).toEqual([
      'revocations',
      'revocations.okta',
      'revocations-people',
      'idp-calls',
      'idp-calls.okta',
      'dead-letters',
    ]);
    const p = r.config.REVOKER_PREFIX;
    expect(await budgetKeys(r)).toEqual([`${p}:idp:budget`, `${p}:idp:budget.okta`]);
  });
});
