/** SCIM 2.0 receiver: deactivate / delete a user ⇒ revoke all their tokens. */
export { ScimDeactivationStore } from './deactivation-store.ts';
export { parseUserFilter, type UserFilter } from './filter.ts';
export { readActiveFromPatch } from './patch-op.ts';
export { createScimRouter, type ScimRouterDeps } from './scim-router.ts';
