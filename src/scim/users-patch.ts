import type { Request, Response } from 'express';
import { ValidationError } from '../domain/errors.ts';
import { baseUrlOf, handleScimError, rejectScim, type ScimContext } from './context.ts';
import { deactivateUser } from './deactivate.ts';
import { readActiveFromPatch } from './patch-op.ts';
import { sendScim } from './scim-error.ts';
import { toScimUser } from './user-resource.ts';

/**
 * PATCH /Users/{id}: `active=false` ⇒ revoke all the user's tokens (idempotent, see deactivateUser);
 * `active=true` ⇒ forget the deactivation. Other attributes are accepted and ignored. Answers 200 with
 * the user as Revoker now sees them.
 */
export function patchUser(ctx: ScimContext) {
  return async (req: Request, res: Response): Promise<void> => {
    let active: boolean | undefined;
    try {
      const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      active = readActiveFromPatch(JSON.parse(raw.toString('utf8')));
    } catch (err) {
      const detail =
        err instanceof ValidationError ? [err.message, ...err.issues].join('; ') : 'body is not JSON';
      return rejectScim(ctx, res, 400, 'invalid_syntax', detail, 'invalidSyntax');
    }
    try {
      const id = String(req.params.id);
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
