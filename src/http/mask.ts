/**
 * Masking of job payloads before they leave the process through the dashboard. Operators need to see
 * which request, user or token a job is about (ids like `tokenId: tok_…` stay), never credentials or
 * personal data (token values, secrets, signatures, cookies, emails).
 */

export const MASK = '***';

/** Keys whose values are credentials. Matched case-insensitively anywhere in the key. */
const SECRET_KEY =
  /token|secret|password|passwd|authorization|signature|cookie|credential|api[-_]?key|private[-_]?key|e-?mail/i;
/** Keys that name a reference to a secret rather than the secret (`tokenId`, `token_ids`, `secretRef`). */
const REFERENCE_KEY = /(id|ids|ref|type|count|kind)$/i;
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
/** Compact JWS/JWT (access and ID tokens), wherever they appear inside a string. */
const JWT = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
/** Deeper than any job payload we write; stops pathological input from recursing without end. */
const MAX_DEPTH = 32;

/** Whether a key's value should be replaced outright. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key) && !REFERENCE_KEY.test(key);
}

/** Replaces emails, JWTs and `Bearer …` credentials inside free text (reasons, error messages, logs). */
export function maskString(value: string): string {
  return value.replace(EMAIL, MASK).replace(JWT, MASK).replace(BEARER, `$1 ${MASK}`);
}

/**
 * Returns a copy of `value` with secret-looking keys masked and emails/JWTs scrubbed from strings,
 * recursively. Numbers and booleans under secret-looking keys stay (`tokensRevoked: 3` is no secret).
 */
export function maskSecrets(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskString(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return MASK;
  if (Array.isArray(value)) return value.map((item) => maskSecrets(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const keepsShape = item === null || typeof item === 'number' || typeof item === 'boolean';
    out[key] = isSecretKey(key) && !keepsShape ? MASK : maskSecrets(item, depth + 1);
  }
  return out;
}

/**
 * Scrubs free text only (emails, JWTs, bearer credentials), never keys: safe on whole dashboard API
 * responses, whose own keys must keep their values for the UI to work.
 */
export function scrubStrings(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskString(value);
  if (value === null || typeof value !== 'object' || depth >= MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((item) => scrubStrings(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = scrubStrings(item, depth + 1);
  return out;
}
