import type { Scope, Target } from '../domain/target.ts';
import { isIdpError } from '../identity/errors.ts';
import type { IdentityProvider, IdpUser } from '../identity/port.ts';
import { applicationLabel, resourceServerLabel, tokenLabel, userLabel } from './labels.ts';

export type Resolution =
  | { ok: true; target: Target; label: string }
  | { ok: false; problem: 'unknown' | 'ambiguous' | 'unsupported'; message: string; matches: string[] };

const MAX_MATCHES = 5;

/** A get-by-id that answers undefined for "no such object" and rethrows anything else (IdP down). */
async function getOrUndefined<T>(get: () => Promise<T>): Promise<T | undefined> {
  try {
    return await get();
  } catch (err) {
    if (isIdpError(err) && err.code === 'idp_not_found') return undefined;
    throw err;
  }
}

const same = (a: string | undefined, b: string) => a !== undefined && a.toLowerCase() === b.toLowerCase();

/** One exact hit wins; otherwise the search results are "closest matches". */
function pick<T>(
  ref: string,
  items: T[],
  keys: (t: T) => (string | undefined)[],
  label: (t: T) => string,
): { hit?: T; matches: string[] } {
  const exact = items.filter((t) => keys(t).some((k) => same(k, ref)));
  if (exact.length === 1) return { hit: exact[0]!, matches: [] };
  const pool = exact.length > 1 ? exact : items;
  return { matches: pool.slice(0, MAX_MATCHES).map(label) };
}

async function resolveUser(
  idp: IdentityProvider,
  ref: string,
): Promise<{ user?: IdpUser; matches: string[] }> {
  if (ref.includes('@')) {
    const byEmail = await idp.findUserByEmail(ref);
    if (byEmail) return { user: byEmail, matches: [] };
  } else {
    const byId = await getOrUndefined(() => idp.getUser(ref));
    if (byId) return { user: byId, matches: [] };
  }
  const found = await idp.searchUsers(ref, 10);
  const { hit, matches } = pick(ref, found, (u) => [u.id, u.userName, u.email], userLabel);
  return hit ? { user: hit, matches: [] } : { matches };
}

/**
 * What a reply may repeat of what was typed: not something shaped like a token value (a JWT, or a long
 * run without `@`, `|` or spaces that no id we know of has), since people paste tokens by mistake.
 */
export function echoable(ref: string): boolean {
  if (/^eyJ[\w-]*\./.test(ref)) return false;
  if (ref.length > 64 && !/[@|]/.test(ref)) return false;
  return ref.length <= 128;
}

function notFound(what: string, ref: string, matches: string[]): Resolution {
  const named = echoable(ref) ? `“${ref}”` : 'what you typed';
  return {
    ok: false,
    problem: matches.length > 1 ? 'ambiguous' : 'unknown',
    message:
      matches.length > 1 ? `More than one ${what} matches ${named}.` : `No ${what} matches ${named} exactly.`,
    matches,
  };
}

/**
 * Turns a `/revoke` reference into a target through the port's look-ups. Never throws for "not found";
 * IdP outages propagate so the caller can say the IdP is unreachable.
 */
export async function resolveTarget(
  idp: IdentityProvider,
  scope: Scope,
  ref: string,
  userRef?: string,
): Promise<Resolution> {
  if (!idp.capabilities.scopes[scope]) {
    return {
      ok: false,
      problem: 'unsupported',
      message: idp.capabilities.unsupportedReasons[scope] ?? `${idp.name} cannot revoke this scope.`,
      matches: [],
    };
  }
  switch (scope) {
    case 'user': {
      const { user, matches } = await resolveUser(idp, ref);
      if (!user) return notFound('user', ref, matches);
      return { ok: true, target: { kind: 'user', userId: user.id }, label: userLabel(user) };
    }
    case 'token': {
      if (!userRef) return notFound('user', '', []);
      const { user, matches } = await resolveUser(idp, userRef);
      if (!user) return notFound('user', userRef, matches);
      const target: Target = { kind: 'token', userId: user.id, tokenId: ref };
      if (!idp.capabilities.listTokens)
        return { ok: true, target, label: `token ${ref} of ${userLabel(user)}` };
      const tokens = await idp.listUserTokens(user.id);
      const token = tokens.find((t) => t.id === ref);
      if (!token)
        // A token id is never repeated back: the "id" typed may be the token's value.
        return {
          ok: false,
          problem: 'unknown',
          message: `No token of ${userLabel(user)} has that id (token ids look like \`tok_…\`).`,
          matches: tokens.slice(0, MAX_MATCHES).map(tokenLabel),
        };
      return { ok: true, target, label: `token ${tokenLabel(token)} of ${userLabel(user)}` };
    }
    case 'application': {
      const byId = await getOrUndefined(() => idp.getApplication(ref));
      const { hit, matches } = byId
        ? { hit: byId, matches: [] }
        : pick(ref, await idp.searchApplications(ref, 10), (a) => [a.id, a.name], applicationLabel);
      return hit
        ? { ok: true, target: { kind: 'application', applicationId: hit.id }, label: applicationLabel(hit) }
        : notFound('application', ref, matches);
    }
    case 'resourceServer': {
      const byId = await getOrUndefined(() => idp.getResourceServer(ref));
      if (byId) {
        return {
          ok: true,
          target: { kind: 'resourceServer', resourceServerId: byId.id },
          label: resourceServerLabel(byId),
        };
      }
      const found = await idp.searchResourceServers(ref, 10);
      const { hit, matches } = pick(ref, found, (r) => [r.id, r.name, r.audience], resourceServerLabel);
      return hit
        ? {
            ok: true,
            target: { kind: 'resourceServer', resourceServerId: hit.id },
            label: resourceServerLabel(hit),
          }
        : notFound('API', ref, matches);
    }
  }
}
