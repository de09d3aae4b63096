import { ValidationError } from '../domain/errors.ts';

export type UserFilter = { attribute: 'userName' | 'emails.value'; value: string };

/**
 * The filters IdPs send when provisioning (RFC 7644 §3.4.2.2): `userName eq "…"` and
 * `emails.value eq "…"` (also `emails[value eq "…"]`, `emails eq`). Attribute names are case-insensitive.
 * Pure; anything else ⇒ ValidationError (⇒ 400 invalidFilter).
 */
export function parseUserFilter(filter: string): UserFilter {
  const m = /^\s*([A-Za-z.]+)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$/i.exec(filter);
  const bracket = /^\s*emails\s*\[\s*value\s+eq\s+"((?:[^"\\]|\\.)*)"\s*\]\s*$/i.exec(filter);
  if (bracket) return { attribute: 'emails.value', value: unquote(bracket[1]!) };
  if (!m) throw new ValidationError(`unsupported filter: only userName eq "…" and emails.value eq "…"`);
  const attr = m[1]!.toLowerCase();
  const value = unquote(m[2]!);
  if (attr === 'username') return { attribute: 'userName', value };
  if (attr === 'emails.value' || attr === 'emails') return { attribute: 'emails.value', value };
  throw new ValidationError(`unsupported filter attribute ${m[1]}`);
}

function unquote(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}
