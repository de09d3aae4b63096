import type { VendorContract, VendorOperation } from '../helpers/vendor-contract.ts';

/**
 * The Okta Management API operations the adapter uses, read from Okta's management OpenAPI spec
 * (github.com/okta/okta-management-openapi-spec, `dist/current/management-minimal.yaml`: each operation's
 * query parameters and `security` oauth2 scope; rendered at developer.okta.com/docs/api/openapi/okta-management/).
 * Token listings take `limit` ≤ 200; `revokeUserSessions` has `oauthTokens` (default false) and
 * `forgetDevices` (default true; false on Classic Engine). Paging: `Link: <…>; rel="next"` with
 * `after`/`limit` (developer.okta.com/docs/api/#pagination). Rate limits: 429 `E0000047` with
 * `X-Rate-Limit-Limit/-Remaining/-Reset` (developer.okta.com/docs/reference/rl-best-practices/).
 */
const REF = 'https://developer.okta.com/docs/api/openapi/okta-management/management/tag';
const RL = '429 E0000047 + X-Rate-Limit-Reset';
const LINK = 'Link rel="next" (after, limit)';
export function oktaContract(org: string): VendorContract {
  const rows: VendorOperation[] = [
    {
      method: 'GET',
      path: '/api/v1/users',
      query: ['search', 'filter', 'q', 'after', 'limit', 'sortBy', 'sortOrder', 'fields', 'expand'],
      permission: 'okta.users.read',
      pagination: LINK,
      rateLimit: RL,
      source: `${REF}/User/#tag/User/operation/listUsers`,
    },
    {
      method: 'GET',
      path: '/api/v1/users/{id}',
      query: ['expand'],
      permission: 'okta.users.read',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/User/#tag/User/operation/getUser`,
    },
    {
      method: 'GET',
      path: '/api/v1/users/{userId}/clients',
      permission: 'okta.users.read',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/UserResources/#tag/UserResources/operation/listUserClients`,
    },
    {
      method: 'GET',
      path: '/api/v1/users/{userId}/clients/{clientId}/tokens',
      query: ['expand', 'after', 'limit'],
      permission: 'okta.users.read',
      pagination: LINK,
      rateLimit: RL,
      source: `${REF}/UserOAuth/#tag/UserOAuth/operation/listRefreshTokensForUserAndClient`,
    },
    {
      method: 'GET',
      path: '/api/v1/users/{userId}/clients/{clientId}/tokens/{tokenId}',
      query: ['expand'],
      permission: 'okta.users.read',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/UserOAuth/#tag/UserOAuth/operation/getRefreshTokenForUserAndClient`,
    },
    {
      method: 'DELETE',
      path: '/api/v1/users/{userId}/clients/{clientId}/tokens/{tokenId}',
      permission: 'okta.users.manage',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/UserOAuth/#tag/UserOAuth/operation/revokeTokenForUserAndClient`,
    },
    // forgetDevices defaults to true on Identity Engine: it is sent, false, every time (issue 13 point 12).
    {
      method: 'DELETE',
      path: '/api/v1/users/{userId}/sessions',
      query: ['oauthTokens!', 'forgetDevices!'],
      permission: 'okta.users.manage',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/UserSessions/#tag/UserSessions/operation/revokeUserSessions`,
    },
    {
      method: 'GET',
      path: '/api/v1/apps',
      query: [
        'q',
        'after',
        'useOptimization',
        'alwaysIncludeVpnSettings',
        'limit',
        'filter',
        'expand',
        'includeNonDeleted',
      ],
      permission: 'okta.apps.read',
      pagination: LINK,
      rateLimit: RL,
      source: `${REF}/Application/#tag/Application/operation/listApplications`,
    },
    {
      method: 'GET',
      path: '/api/v1/apps/{appId}',
      query: ['expand'],
      permission: 'okta.apps.read',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/Application/#tag/Application/operation/getApplication`,
    },
    {
      method: 'GET',
      path: '/api/v1/apps/{appId}/tokens',
      query: ['expand', 'after', 'limit'],
      permission: 'okta.apps.read',
      pagination: LINK,
      rateLimit: RL,
      source: `${REF}/ApplicationTokens/#tag/ApplicationTokens/operation/listOAuth2TokensForApplication`,
    },
    {
      method: 'DELETE',
      path: '/api/v1/apps/{appId}/tokens',
      permission: 'okta.apps.manage',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/ApplicationTokens/#tag/ApplicationTokens/operation/revokeOAuth2TokensForApplication`,
    },
    {
      method: 'GET',
      path: '/api/v1/authorizationServers',
      query: ['q', 'limit', 'after'],
      permission: 'okta.authorizationServers.read',
      pagination: LINK,
      rateLimit: RL,
      source: `${REF}/AuthorizationServer/#tag/AuthorizationServer/operation/listAuthorizationServers`,
    },
    {
      method: 'GET',
      path: '/api/v1/authorizationServers/{authServerId}',
      permission: 'okta.authorizationServers.read',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/AuthorizationServer/#tag/AuthorizationServer/operation/getAuthorizationServer`,
    },
    {
      method: 'GET',
      path: '/api/v1/authorizationServers/{authServerId}/clients',
      permission: 'okta.authorizationServers.read',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/AuthorizationServerClients/#tag/AuthorizationServerClients/operation/listOAuth2ClientsForAuthorizationServer`,
    },
    {
      method: 'GET',
      path: '/api/v1/authorizationServers/{authServerId}/clients/{clientId}/tokens',
      query: ['expand', 'after', 'limit'],
      permission: 'okta.authorizationServers.read',
      pagination: LINK,
      rateLimit: RL,
      source: `${REF}/AuthorizationServerClients/#tag/AuthorizationServerClients/operation/listRefreshTokensForAuthorizationServerAndClient`,
    },
    {
      method: 'DELETE',
      path: '/api/v1/authorizationServers/{authServerId}/clients/{clientId}/tokens',
      permission: 'okta.authorizationServers.manage',
      pagination: 'none',
      rateLimit: RL,
      source: `${REF}/AuthorizationServerClients/#tag/AuthorizationServerClients/operation/revokeRefreshTokensForAuthorizationServerAndClient`,
    },
    // Service app token (client credentials + private_key_jwt): developer.okta.com/docs/guides/implement-oauth-for-okta-serviceapp/main/
    {
      method: 'POST',
      path: '/oauth2/v1/token',
      permission: 'the app is granted the okta.* scopes it asks for',
      pagination: 'none',
      rateLimit: RL,
      source:
        'https://developer.okta.com/docs/api/openapi/okta-oauth/oauth/tag/OrgAS/#tag/OrgAS/operation/token',
    },
  ];
  return { [org]: rows.map(withDocumentedValues) };
}

