import { sanitizeOutsideText } from '../domain/outside-text.ts';
import type { IdpUser } from './port.ts';

/**
 * The IdP boundary for outside text: the names and email an adapter returns pass through
 * sanitizeOutsideText (a right-to-left override in a display name cannot reverse what an approver reads;
 * a lone surrogate cannot break a Slack call). The `id` is left as the IdP spells it: calls address the
 * user by it, and the part outcomes that show it are sanitised where they are built.
 */
export function sanitizeIdpUser(user: IdpUser): IdpUser {
  const clean: IdpUser = { ...user, userName: sanitizeOutsideText(user.userName) };
  if (user.email !== undefined) clean.email = sanitizeOutsideText(user.email);
  if (user.displayName !== undefined) clean.displayName = sanitizeOutsideText(user.displayName);
  return clean;
}
