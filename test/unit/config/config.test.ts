import { describe, expect, it } from 'vitest';
import { loadConfig, trustProxySetting } from '../../../src/config.ts';
import { ConfigError, ErrorCode } from '../../../src/domain/errors.ts';
import { CLI_TIMEOUT_MS, runRevoker } from '../../helpers/cli.ts';

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('starts with nothing configured, on the documented defaults', () => {
    const cfg = loadConfig({});
    expect(cfg).toMatchObject({
      REDIS_URL: 'redis://127.0.0.1:6379',
      PORT: 3000,
      IDP: 'idaas',
      WORKFLOWS_DIR: './workflows',
      SLACK_ADMIN_USERS: [],
      ADMIN_DASHBOARD_WRITE: false,
    });
    expect(cfg.IDAAS_URL).toBeUndefined();
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ REDIS_URL: 'not a url' }, 'REDIS_URL'],
    [{ IDP: 'ldap' }, 'IDP'],
    [{ SLACK_ADMIN_USERS: 'U123,alice' }, 'SLACK_ADMIN_USERS'],
    [{ IDP: 'okta' }, 'OKTA_ORG_URL'],
    [{ IDP: 'entra', ENTRA_TENANT_ID: 't', ENTRA_CLIENT_ID: 'c' }, 'ENTRA_CLIENT_SECRET'],
    [{ IDP: 'okta', OKTA_ORG_URL: 'https://acme.okta.com' }, 'OKTA_API_TOKEN'],
    [{ IDP: 'okta', OKTA_ORG_URL: 'https://acme.okta.com', OKTA_CLIENT_ID: '0oa1' }, 'OKTA_PRIVATE_KEY'],
    [{ IDAAS_URL: 'http://127.0.0.1:4000' }, 'IDAAS_ADMIN_TOKEN'],
    [{ SLACK_APP_TOKEN: 'xoxb-wrong-kind' }, 'SLACK_APP_TOKEN'],
    [{ ADMIN_USER: 'ops' }, 'ADMIN_PASSWORD'],
    [{ HR_STANDARD_SECRET: 'plain-secret' }, 'HR_STANDARD_SECRET'],
  ])('%o is refused naming %s', (env, variable) => {
    const err = configError(env);
    expect(err.code).toBe(ErrorCode.ConfigError);
    expect(err.variable).toBe(variable);
    expect(err.message.startsWith(`${variable}: `)).toBe(true);
  });

  it('collects HR_<SOURCE>_SECRET per source', () => {
    const cfg = loadConfig({ HR_STANDARD_SECRET: 'whsec_c2VjcmV0', HR_HIBOB_SECRET: 'h' });
    expect(cfg.hrSecrets).toEqual({ standard: 'whsec_c2VjcmV0', hibob: 'h' });
  });

  it('a bad variable stops `revoker serve` with one line naming it, exit 2, no stack trace', {
    timeout: CLI_TIMEOUT_MS,
  }, async () => {
    const run = await runRevoker(['serve'], { PORT: 'abc' });
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^revoker: PORT: /);
  });
});

describe('TRUST_PROXY', () => {
  it('takes a hop count or a list of addresses / CIDRs, and refuses anything else', () => {
    expect(trustProxySetting(loadConfig({ TRUST_PROXY: '1' }).TRUST_PROXY)).toBe(1);
    expect(
      trustProxySetting(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.5,loopback' }).TRUST_PROXY),
    ).toEqual(['10.0.0.0/8', '192.168.1.5', 'loopback']);
    expect(trustProxySetting(loadConfig({}).TRUST_PROXY)).toBe(false);
    expect(configError({ TRUST_PROXY: 'everyone' }).message).toContain('TRUST_PROXY');
    expect(configError({ TRUST_PROXY: '10.0.0.0/33' }).message).toContain('TRUST_PROXY');
  });
});
