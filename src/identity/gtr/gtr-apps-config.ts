import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../../domain/errors.ts';

/**
 * The draft's endpoint "MUST use the `https` scheme" (draft-parecki-oauth-global-token-revocation-06 §3.1);
 * loopback addresses are the one exception, for tests and the demo, where nothing leaves the machine.
 */
export function isAllowedGtrUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.protocol === 'https:') return true;
  if (url.protocol !== 'http:') return false;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

const GtrUrl = z
  .string()
  .url()
  .max(2048)
  .refine(isAllowedGtrUrl, 'must be an https URL (http only on a loopback address)');

/** How Revoker authenticates to the app's endpoint (the draft §3.2: "The request MUST also be authenticated"). */
const AuthSchema = z.discriminatedUnion('method', [
  z
    .object({
      /** RFC 7523 client authentication JWT, signed per call, sent as `Authorization: Bearer` (draft §3.2, §6.1). */
      method: z.literal('private_key_jwt'),
      /** `iss` and `sub` of the JWT: the client id the app registered for Revoker. */
      client_id: z.string().min(1).max(256),
      /** PKCS#8 PEM, or a private JWK as JSON text. */
      private_key: z.string().min(1).max(16_384),
      /** `kid` header: the key id the app knows Revoker's public key under. */
      kid: z.string().min(1).max(256),
      /** Signing algorithm. Default RS256. */
      alg: z.enum(['RS256', 'PS256', 'ES256', 'EdDSA']).default('RS256'),
    })
    .strict(),
  z
    .object({
      /** A long-lived bearer token the app issued for this call only (draft §6.1: narrowly scoped). */
      method: z.literal('bearer_token'),
      token: z.string().min(1).max(4096),
    })
    .strict(),
  z
    .object({
      /** An access token from the app's token endpoint (RFC 6749 §4.4), cached until shortly before expiry. */
      method: z.literal('client_credentials'),
      client_id: z.string().min(1).max(256),
      client_secret: z.string().min(1).max(4096),
      /** Default: the issuer metadata's `token_endpoint`. */
      token_endpoint: GtrUrl.optional(),
      /** `scope` sent with the grant. Default: none. */
      scope: z.string().max(1024).optional(),
    })
    .strict(),
]);

const AppSchema = z
  .object({
    /** A short name: the connection id in the audit and the budget's Redis key (`gtr:<name>`). */
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be lower-case letters, digits, - or _ (at most 63)'),
    /** The endpoint itself, or … */
    endpoint: GtrUrl.optional(),
    /** … the issuer whose RFC 8414 metadata names `global_token_revocation_endpoint` (draft §5). */
    issuer: GtrUrl.optional(),
    auth: AuthSchema,
    /** RFC 9493 format sent as `sub_id`. Default `email`. */
    subject_format: z.enum(['email', 'iss_sub', 'opaque']).default('email'),
    /** `opaque`: the id the app knows each person by, keyed by email (lower-case). */
    opaque_ids: z.record(z.string().max(320), z.string().min(1).max(256)).optional(),
    /** Calls per second to this app across every Revoker process. Default 10. */
    rate_limit: z.number().positive().max(10_000).optional(),
  })
  .strict()
  .refine((a) => (a.endpoint === undefined) !== (a.issuer === undefined), {
    message: 'needs exactly one of endpoint or issuer',
  })
  .refine((a) => a.auth.method !== 'client_credentials' || a.auth.token_endpoint || a.issuer, {
    message: 'client_credentials needs token_endpoint when no issuer is given',
  })
  .refine((a) => a.subject_format !== 'opaque' || a.opaque_ids, {
    message: 'subject_format opaque needs opaque_ids (email → the id the app knows)',
  });

const AppsSchema = z
  .array(AppSchema)
  .min(1, 'must list at least one app')
  .refine((list) => new Set(list.map((a) => a.name)).size === list.length, 'lists a name twice');

export type GtrAppConfig = z.output<typeof AppSchema>;
export type GtrAuthConfig = GtrAppConfig['auth'];

/** Default calls per second to one app: the draft names no limit; a SaaS app's API is protected here. */
export const DEFAULT_GTR_RATE_LIMIT = 10;

/**
 * `GTR_APPS`: a JSON array of apps that accept Global Token Revocation, inline or the path of a file
 * holding it (like `OAUTH_CLIENTS`). Unset or empty: no apps. Errors name the variable and the entry's
 * position, never a secret or a key.
 */
export function loadGtrApps(env: { GTR_APPS?: string | undefined }): GtrAppConfig[] {
  const raw = env.GTR_APPS?.trim();
  if (!raw) return [];
  let text = raw;
  if (!raw.startsWith('[') && !raw.startsWith('{')) {
    if (!existsSync(raw)) throw new ConfigError('GTR_APPS', 'is neither JSON nor the path of a file');
    text = readFileSync(raw, 'utf8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError('GTR_APPS', 'is not valid JSON');
  }
  const parsed = AppsSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? ` (at ${issue.path.join('.')})` : '';
    throw new ConfigError('GTR_APPS', `${issue.message}${where}`);
  }
  return parsed.data.map((a) => ({
    ...a,
    ...(a.opaque_ids
      ? { opaque_ids: Object.fromEntries(Object.entries(a.opaque_ids).map(([k, v]) => [k.toLowerCase(), v])) }
      : {}),
  }));
}
