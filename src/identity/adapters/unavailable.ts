import { ConfigError } from '../../domain/errors.ts';
import type { IdentityProvider } from '../port.ts';

/**
 * Stands in when a CLI command runs with IDP=idaas but no IDAAS_URL: the embedded IDaaS lives inside
 * `revoker serve`, so commands that only read Redis (audit, hr pending, revoke by id) still work, and any
 * IdP call says plainly what to configure.
 */
export function unavailableIdentityProvider(): IdentityProvider {
  const fail = async (): Promise<never> => {
    throw new ConfigError(
      'IDAAS_URL',
      'is needed here: the embedded IDaaS runs inside `revoker serve`; set IDAAS_URL and IDAAS_ADMIN_TOKEN to reach it',
    );
  };
  return {
    name: 'idaas (not reachable from this process)',
    capabilities: {
      scopes: { token: true, user: true, application: true, resourceServer: true },
      unsupportedReasons: {},
      listTokens: true,
      search: true,
    },
    searchUsers: fail,
    getUser: fail,
    findUserByEmail: fail,
    searchApplications: fail,
    getApplication: fail,
    searchResourceServers: fail,
    getResourceServer: fail,
    listUserTokens: fail,
    plan: fail,
    revoke: fail,
    verify: fail,
    ping: fail,
  };
}
