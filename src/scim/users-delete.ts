import type { Request, Response } from 'express';
import { cleanScimText, handleScimError, type ScimContext } from './context.ts';
import { deactivateUser } from './deactivate.ts';

/** DELETE /Users/{id} ⇒ revoke all the user's tokens (same idempotent path as active=false); 204. */
export function deleteUser(ctx: ScimContext) {
  return async (req: Request, res: Response): Promise<void> => {
    try {
      const user = await ctx.idp.getUser(cleanScimText(String(req.params.id), 'id'));
      await deactivateUser(ctx, user.id);
      res.status(204).end();
    } catch (err) {
      await handleScimError(ctx, res, err);
    }
  };
}
