import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ValidationError } from '../../domain/errors.ts';

const IdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._@:-]+$/, 'letters, digits and . _ @ : - only');

export const SeedUserSchema = z
  .object({
    /** Stable internal id (`usr_…`); derived from the first userId when omitted. */
    id: z
      .string()
      .regex(/^usr_[A-Za-z0-9_-]+$/)
      .optional(),
    userId: IdSchema,
    email: z.email(),
    name: z.string().min(1).max(256),
    password: z.string().min(8).max(256),
    state: z.enum(['active', 'disabled']).default('active'),
    /** Directory groups, e.g. `break-glass` (PROTECTED_GROUPS) or a subsidiary (HR_<SOURCE>_GROUPS). */
    groups: z.array(z.string().min(1).max(128)).max(100).optional(),
  })
  .strict();
export type SeedUser = z.input<typeof SeedUserSchema>;

export const SeedApplicationSchema = z
  .object({
    client_id: IdSchema,
    name: z.string().min(1).max(256),
    /** Omitted ⇒ public client (token_endpoint_auth_method none, PKCE only). */
    client_secret: z.string().min(16).optional(),
    /**
     * RFC 7591 §2 `token_endpoint_auth_method` of a confidential client, at every endpoint (token,
     * introspection, revocation). Default `client_secret_basic`.
     */
    token_endpoint_auth_method: z.enum(['client_secret_basic', 'client_secret_post']).optional(),
    redirect_uris: z.array(z.url()).default([]),
    grant_types: z
      .array(z.enum(['authorization_code', 'refresh_token', 'client_credentials']))
      .default(['authorization_code', 'refresh_token']),
    /**
     * What a `client_credentials` token of this client may be for: resource server id → the scopes it may
     * get there. A resource server not listed is refused (`invalid_target`): the client credentials grant
     * mints nothing the seed does not name, per client, per resource, per scope. Default: none.
     */
    client_credentials_resources: z.record(IdSchema, z.array(z.string().min(1)).min(1)).optional(),
    /** Extra OIDC scopes the client may ask for, besides openid, offline_access, profile, email. */
    scope: z.string().optional(),
    /**
     * The designated Revoker client: the one client whose introspection (RFC 7662) answers about every
     * token; any other client learns only about its own tokens (RFC 7662 §4 lets the server narrow this).
     */
    revoker: z.boolean().default(false),
    /**
     * May call the Global Token Revocation endpoint (draft-parecki-oauth-global-token-revocation-06), with
     * a private-key JWT signed by a key of `jwks`. Default false: no client may.
     */
    global_token_revocation: z.boolean().default(false),
    /** Public keys (JWK Set) of the client's private-key JWTs (RFC 7523); used only by that endpoint. */
    jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1).max(10) }).optional(),
  })
  .strict();
export type SeedApplication = z.infer<typeof SeedApplicationSchema>;

export const SeedResourceServerSchema = z
  .object({
    id: IdSchema,
    name: z.string().min(1).max(256),
    audience: z.url(),
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/)).min(1),
  })
  .strict();
export type SeedResourceServer = z.infer<typeof SeedResourceServerSchema>;

export const SeedSchema = z
  .object({
    users: z.array(SeedUserSchema).default([]),
    applications: z.array(SeedApplicationSchema).default([]),
    resourceServers: z.array(SeedResourceServerSchema).default([]),
  })
  .strict()
  .superRefine((seed, ctx) => {
    const dupes = (label: string, values: string[]) => {
      const seen = new Set<string>();
      for (const v of values) {
        if (seen.has(v)) ctx.addIssue({ code: 'custom', message: `duplicate ${label} "${v}"` });
        seen.add(v);
      }
    };
    dupes(
      'user id',
      seed.users.map((u) => u.userId.toLowerCase()),
    );
    dupes(
      'user email',
      seed.users.map((u) => u.email.toLowerCase()),
    );
    dupes(
      'application client_id',
      seed.applications.map((a) => a.client_id),
    );
    dupes(
      'resource server id',
      seed.resourceServers.map((r) => r.id),
    );
    dupes(
      'resource server audience',
      seed.resourceServers.map((r) => r.audience),
    );
    if (seed.applications.filter((a) => a.revoker).length > 1) {
      ctx.addIssue({ code: 'custom', message: 'at most one application may be the revoker client' });
    }
  });
/** A validated seed: defaults applied. */
export type Seed = z.infer<typeof SeedSchema>;
export type SeedInput = z.input<typeof SeedSchema>;

export const DEMO_TENANT_PATH = new URL('./demo-tenant.json', import.meta.url);

/** Validates a seed object; throws one ValidationError listing every problem with its path. */
export function parseSeed(input: unknown, source = 'seed'): Seed {
  const result = SeedSchema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new ValidationError(`${source} is invalid: ${issues.join('; ')}`, issues);
}

/** Reads and validates a seed file (JSON). */
export function loadSeedFile(path: string | URL): Seed {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ValidationError(`cannot read seed file ${String(path)}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`seed file ${String(path)} is not JSON: ${(err as Error).message}`);
  }
  return parseSeed(json, `seed file ${String(path)}`);
}

export function loadDemoTenant(): Seed {
  return loadSeedFile(DEMO_TENANT_PATH);
}
