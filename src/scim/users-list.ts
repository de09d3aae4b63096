import type { Request, Response } from 'express';
import { z } from 'zod';
import type { IdpUser } from '../identity/port.ts';
import { baseUrlOf, handleScimError, rejectScim, type ScimContext } from './context.ts';
import { parseUserFilter } from './filter.ts';
import { sendScim } from './scim-error.ts';
import { LIST_SCHEMA, toScimUser } from './user-resource.ts';

const MAX_RESULTS = 200;
/** Longest filter we read; RFC 7644 §3.12 answers a filter it will not process with 400 invalidFilter. */
export const MAX_FILTER_LENGTH = 1024;
const Query = z.object({
  filter: z.string().optional(),
  startIndex: z.coerce.number().int().catch(1).default(1),
  count: z.coerce.number().int().catch(100).default(100),
});

/** GET /Users?filter=userName eq "…" | emails.value eq "…" &startIndex&count ⇒ ListResponse. */
export function listUsers(ctx: ScimContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const parsed = Query.safeParse(req.query);
    if (!parsed.success) {
      return rejectScim(ctx, res, 400, 'invalid_value', 'unreadable query parameters', 'invalidValue');
    }
    const q = parsed.data;
    if (q.filter !== undefined && q.filter.length > MAX_FILTER_LENGTH) {
      return rejectScim(
        ctx,
        res,
        400,
        'invalid_filter',
        `filter longer than ${MAX_FILTER_LENGTH} characters`,
        'invalidFilter',
      );
    }
    // RFC 7644 §3.4.2.4: startIndex < 1 is 1; count < 0 is 0.
    const startIndex = Math.max(1, q.startIndex);
    const count = Math.min(Math.max(0, q.count), MAX_RESULTS);
    let filter: ReturnType<typeof parseUserFilter> | undefined;
    try {
      filter = q.filter === undefined ? undefined : parseUserFilter(q.filter);
    } catch (err) {
      return rejectScim(ctx, res, 400, 'invalid_filter', (err as Error).message, 'invalidFilter');
    }
    try {
      let users: IdpUser[];
      if (!filter) users = await ctx.idp.searchUsers('', MAX_RESULTS);
      else if (filter.attribute === 'emails.value') {
        const u = await ctx.idp.findUserByEmail(filter.value);
        users = u ? [u] : [];
      } else {
        const value = filter.value.toLowerCase();
        // userName is case-insensitive in the core schema (caseExact false).
        // Ask as given and lower-cased: IdP searches differ in case handling.
        const queries = [...new Set([filter.value, value])];
        const found = (await Promise.all(queries.map((q) => ctx.idp.searchUsers(q, MAX_RESULTS)))).flat();
        const byId = new Map(found.filter((u) => u.userName.toLowerCase() === value).map((u) => [u.id, u]));
        users = [...byId.values()];
      }
      const page = users.slice(startIndex - 1, startIndex - 1 + count);
      const deactivated = await ctx.store.deactivatedAmong(page.map((u) => u.id));
      const base = baseUrlOf(req);
      sendScim(res, 200, {
        schemas: [LIST_SCHEMA],
        totalResults: users.length,
        startIndex,
        itemsPerPage: page.length,
        Resources: page.map((u) => toScimUser(u, deactivated.has(u.id), base)),
      });
    } catch (err) {
      await handleScimError(ctx, res, err);
    }
  };
}
