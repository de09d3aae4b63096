import { sanitizeOutsideText } from '../domain/outside-text.ts';
import type { Scope } from '../domain/target.ts';
import {
  IdpBadResponseError,
  IdpError,
  IdpNotFoundError,
  IdpTransientError,
  IdpUnauthorizedError,
} from '../identity/errors.ts';
import type { IdentityProvider, PermissionProbe } from '../identity/port.ts';
import { type Check, fail, pass } from './check.ts';

/**
 * What each adapter's credentials need, per scope it declares: the fix when a read-only probe is refused.
 * Sources: Okta admin roles / OAuth scopes (developer.okta.com/docs/api/oauth2), Microsoft Graph permissions
 * (learn.microsoft.com/graph/permissions-reference), Google Admin SDK Directory scopes
 * (developers.google.com/admin-sdk/directory/v1/guides/authorizing), Auth0 Management API scopes
 * (auth0.com/docs/api/management/v2), Keycloak realm-management roles.
 */
const PERMISSIONS: Record<string, { credentials: string; scopes: Partial<Record<Scope | 'read', string>> }> =
  {
    idaas: {
      credentials: 'set IDAAS_ADMIN_TOKEN to the admin token the IDaaS runs with',
      scopes: {},
    },
    okta: {
      credentials:
        'create OKTA_API_TOKEN as an admin holding the roles below (tokens act with their creator’s roles)',
      scopes: {
        read: 'Read-only Administrator (okta.users.read)',
        user: 'okta.users.manage (clear user sessions and tokens)',
        token: 'okta.users.manage (revoke a refresh token)',
        application: 'okta.apps.read and okta.apps.manage (list and revoke an app’s tokens)',
        resourceServer:
          'okta.authorizationServers.read and okta.authorizationServers.manage (tokens per authorization server)',
      },
    },
    entra: {
      credentials: 'check ENTRA_TENANT_ID / ENTRA_CLIENT_ID / ENTRA_CLIENT_SECRET and grant admin consent',
      scopes: {
        read: 'Microsoft Graph application permission User.Read.All',
        user: 'User.RevokeSessions.All',
        application: 'Application.Read.All',
        resourceServer: 'Application.Read.All',
      },
    },
    google: {
      credentials:
        'check GOOGLE_SERVICE_ACCOUNT_JSON, domain-wide delegation and GOOGLE_ADMIN_SUBJECT (a super admin)',
      scopes: {
        read: 'https://www.googleapis.com/auth/admin.directory.user.readonly',
        user: 'https://www.googleapis.com/auth/admin.directory.user.security',
        token: 'https://www.googleapis.com/auth/admin.directory.user.security',
        application: 'https://www.googleapis.com/auth/admin.directory.user.security',
      },
    },
    auth0: {
      credentials:
        'check AUTH0_DOMAIN / AUTH0_CLIENT_ID / AUTH0_CLIENT_SECRET (a machine-to-machine app authorised for the Management API)',
      scopes: {
        read: 'read:users',
        user: 'read:grants, delete:grants (and read:refresh_tokens, delete:refresh_tokens)',
        token: 'read:refresh_tokens, delete:refresh_tokens',
        application: 'read:clients, read:grants, delete:grants',
        resourceServer: 'read:resource_servers, read:grants, delete:grants',
      },
    },
    keycloak: {
      credentials:
        'check KEYCLOAK_URL / KEYCLOAK_REALM / KEYCLOAK_CLIENT_ID / KEYCLOAK_CLIENT_SECRET (service accounts enabled)',
      scopes: {
        read: 'realm-management view-users',
        user: 'realm-management manage-users',
        token: 'realm-management manage-users',
        application: 'realm-management view-clients, manage-clients',
      },
    },
    oauth: {
      credentials:
        'check that client’s entry in OAUTH_CLIENTS: client_secret (or private_key_jwk) and token_endpoint_auth_method (client_secret_basic, client_secret_post or private_key_jwt)',
      scopes: {},
    },
  };

/** One read-only call per declared scope, through the adapter's own look-ups (nothing is changed). */
const PROBES: Record<Scope, { what: string; run: (idp: IdentityProvider) => Promise<unknown> }> = {
  user: { what: 'read users', run: (idp) => idp.searchUsers('a', 1) },
  token: {
    what: "list a user's tokens",
    run: async (idp) => {
      const [user] = await idp.searchUsers('a', 1);
      if (user && idp.capabilities.listTokens) await idp.listUserTokens(user.id);
    },
  },
  application: { what: 'read applications', run: (idp) => idp.searchApplications('a', 1) },
  resourceServer: { what: 'read APIs (resource servers)', run: (idp) => idp.searchResourceServers('a', 1) },
};

