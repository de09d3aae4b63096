import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../domain/errors.ts';

/** One OAuth client Revoker may authenticate as (RFC 6749 §2.3.1, client_secret_basic). */
export interface OAuthClient {
  clientId: string;
  clientSecret: string;
}

const OAuthClientsSchema = z
  .array(
    z.object({ client_id: z.string().min(1).max(256), client_secret: z.string().min(1).max(4096) }).strict(),
  )
  .min(1, 'must list at least one client')
  .refine((list) => new Set(list.map((c) => c.client_id)).size === list.length, 'lists a client_id twice');

/**
 * `OAUTH_CLIENTS`: a JSON array `[{"client_id": …, "client_secret": …}, …]`, inline or the path of a file
 * holding it; one entry per application whose tokens Revoker must be able to revoke (RFC 7009 §2.1 lets
 * only the owning client revoke a token). Introspection tries them in order, so list first a client the
 * server lets introspect every token (the embedded IDaaS's `revoker`). `OAUTH_CLIENT_ID` and
 * `OAUTH_CLIENT_SECRET` remain a one-entry shorthand. Errors name the variable, never a secret.
 */
export function loadOAuthClients(env: {
  OAUTH_CLIENTS?: string | undefined;
  OAUTH_CLIENT_ID?: string | undefined;
  OAUTH_CLIENT_SECRET?: string | undefined;
}): OAuthClient[] {
  const raw = env.OAUTH_CLIENTS?.trim();
  if (!raw) {
    if (env.OAUTH_CLIENT_ID && env.OAUTH_CLIENT_SECRET) {
      return [{ clientId: env.OAUTH_CLIENT_ID, clientSecret: env.OAUTH_CLIENT_SECRET }];
    }
    return [];
  }
  let text = raw;
  if (!raw.startsWith('[') && !raw.startsWith('{')) {
    if (!existsSync(raw)) throw new ConfigError('OAUTH_CLIENTS', 'is neither JSON nor the path of a file');
    text = readFileSync(raw, 'utf8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError('OAUTH_CLIENTS', 'is not valid JSON');
  }
  const parsed = OAuthClientsSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? ` (at ${issue.path.join('.')})` : '';
    throw new ConfigError('OAUTH_CLIENTS', `${issue.message}${where}`);
  }
  return parsed.data.map((c) => ({ clientId: c.client_id, clientSecret: c.client_secret }));
}
