import type { IdpUser } from '../identity/port.ts';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

/**
 * A SCIM User from the IdP user. `active` is false when the IdP says so or when Revoker recorded a
 * SCIM deactivation (tokens revoked), so the client sees its PATCH took effect.
 */
export function toScimUser(user: IdpUser, deactivated: boolean, baseUrl: string) {
  return {
    schemas: [USER_SCHEMA],
    id: user.id,
    userName: user.userName,
    ...(user.displayName ? { displayName: user.displayName } : {}),
    ...(user.email ? { emails: [{ value: user.email, primary: true, type: 'work' }] } : {}),
    active: user.active && !deactivated,
    meta: { resourceType: 'User', location: `${baseUrl}/Users/${encodeURIComponent(user.id)}` },
  };
}