function refusal(err: unknown): string {
  if (err instanceof IdpError)
    return `${err.status ? `HTTP ${err.status}, ` : ''}${err.code}: ${err.message}`;
  return (err as Error).message;
}

/**
 * Why `ping` failed, told apart: refused credentials, an unreachable server, no metadata (404), or an
 * answer Revoker cannot use (an issuer mismatch among them). Only the first is a credentials fix.
 */
export function pingFailure(
  idp: IdentityProvider,
  label: string,
  err: unknown,
  fixCredentials: string,
): Check {
  const where =
    idp.name === 'oauth'
      ? 'check OAUTH_ISSUER (exactly as the server names itself, RFC 8414 §3.3)'
      : undefined;
  if (err instanceof IdpUnauthorizedError)
    return fail('idp', `${label} refused the credentials (${refusal(err)})`, fixCredentials);
  if (err instanceof IdpTransientError)
    return fail(
      'idp',
      `${label} is unreachable (${refusal(err)})`,
      where ?? 'check the IdP URL and the network',
    );
  if (err instanceof IdpNotFoundError)
    return fail('idp', `${label} answered 404 (${refusal(err)})`, where ?? 'check the IdP URL');
  if (err instanceof IdpBadResponseError)
    return fail(
      'idp',
      `${label} answered something unusable (${refusal(err)})`,
      where ?? 'check the IdP URL',
    );
  return fail('idp', `${label} check failed (${refusal(err)})`, fixCredentials);
}

/** Credentials work (`ping`), each declared scope's read-only probe passes, and the capabilities, listed. */
export async function checkIdp(idp: IdentityProvider, label: string): Promise<Check[]> {
  const perms = PERMISSIONS[idp.name] ?? { credentials: `check the ${idp.name} credentials`, scopes: {} };
  const caps = idp.capabilities;
  const scopes = (Object.keys(caps.scopes) as Scope[]).filter((s) => caps.scopes[s]);
  const off = (Object.keys(caps.scopes) as Scope[])
    .filter((s) => !caps.scopes[s])
    .map((s) => `${s} (${caps.unsupportedReasons[s] ?? 'unsupported'})`);
  const checks: Check[] = [
    pass(
      'idp',
      `${label} can revoke: ${[...scopes, ...(idp.tokenValues ? ['a leaked token by its value (revoker revoke leaked)'] : [])].join(', ') || 'nothing'}${off.length ? `; cannot: ${off.join(', ')}` : ''}; ` +
        `lists tokens: ${caps.listTokens ? 'yes' : 'no'}, search: ${caps.search ? 'yes' : 'no'}`,
    ),
  ];
  try {
    await idp.ping();
    checks.push(pass('idp', `${label} credentials work`));
  } catch (err) {
    const read = perms.scopes.read ? `; the credentials need at least ${perms.scopes.read}` : '';
    checks.push(pingFailure(idp, label, err, `${perms.credentials}${read}`));
    return checks;
  }
  // The adapter's own probes name each permission exactly as the vendor does, write ones included (a call
  // on an id that does not exist: permitted ⇒ 404, withheld ⇒ 403), and revoke nothing.
  if (idp.probePermissions) return [...checks, ...(await permissionChecks(idp, label, scopes))];
  for (const scope of scopes) {
    const probe = PROBES[scope];
    try {
      await probe.run(idp);
      checks.push(pass('idp', `${label} may ${probe.what} (scope ${scope})`));
    } catch (err) {
      const need = perms.scopes[scope] ?? perms.scopes.read;
      checks.push(
        fail(
          'idp',
          `${label} cannot ${probe.what}, which scope ${scope} needs (${refusal(err)})`,
          need ? `grant ${need}` : perms.credentials,
        ),
      );
    }
  }
  return checks;
}

/** One check per permission the adapter probed for a declared scope (and look-ups); a missing one fails. */
async function permissionChecks(idp: IdentityProvider, label: string, scopes: Scope[]): Promise<Check[]> {
  let probes: PermissionProbe[];
  try {
    probes = (await idp.probePermissions?.()) ?? [];
  } catch (err) {
    return [
      fail('idp', `${label}: the permission probes failed (${refusal(err)})`, 'check the IdP credentials'),
    ];
  }
  return probes
    .filter((p) => p.scope === 'lookup' || scopes.includes(p.scope))
    .map((p) =>
      p.ok
        ? pass('idp', `${label} holds ${p.permission} (${p.scope})`)
        : fail(
            'idp',
            `${label} lacks ${p.permission}, which ${p.scope === 'lookup' ? 'look-ups need' : `scope ${p.scope} needs`}${p.detail ? ` (${sanitizeOutsideText(p.detail)})` : ''}`,
            `grant ${p.permission}`,
          ),
    );
}
