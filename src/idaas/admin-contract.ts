import { z } from 'zod';

/**
 * The embedded IDaaS admin API's wire format (DESIGN §6). The server produces it and the IDaaS adapter
 * validates every answer against it, so the two cannot drift apart silently.
 * All routes take `Authorization: Bearer <IDAAS_ADMIN_TOKEN>`; every error is `AdminErrorBody`.
 */
export const ADMIN_PREFIX = '/admin/v1';

export const AdminErrorBodySchema = z.object({
  error: z.string(), // stable code: unauthorized, not_found, invalid_request, rate_limited, unavailable
  message: z.string(),
});
export type AdminErrorBody = z.infer<typeof AdminErrorBodySchema>;

export const AdminUserSchema = z.object({
  /** Stable internal id, `usr_…`; never changes. */
  id: z.string(),
  /** The console's "user id" (login name); PATCH can change it. */
  userId: z.string(),
  email: z.string(),
  name: z.string(),
  state: z.enum(['active', 'disabled']),
  /** Directory groups (e.g. `break-glass`), when the user has any. */
  groups: z.array(z.string()).optional(),
});
export type AdminUser = z.infer<typeof AdminUserSchema>;

export const AdminApplicationSchema = z.object({
  /** The OAuth client_id. */
  id: z.string(),
  name: z.string(),
});
export type AdminApplication = z.infer<typeof AdminApplicationSchema>;

export const AdminResourceServerSchema = z.object({
  id: z.string(),
  name: z.string(),
  /** The resource indicator (RFC 8707) tokens for this API are issued to. */
  audience: z.string(),
  scopes: z.array(z.string()),
});
export type AdminResourceServer = z.infer<typeof AdminResourceServerSchema>;

/** A token as listed: `id` is a reference (`tok_…`, a hash), never the token value. */
export const AdminTokenSchema = z.object({
  id: z.string(),
  type: z.enum(['access_token', 'refresh_token']),
  userId: z.string(), // the user's stable internal id; empty for a client-credentials token
  /** Present for an access token the application obtained for itself (RFC 6749 §4.4): no user. */
  grantType: z.literal('client_credentials').optional(),
  applicationId: z.string(),
  resourceServerId: z.string().nullable(),
  scopes: z.array(z.string()),
  issuedAt: z.string(),
  expiresAt: z.string().nullable(),
});
export type AdminToken = z.infer<typeof AdminTokenSchema>;

export const AdminUserListSchema = z.object({ users: z.array(AdminUserSchema) });
export const AdminApplicationListSchema = z.object({ applications: z.array(AdminApplicationSchema) });
export const AdminResourceServerListSchema = z.object({
  resourceServers: z.array(AdminResourceServerSchema),
});
export const AdminTokenListSchema = z.object({ tokens: z.array(AdminTokenSchema) });

/** Answer of every DELETE …/tokens route and of a PATCH that revoked. */
export const AdminRevokedSchema = z.object({
  revoked: z.array(z.object({ id: z.string(), userId: z.string() })),
});
export type AdminRevoked = z.infer<typeof AdminRevokedSchema>;

/** PATCH /users/{id}: each field optional, nothing else allowed. */
export const AdminUserPatchSchema = z
  .object({
    state: z.enum(['active', 'disabled']).optional(),
    userId: z.string().min(1).max(128).optional(),
    password: z.string().min(8).max(256).optional(),
  })
  .strict();
export type AdminUserPatch = z.infer<typeof AdminUserPatchSchema>;

export const AdminUserPatchResultSchema = AdminUserSchema.extend({
  revoked: AdminRevokedSchema.shape.revoked,
});

/** PUT /admin/v1/faults: make the admin API misbehave, for tests of the workers. */
export const AdminFaultsSchema = z
  .object({
    /** Allow this many admin calls per second (token bucket); beyond: 429 + Retry-After. null = off. */
    rateLimitPerSecond: z.number().positive().nullable().optional(),
    /** Answer 503 (with Retry-After) to every admin call for this many ms from now. 0 = off. */
    failForMs: z.number().int().min(0).optional(),
  })
  .strict();
export type AdminFaults = z.infer<typeof AdminFaultsSchema>;

/**
 * Routes (all under ADMIN_PREFIX):
 *   GET    /users?q=                      → AdminUserList   (q matches email, userId or name, case-insensitive)
 *   GET    /users/{id}                    → AdminUser       ({id} = internal id, current userId or email)
 *   PATCH  /users/{id}   AdminUserPatch   → AdminUserPatchResult (disable / userId / password ⇒ revoke all)
 *   GET    /users/{id}/tokens             → AdminTokenList
 *   DELETE /users/{id}/tokens/{tokenId}   → AdminRevoked
 *   DELETE /users/{id}/tokens             → AdminRevoked
 *   GET    /applications?q=               → AdminApplicationList
 *   GET    /applications/{id}             → AdminApplication
 *   GET    /applications/{id}/tokens      → AdminTokenList
 *   DELETE /applications/{id}/tokens      → AdminRevoked
 *   GET    /resource-servers?q=           → AdminResourceServerList
 *   GET    /resource-servers/{id}         → AdminResourceServer
 *   GET    /resource-servers/{id}/tokens  → AdminTokenList
 *   DELETE /resource-servers/{id}/tokens  → AdminRevoked
 *   PUT    /faults        AdminFaults     → AdminFaults (current)
 *   GET    /stats                         → { calls: number, rateLimited: number, failed: number } (counters since start)
 */
