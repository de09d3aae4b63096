import type { Request, Response } from 'express';
import { z } from 'zod';
import { sanitizeOutsideText } from '../domain/outside-text.ts';
import { IdpNotFoundError } from '../identity/errors.ts';
import type { IdentityProvider, IdpUser } from '../identity/port.ts';
import { baseUrlOf, handleScimError, rejectScim, type ScimContext } from './context.ts';
import { type FilterClause, parseScimFilter } from './filter.ts';
import { sendScim } from './scim-error.ts';
import { LIST_SCHEMA, toScimUser } from './user-resource.ts';

const MAX_RESULTS = 200;
/**
 * How many users a `userName` search may bring back before the exact match is picked (the IdP's search
 * is a substring search): large enough that "sam" among thousands of "sam…" still finds "sam".
 */
const SEARCH_LIMIT = 100_000;
/** Longest filter we read; RFC 7644 §3.12 answers a filter it will not process with 400 invalidFilter. */
export const MAX_FILTER_LENGTH = 1024;
export const Query = z.object({
  filter: z.string().optional(),
  startIndex: z.coerce.number().int().catch(1).default(1),
  count: z.coerce.number().int().catch(100).default(100),
});

const lower = (s: string | undefined) => s?.toLowerCase();

/** Whether `user` satisfies one comparison (userName and emails are case-insensitive: caseExact false). */
function matches(user: IdpUser, c: FilterClause): boolean {
  switch (c.attribute) {
    case 'id':
    case 'externalId':
      // externalId: Revoker returns the IdP's id; a client that stored it as its external id finds the user.
      return user.id === c.value;
    case 'userName':
      return lower(user.userName) === lower(c.value);
    case 'emails.value':
      // The one email Revoker shows is of type "work" (see toScimUser).
      return (
        (c.emailType === undefined || lower(c.emailType) === 'work') && lower(user.email) === lower(c.value)
      );
    case 'displayName':
      return false;
  }
}

async function lookup(idp: IdentityProvider, c: FilterClause): Promise<IdpUser[]> {
  const byKey = async (key: string) => {
    try {
      return await idp.getUser(key);
    } catch (err) {
      if (err instanceof IdpNotFoundError) return undefined;
      throw err;
    }
  };
  switch (c.attribute) {
    case 'id':
    case 'externalId': {
      const u = await byKey(c.value);
      return u && matches(u, c) ? [u] : [];
    }
    case 'emails.value': {
      const u = await idp.findUserByEmail(c.value);
      return u && matches(u, c) ? [u] : [];
    }
    case 'userName': {
      // Exact first (IdPs resolve a user by login / principal name); then the substring search, read in full.
      const direct = await byKey(c.value);
      if (direct && matches(direct, c)) return [direct];
      const queries = [...new Set([c.value, c.value.toLowerCase()])];
      const found = (await Promise.all(queries.map((q) => idp.searchUsers(q, SEARCH_LIMIT)))).flat();
      return [...new Map(found.filter((u) => matches(u, c)).map((u) => [u.id, u])).values()];
    }
    case 'displayName':
      return [];
  }
}

/** The comparison answered with the fewest IdP calls goes first; the others filter its result. */
const COST: Record<FilterClause['attribute'], number> = {
  id: 0,
  externalId: 0,
  'emails.value': 1,
  userName: 2,
  displayName: 3,
};

/**
 * GET /Users?filter=…&startIndex&count ⇒ ListResponse. Look-ups are exact at any directory size:
 * `userName`, `externalId`, `id`, `emails[type eq "work"].value`, `emails.value`, joined with `and`;
 * `totalResults` counts every match (RFC 7644 §3.4.2).
 */
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
    if (q.filter !== undefined && sanitizeOutsideText(q.filter) !== q.filter) {
      // The SCIM boundary (cleanScimText): an identifier is refused, not cleaned into another user's.
      return rejectScim(
        ctx,
        res,
        400,
        'invalid_filter',
        'filter carries a control, bidi or lone-surrogate character',
        'invalidFilter',
      );
    }
    // RFC 7644 §3.4.2.4: startIndex < 1 is 1; count < 0 is 0.
    const startIndex = Math.max(1, q.startIndex);
    const count = Math.min(Math.max(0, q.count), MAX_RESULTS);
    let clauses: FilterClause[] | undefined;
    try {
      clauses = q.filter === undefined ? undefined : parseScimFilter(q.filter);
    } catch (err) {
      return rejectScim(ctx, res, 400, 'invalid_filter', (err as Error).message, 'invalidFilter');
    }
    try {
      let users: IdpUser[];
      // Unfiltered: the whole directory as the IdP lists it, so totalResults is the true count.
      if (!clauses) users = await ctx.idp.searchUsers('', SEARCH_LIMIT);
      else {
        const [first, ...rest] = [...clauses].sort((a, b) => COST[a.attribute] - COST[b.attribute]);
        users = (await lookup(ctx.idp, first!)).filter((u) => rest.every((c) => matches(u, c)));
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
