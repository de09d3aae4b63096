import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../domain/errors.ts';

/** Slack user id (U…/W…) → IdP user id; both non-empty, the IdP id as the IdP spells it (≤ 256 characters). */
const MapSchema = z.record(
  z.string().regex(/^[UW][A-Z0-9]+$/, 'keys must be Slack user ids (U…/W…)'),
  z.string().trim().min(1).max(256),
);

/**
 * `SLACK_IDP_USER_MAP`: an explicit Slack → IdP identity mapping, a JSON object (or the path of a file
 * holding one) of Slack user id → IdP user id. Consulted first when Revoker must know who a Slack voter is
 * at the IdP (stopping an HR/SCIM revocation: never the person leaving); without an entry, Slack's
 * confirmed email must be exactly one IdP user's. Unset or empty: no mapping. Errors name the variable,
 * never the content.
 */
export function loadSlackIdpUserMap(env: {
  SLACK_IDP_USER_MAP?: string | undefined;
}): ReadonlyMap<string, string> {
  const raw = env.SLACK_IDP_USER_MAP?.trim();
  if (!raw) return new Map();
  let text = raw;
  if (!raw.startsWith('{')) {
    if (!existsSync(raw)) {
      throw new ConfigError('SLACK_IDP_USER_MAP', 'is neither a JSON object nor the path of a file');
    }
    text = readFileSync(raw, 'utf8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError('SLACK_IDP_USER_MAP', 'is not valid JSON');
  }
  const parsed = MapSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? ` (at ${issue.path.join('.')})` : '';
    throw new ConfigError(
      'SLACK_IDP_USER_MAP',
      `must map Slack user ids (U…/W…) to IdP user ids: ${issue.message}${where}`,
    );
  }
  return new Map(Object.entries(parsed.data));
}
