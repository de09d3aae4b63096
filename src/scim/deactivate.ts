import type { ScimContext } from './context.ts';

/**
 * Revokes all tokens of `userId` because a SCIM client deactivated or deleted them. Idempotent by
 * design: while Revoker's record of the deactivation stands, repeated PATCH active=false / DELETE return
 * the same request (the idempotency key is `scim.<user>.<generation>`, so even concurrent calls collapse
 * into one request). Reactivation (PATCH active=true) bumps the generation: a later deactivation is a new
 * revocation, as tokens may have been issued in between.
 */
export async function deactivateUser(ctx: ScimContext, userId: string): Promise<string> {
  const existing = await ctx.store.requestFor(userId);
  if (existing) return existing;
  const generation = await ctx.store.generation(userId);
  const { request, duplicate } = await ctx.intake.submit({
    target: { kind: 'user', userId },
    source: 'scim',
    requestedBy: { source: 'scim', id: ctx.clientId },
    reason: 'SCIM deprovisioning: user deactivated in the identity provider',
    idempotencyKey: `scim.${userId}.${generation}`,
  });
  await ctx.store.record(userId, request.id);
  ctx.metrics?.webhooks.inc({ source: 'scim', outcome: duplicate ? 'duplicate' : 'accepted' });
  return request.id;
}
