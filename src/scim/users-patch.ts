import type { Request, Response } from 'express';
import { baseUrlOf, cleanScimText, handleScimError, type ScimContext } from './context.ts';
import { deactivateUser } from './deactivate.ts';
import { readActiveFromPatch, readActiveFromPut } from './patch-op.ts';
import { sendScim } from './scim-error.ts';
import { ScimRequestError } from './scim-request-error.ts';
import { toScimUser } from './user-resource.ts';

function jsonBody(req: Request): unknown {
  const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ScimRequestError('invalidSyntax', 'body is not JSON');
  }
}

/**
 * PATCH /Users/{id} (RFC 7644 §3.5.2) and PUT /Users/{id} (§3.5.1): `active=false` ⇒ revoke all the
 * user's tokens (every deprovisioning revokes what was issued since the last, see deactivateUser);
 * `active=true` ⇒ forget the deactivation. Other attributes are accepted and ignored. Answers 200 with
 * the user as Revoker now sees them.
 */
function updateUser(ctx: ScimContext, read: (body: unknown) => boolean | undefined) {
  return async (req: Request, res: Response): Promise<void> => {
    try {
      const active = read(jsonBody(req));
      const id = cleanScimText(String(req.params.id), 'id');
      // Resolve first: a PATCH for a user the IdP does not know is a 404, not a revocation.
      const user = await ctx.idp.getUser(id);
      if (active === false) await deactivateUser(ctx, user.id);
      if (active === true) await ctx.store.reactivate(user.id);
      sendScim(res, 200, toScimUser(user, await ctx.store.isDeactivated(user.id), baseUrlOf(req)));
    } catch (err) {
      await handleScimError(ctx, res, err);
    }
  };
}

export const patchUser = (ctx: ScimContext) => updateUser(ctx, readActiveFromPatch);
/** Okta's custom (AIW) SCIM apps always PUT the full user; SailPoint does when PATCH is off. */
export const putUser = (ctx: ScimContext) => updateUser(ctx, readActiveFromPut);
