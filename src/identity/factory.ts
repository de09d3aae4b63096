import type { Config } from '../config.ts';
import { ConfigError } from '../domain/errors.ts';
import { Auth0IdentityProvider } from './adapters/auth0.ts';
import { EntraIdentityProvider } from './adapters/entra.ts';
import { GoogleIdentityProvider } from './adapters/google.ts';
import { IdaasIdentityProvider } from './adapters/idaas.ts';
import { KeycloakIdentityProvider } from './adapters/keycloak.ts';
import { OAuthIdentityProvider } from './adapters/oauth.ts';
import { OktaIdentityProvider } from './adapters/okta.ts';
import type { OAuthClient } from './oauth-clients.ts';
import { OAuthTokenValues } from './oauth-token-values.ts';
import type { IdentityProvider } from './port.ts';

export interface IdentityProviderOverrides {
  /**
   * Where an in-process embedded IDaaS listens (when `IDAAS_URL` is unset, `serve` starts one), its
   * issuer, and its applications' credentials (the leaked-token path) when OAUTH_CLIENTS names none.
   */
  idaas?: { baseUrl: string; adminToken: string; issuer?: string; clients?: OAuthClient[] };
}

/** The adapter for `config.IDP`. `loadConfig` has already checked that IdP's required variables. */
export function createIdentityProvider(
  config: Config,
  overrides?: IdentityProviderOverrides,
): IdentityProvider {
  switch (config.IDP) {
    case 'idaas': {
      const target =
        overrides?.idaas ??
        (config.IDAAS_URL && config.IDAAS_ADMIN_TOKEN
          ? { baseUrl: config.IDAAS_URL, adminToken: config.IDAAS_ADMIN_TOKEN }
          : undefined);
      if (!target) {
        throw new ConfigError(
          'IDAAS_URL',
          'is required (with IDAAS_ADMIN_TOKEN) unless the IDaaS runs in-process',
        );
      }
      // The IDaaS is an RFC 7009/7662 server too: a leaked token is revoked there with its app's credentials.
      const clients =
        config.oauthClients.length > 0 ? config.oauthClients : (overrides?.idaas?.clients ?? []);
      const issuer = overrides?.idaas?.issuer ?? config.OAUTH_ISSUER ?? target.baseUrl.replace(/\/+$/, '');
      return new IdaasIdentityProvider({
        timeoutMs: config.IDP_TIMEOUT_MS,
        baseUrl: target.baseUrl,
        adminToken: target.adminToken,
        ...(clients.length > 0
          ? { tokenValues: new OAuthTokenValues({ issuer, clients, idpName: 'IDaaS' }) }
          : {}),
      });
    }
    case 'okta':
      return new OktaIdentityProvider({
        timeoutMs: config.IDP_TIMEOUT_MS,
        orgUrl: required(config, 'OKTA_ORG_URL'),
        // The OAuth service app wins when configured (Okta recommends it over API tokens).
        ...(config.OKTA_CLIENT_ID && config.OKTA_PRIVATE_KEY
          ? {
              oauth: {
                clientId: config.OKTA_CLIENT_ID,
                privateKey: config.OKTA_PRIVATE_KEY,
                ...(config.OKTA_KEY_ID ? { keyId: config.OKTA_KEY_ID } : {}),
              },
            }
          : { apiToken: required(config, 'OKTA_API_TOKEN') }),
      });
    case 'entra':
      return new EntraIdentityProvider({
        timeoutMs: config.IDP_TIMEOUT_MS,
        tenantId: required(config, 'ENTRA_TENANT_ID'),
        clientId: required(config, 'ENTRA_CLIENT_ID'),
        ...(config.ENTRA_CLIENT_CERTIFICATE_PATH
          ? { certificatePath: config.ENTRA_CLIENT_CERTIFICATE_PATH }
          : { clientSecret: required(config, 'ENTRA_CLIENT_SECRET') }),
        graphUrl: config.ENTRA_GRAPH_URL,
        loginUrl: config.ENTRA_LOGIN_URL,
      });
    case 'google':
      try {
        return new GoogleIdentityProvider({
          timeoutMs: config.IDP_TIMEOUT_MS,
          serviceAccount: required(config, 'GOOGLE_SERVICE_ACCOUNT_JSON'),
          subject: required(config, 'GOOGLE_ADMIN_SUBJECT'),
          adminUrl: config.GOOGLE_ADMIN_URL,
          tokenUrl: config.GOOGLE_TOKEN_URL,
        });
      } catch (err) {
        if (err instanceof ConfigError) throw err;
        // The key's own content is never echoed: the message names only what is missing.
        throw new ConfigError('GOOGLE_SERVICE_ACCOUNT_JSON', (err as Error).message);
      }
    case 'auth0':
      return new Auth0IdentityProvider({
        timeoutMs: config.IDP_TIMEOUT_MS,
        domain: required(config, 'AUTH0_DOMAIN'),
        clientId: required(config, 'AUTH0_CLIENT_ID'),
        clientSecret: required(config, 'AUTH0_CLIENT_SECRET'),
        ...(config.AUTH0_BASE_URL ? { baseUrl: config.AUTH0_BASE_URL } : {}),
      });
    case 'keycloak':
      return new KeycloakIdentityProvider({
        timeoutMs: config.IDP_TIMEOUT_MS,
        url: required(config, 'KEYCLOAK_URL'),
        realm: required(config, 'KEYCLOAK_REALM'),
        clientId: required(config, 'KEYCLOAK_CLIENT_ID'),
        clientSecret: required(config, 'KEYCLOAK_CLIENT_SECRET'),
      });
    case 'oauth':
      if (config.oauthClients.length === 0)
        throw new ConfigError('OAUTH_CLIENTS', 'is required when IDP=oauth');
      return new OAuthIdentityProvider({
        issuer: required(config, 'OAUTH_ISSUER'),
        clients: config.oauthClients,
      });
  }
}

/** A variable `loadConfig` guarantees for this IdP; re-checked so a hand-built Config fails clearly. */
function required(config: Config, key: keyof Config & string): string {
  const value = config[key];
  if (typeof value !== 'string' || value === '')
    throw new ConfigError(key, `is required when IDP=${config.IDP}`);
  return value;
}
