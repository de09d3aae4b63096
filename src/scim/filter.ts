import { ValidationError } from '../domain/errors.ts';

/** One `attribute eq "value"` comparison of a SCIM filter (RFC 7644 §3.4.2.2). */
export interface FilterClause {
  attribute: 'userName' | 'externalId' | 'id' | 'emails.value' | 'displayName';
  value: string;
  /** For `emails[type eq "work"].value eq "…"`: the email type asked for. */
  emailType?: string;
}

/** Kept for callers that take one comparison. */
export type UserFilter = FilterClause;

const CORE_USER_URN = /^urn:ietf:params:scim:schemas:core:2\.0:(?:User|Group):/i;
const VALUE = String.raw`"((?:[^"\\]|\\.)*)"`;
const SIMPLE = new RegExp(String.raw`^\s*([A-Za-z.]+)\s+eq\s+${VALUE}\s*$`, 'i');
// Entra: emails[type eq "work"].value eq "…" (learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups).
const TYPED_EMAIL = new RegExp(
  String.raw`^\s*emails\s*\[\s*type\s+eq\s+${VALUE}\s*\]\s*\.\s*value\s+eq\s+${VALUE}\s*$`,
  'i',
);
const BRACKET_EMAIL = new RegExp(String.raw`^\s*emails\s*\[\s*value\s+eq\s+${VALUE}\s*\]\s*$`, 'i');

const ATTRIBUTES: Record<string, FilterClause['attribute']> = {
  username: 'userName',
  externalid: 'externalId',
  id: 'id',
  emails: 'emails.value',
  'emails.value': 'emails.value',
  displayname: 'displayName',
};

/**
 * The filters SCIM clients send when they look a user (or group) up: `userName`, `externalId`, `id`,
 * `emails.value` / `emails[value eq …]` / `emails[type eq "work"].value` and `displayName`, each with
 * `eq`, joined by `and` (Entra joins two). Attribute names are case-insensitive and may carry the core
 * schema URN. Pure; anything else (`or`, `not`, `sw`, other attributes) ⇒ ValidationError (⇒ 400 invalidFilter).
 */
export function parseScimFilter(filter: string): FilterClause[] {
  return splitAnd(filter).map(parseClause);
}

/** One comparison only (the historical entry point). */
export function parseUserFilter(filter: string): UserFilter {
  const clauses = parseScimFilter(filter);
  if (clauses.length !== 1) throw new ValidationError('expected one comparison');
  return clauses[0]!;
}

function parseClause(raw: string): FilterClause {
  const text = raw.replace(CORE_USER_URN, '');
  const typed = TYPED_EMAIL.exec(text);
  if (typed) return { attribute: 'emails.value', value: unquote(typed[2]!), emailType: unquote(typed[1]!) };
  const bracket = BRACKET_EMAIL.exec(text);
  if (bracket) return { attribute: 'emails.value', value: unquote(bracket[1]!) };
  const m = SIMPLE.exec(text);
  if (!m)
    throw new ValidationError(
      'unsupported filter: only `attribute eq "value"` comparisons joined by `and` (userName, externalId, id, emails)',
    );
  const attribute = ATTRIBUTES[m[1]!.toLowerCase()];
  if (!attribute) throw new ValidationError(`unsupported filter attribute ${m[1]}`);
  return { attribute, value: unquote(m[2]!) };
}

/** Splits on ` and ` outside quotes and brackets; `or`, `not` and parentheses are refused. */
function splitAnd(filter: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < filter.length; i++) {
    const c = filter[i]!;
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === '[') depth++;
    else if (c === ']') depth--;
    else if (c === '(' || c === ')') throw new ValidationError('grouping with parentheses is not supported');
    else if (depth === 0 && /\s/.test(c)) {
      const rest = filter.slice(i);
      const word = /^\s+(and|or|not)\s+/i.exec(rest);
      if (word) {
        if (word[1]!.toLowerCase() !== 'and') throw new ValidationError(`"${word[1]}" is not supported`);
        parts.push(filter.slice(start, i));
        i += word[0].length - 1;
        start = i + 1;
      }
    }
  }
  if (quoted || depth !== 0) throw new ValidationError('unbalanced quotes or brackets');
  parts.push(filter.slice(start));
  return parts;
}

function unquote(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}
