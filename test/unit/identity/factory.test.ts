import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { ConfigError } from '../../../src/domain/errors.ts';
import { createIdentityProvider } from '../../../src/identity/factory.ts';

describe('createIdentityProvider', () => {
  it('picks the adapter named by IDP', () => {
    const cases: [Record<string, string>, string][] = [
      [{ IDAAS_URL: 'http://127.0.0.1:4000', IDAAS_ADMIN_TOKEN: 'a' }, 'idaas'],
      [{ IDP: 'okta', OKTA_ORG_URL: 'https://acme.okta.com', OKTA_API_TOKEN: 't' }, 'okta'],
      [{ IDP: 'entra', ENTRA_TENANT_ID: 't', ENTRA_CLIENT_ID: 'c', ENTRA_CLIENT_SECRET: 's' }, 'entra'],
      [
        {
          IDP: 'entra',
          ENTRA_TENANT_ID: 't',
          ENTRA_CLIENT_ID: 'c',
          ENTRA_CLIENT_CERTIFICATE_PATH: '/tmp/app.pem',
        },
        'entra',
      ],
      [
        {
          IDP: 'okta',
          OKTA_ORG_URL: 'https://acme.okta.com',
          OKTA_CLIENT_ID: '0oa1',
          OKTA_PRIVATE_KEY: '{}',
        },
        'okta',
      ],
      [
        {
          IDP: 'google',
          GOOGLE_SERVICE_ACCOUNT_JSON: JSON.stringify({ client_email: 'a@b', private_key: 'k' }),
          GOOGLE_ADMIN_SUBJECT: 'admin@acme.com',
        },
        'google',
      ],
      [
        { IDP: 'auth0', AUTH0_DOMAIN: 'acme.auth0.com', AUTH0_CLIENT_ID: 'c', AUTH0_CLIENT_SECRET: 's' },
        'auth0',
      ],
      [
        {
          IDP: 'keycloak',
          KEYCLOAK_URL: 'https://sso',
          KEYCLOAK_REALM: 'r',
          KEYCLOAK_CLIENT_ID: 'c',
          KEYCLOAK_CLIENT_SECRET: 's',
        },
        'keycloak',
      ],
      [{ IDP: 'oauth', OAUTH_ISSUER: 'https://as', OAUTH_CLIENT_ID: 'c', OAUTH_CLIENT_SECRET: 's' }, 'oauth'],
    ];
    for (const [env, name] of cases) expect(createIdentityProvider(loadConfig(env)).name).toBe(name);
  });

  it('uses the in-process IDaaS override, and needs one when IDAAS_URL is unset', () => {
    const cfg = loadConfig({});
    expect(
      createIdentityProvider(cfg, { idaas: { baseUrl: 'http://127.0.0.1:1', adminToken: 'x' } }).name,
    ).toBe('idaas');
    expect(() => createIdentityProvider(cfg)).toThrow(ConfigError);
  });

  it('reports a malformed Google key as a config error without echoing it', () => {
    const cfg = loadConfig({
      IDP: 'google',
      GOOGLE_SERVICE_ACCOUNT_JSON: '{"private_key": "SECRET',
      GOOGLE_ADMIN_SUBJECT: 'a',
    });
    const err = (() => {
      try {
        createIdentityProvider(cfg);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe('GOOGLE_SERVICE_ACCOUNT_JSON');
    expect((err as Error).message).not.toContain('SECRET');
  });
});
