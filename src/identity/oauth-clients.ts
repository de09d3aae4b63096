import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../domain/errors.ts';

/**
 * The client authentication methods Revoker can do, by their RFC 7591 §2 / OpenID Connect Core §9 names
 * (the values of `token_endpoint_auth_method` and of RFC 8414's `*_endpoint_auth_methods_supported`).
 */
export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

/** One OAuth client Revoker may authenticate as (RFC 6749 §2.3, OpenID Connect Core §9). */
export interface OAuthClient {
  clientId: string;
  /** For `client_secret_basic` / `client_secret_post`. */
  clientSecret?: string;
  /** For `private_key_jwt`: the private JWK the client's assertions are signed with (RFC 7523 §2.2). */
  privateKeyJwk?: Record<string, unknown>;
  /**
   * RFC 7591 `token_endpoint_auth_method`, used at introspection and revocation too. Default: the first
   * method the server's metadata lists for the endpoint that this entry can do, else `client_secret_basic`.
   */
  authMethod?: ClientAuthMethod;
}

/** A private JWK: `d` is what makes it private (RFC 7517 §9.2 / RFC 7518 §6). */
const PrivateJwkSchema = z.looseObject({ kty: z.enum(['RSA', 'EC', 'OKP']), d: z.string().min(1) });

const EntrySchema = z
  .object({
    client_id: z.string().min(1).max(256),
    client_secret: z.string().min(1).max(4096).optional(),
    token_endpoint_auth_method: z.enum(CLIENT_AUTH_METHODS).optional(),
    /** For private_key_jwt: a private JWK (with `alg`, else RS256 / ES256 / EdDSA by key type). */
    private_key_jwk: PrivateJwkSchema.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const method = c.token_endpoint_auth_method;
    if (method === 'private_key_jwt' && !c.private_key_jwk) {
      ctx.addIssue({ code: 'custom', message: 'private_key_jwt needs private_key_jwk' });
    }
    if ((method === 'client_secret_basic' || method === 'client_secret_post') && !c.client_secret) {
      ctx.addIssue({ code: 'custom', message: `${method} needs client_secret` });
    }
    if (!c.client_secret && !c.private_key_jwk) {
      ctx.addIssue({ code: 'custom', message: 'needs client_secret or private_key_jwk' });
    }
  });

const OAuthClientsSchema = z
  .array(EntrySchema)
  .min(1, 'must list at least one client')
  .refine((list) => new Set(list.map((c) => c.client_id)).size === list.length, 'lists a client_id twice');

/**
 * `OAUTH_CLIENTS`: a JSON array `[{"client_id": …, "client_secret": …, "token_endpoint_auth_method": …}, …]`,
 * inline or the path of a file holding it; one entry per application whose tokens Revoker must be able
 * to revoke (RFC 7009 §2.1 lets only the owning client revoke a token). `token_endpoint_auth_method`
 * (RFC 7591 §2) is `client_secret_basic`, `client_secret_post` or `private_key_jwt` (with
 * `private_key_jwk`); unset, the server's metadata decides. `OAUTH_CLIENT_ID` and `OAUTH_CLIENT_SECRET`
 * remain a one-entry shorthand. Errors name the variable, never a secret.
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
  return parsed.data.map((c) => ({
    clientId: c.client_id,
    ...(c.client_secret === undefined ? {} : { clientSecret: c.client_secret }),
    ...(c.private_key_jwk === undefined ? {} : { privateKeyJwk: c.private_key_jwk }),
    ...(c.token_endpoint_auth_method === undefined ? {} : { authMethod: c.token_endpoint_auth_method }),
  }));
}

/** The methods an entry has the material for, in the order Revoker prefers them. */
export function methodsOf(client: OAuthClient): ClientAuthMethod[] {
  if (client.authMethod) return [client.authMethod];
  return [
    ...(client.clientSecret ? (['client_secret_basic', 'client_secret_post'] as const) : []),
    ...(client.privateKeyJwk ? (['private_key_jwt'] as const) : []),
  ];
}
