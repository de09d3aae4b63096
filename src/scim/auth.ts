import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { rejectScim, type ScimContext } from './context.ts';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** `Authorization: Bearer <SCIM_TOKEN>`, compared in constant time; otherwise 401 in SCIM's format. */
export function bearerAuth(
  token: string,
  ctx: Pick<ScimContext, 'audit' | 'refusals' | 'metrics' | 'logger'>,
) {
  const expected = digest(token);
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const header = req.get('authorization') ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (m && timingSafeEqual(digest(m[1]!), expected)) return next();
    res.set('WWW-Authenticate', 'Bearer realm="revoker-scim"');
    await rejectScim(ctx, res, 401, 'unauthorized', m ? 'Invalid bearer token' : 'Bearer token required');
  };
}
