import type { AxiosInstance } from 'axios';
import type { z } from 'zod';
import type { Scope, Target } from '../../domain/target.ts';
import { IdpNotFoundError, IdpUnsupportedError } from '../errors.ts';
import { parseResponse } from '../http-client.ts';
import type { Capabilities, RevocationPlan, TokenRef } from '../port.ts';

/** Helpers the cloud adapters share. Functions only: each adapter stays one readable class. */

export const enc = encodeURIComponent;

/** Refuses a scope with the adapter's own admin-facing reason. */
export function unsupported(capabilities: Capabilities, scope: Scope, idpLabel: string): IdpUnsupportedError {
  const reason = capabilities.unsupportedReasons[scope] ?? `${idpLabel} cannot do this.`;
  return new IdpUnsupportedError(reason);
}

/** The `rel="next"` URL of an RFC 8288 Link header (Okta pagination), if any. */
export function nextLink(header: unknown): string | undefined {
  const value = Array.isArray(header) ? header.join(',') : typeof header === 'string' ? header : '';
  for (const part of value.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (m) return m[1];
  }
  return undefined;
}

/** A page bound so a misbehaving pager cannot loop forever. */
export const MAX_PAGES = 1000;

/** GET every page of an Okta-style array listing (Link: rel="next"). */
export async function getAllLinked<T>(
  http: AxiosInstance,
  path: string,
  params: Record<string, string | number>,
  item: z.ZodType<T>,
  what: string,
): Promise<T[]> {
  const out: T[] = [];
  let url: string | undefined = path;
  let query: Record<string, string | number> | undefined = params;
  for (let page = 0; url && page < MAX_PAGES; page++) {
    const res = await http.get(url, query ? { params: query } : {});
    const items = parseResponse(item.array(), res.data, what);
    out.push(...items);
    url = nextLink(res.headers.link);
    query = undefined; // the next link carries its own query
  }
  return out;
}

/** Runs `fn`; an `IdpNotFoundError` becomes `fallback` (a retried delete finding the thing gone). */
export async function unlessNotFound<T>(fn: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof IdpNotFoundError) return fallback;
    throw err;
  }
}

/** A plan of one native call; `tokens` when the IdP could list them (else the count is unknown). */
export function singleStepPlan(target: Target, userCount: number, tokens?: TokenRef[]): RevocationPlan {
  return { target, steps: [target], tokens: tokens ?? [], userCount, tokenCount: tokens?.length };
}

/** A plan of one token step per listed token plus, when the IdP has one, a bulk sweep. */
export function perTokenPlan(target: Target, tokens: TokenRef[], sweep: boolean): RevocationPlan {
  const steps: Target[] = tokens.map((t) => ({ kind: 'token', userId: t.userId ?? '', tokenId: t.id }));
  return {
    target,
    steps,
    ...(sweep ? { sweep: target } : {}),
    tokens,
    userCount: target.kind === 'user' ? 1 : new Set(tokens.map((t) => t.userId)).size,
    tokenCount: tokens.length,
  };
}

/**
 * The widest native call for the whole target as the plan's one step (all of a user, an application or
 * a resource server at once); the listing is the request's record of what is in scope.
 */
export function bulkPlan(target: Target, tokens: TokenRef[]): RevocationPlan {
  return {
    target,
    steps: [target],
    tokens,
    userCount: target.kind === 'user' ? 1 : new Set(tokens.map((t) => t.userId)).size,
    tokenCount: tokens.length,
  };
}

/** OData string literal: single quotes doubled (Graph `$filter`). */
export function odata(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