/** `limit`: "maximum 200" on every listing the adapter pages (developer.okta.com/docs/api/#pagination). */
const LIMIT = /^(?:[1-9]\d?|1\d\d|200)$/;
/** `oauthTokens` / `forgetDevices` are booleans (REF UserSessions revokeUserSessions). */
const BOOLEAN = /^(?:true|false)$/;

/**
 * Adds what each row's values, headers and body must be: every Management API call carries
 * `Authorization: SSWS {token}` (API token) or `Bearer {token}` (service app) and asks for JSON
 * (developer.okta.com/docs/api/#authentication, "Content type"); GETs and DELETEs carry no body; the token
 * request is a form with the client-credentials grant and a JWT client assertion
 * (developer.okta.com/docs/guides/implement-oauth-for-okta-serviceapp/main/#get-an-access-token).
 */
function withDocumentedValues(row: VendorOperation): VendorOperation {
  const names = (row.query ?? []).map((q) => q.replace(/!$/, ''));
  const values: Record<string, RegExp> = {};
  if (names.includes('limit')) values.limit = LIMIT;
  for (const b of ['oauthTokens', 'forgetDevices']) if (names.includes(b)) values[b] = BOOLEAN;
  if (row.method === 'POST') {
    return {
      ...row,
      headers: { 'content-type': /^application\/x-www-form-urlencoded/ },
      body: (body) => {
        const form = new URLSearchParams(body);
        if (form.get('grant_type') !== 'client_credentials') return 'grant_type must be client_credentials';
        if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
          return 'client_assertion_type must be jwt-bearer';
        return form.get('client_assertion') ? undefined : 'client_assertion missing';
      },
    };
  }
  return {
    ...row,
    ...(Object.keys(values).length > 0 ? { values } : {}),
    headers: { authorization: /^(?:SSWS|Bearer) \S+$/, accept: /application\/json/ },
    body: 'none',
  };
}
