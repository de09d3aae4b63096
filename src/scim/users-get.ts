import type { Request, Response } from 'express';
import { baseUrlOf, cleanScimText, handleScimError, type ScimContext } from './context.ts';
import { sendScim } from './scim-error.ts';
import { toScimUser } from './user-resource.ts';

/** GET /Users/{id}. */
export function getUser(ctx: ScimContext) {
  return async (req: Request, res: Response): Promise<void> => {
    try {
      const id = cleanScimText(String(req.params.id), 'id');
      const user = await ctx.idp.getUser(id);
      sendScim(res, 200, toScimUser(user, await ctx.store.isDeactivated(user.id), baseUrlOf(req)));
    } catch (err) {
      await handleScimError(ctx, res, err);
    }
  };
}
