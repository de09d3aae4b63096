import type { Request, Response } from 'express';
import { rejectScim, type ScimContext } from './context.ts';
import { parseScimFilter } from './filter.ts';
import { sendScim, sendScimError } from './scim-error.ts';
import { LIST_SCHEMA } from './user-resource.ts';
import { MAX_FILTER_LENGTH } from './users-list.ts';

/**
 * GET /Groups: Revoker keeps no groups, so every query is an empty ListResponse (200). Entra's Test
 * Connection sends `GET /Groups?excludedAttributes=members&filter=displayName eq "<random>"` and
 * expects exactly that (learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups,
 * "Test Connection"); a 404 fails the connection test.
 */
export function listGroups(ctx: ScimContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const filter = typeof req.query.filter === 'string' ? req.query.filter : undefined;
    if (filter !== undefined) {
      try {
        if (filter.length > MAX_FILTER_LENGTH) throw new Error('filter too long');
        parseScimFilter(filter);
      } catch (err) {
        return rejectScim(ctx, res, 400, 'invalid_filter', (err as Error).message, 'invalidFilter');
      }
    }
    sendScim(res, 200, {
      schemas: [LIST_SCHEMA],
      totalResults: 0,
      startIndex: 1,
      itemsPerPage: 0,
      Resources: [],
    });
  };
}

/** GET /Groups/{id}: no group exists. */
export function getGroup(_req: Request, res: Response): void {
  sendScimError(res, 404, 'Group not found');
}
