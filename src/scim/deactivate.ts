import { TERMINAL_STATES } from '../domain/request.ts';
import type { ScimContext } from './context.ts';

/**
 * Revokes all tokens of `userId` because a SCIM client deactivated or deleted them.
 *
 * Every deprovisioning revokes what was issued since the last one: Entra deletes 30 days after its soft
 * delete, Okta re-sends deactivations, and the person may have signed in again in between (the
 * governance tool does not disable the IdP account). So a deactivation arriving after the previous
 * request has finished makes a new request. Identical requests arriving together still collapse into
 * one: while the previous request is open they return it, and the idempotency key names the request
 * they follow (`scim.<user>.<generation>`, then `….after.<previous request>`), so concurrent calls that all
 * saw the same finished request submit the same key and the intake makes one request.
 */
export async function deactivateUser(ctx: ScimContext, userId: string): Promise<string> {
  const existing = await ctx.store.requestFor(userId);
  if (existing) {
    const previous = await ctx.intake.get(existing);
    if (previous && !TERMINAL_STATES.includes(previous.state)) return existing;
  }
  const generation = await ctx.store.generation(userId);
  const { request, duplicate } = await ctx.intake.submit({
    target: { kind: 'user', userId },
    source: 'scim',
    requestedBy: { source: 'scim', id: ctx.clientId },
    reason: 'SCIM deprovisioning: user deactivated in the identity provider',
    idempotencyKey: existing
      ? `scim.${userId}.${generation}.after.${existing}`
      : `scim.${userId}.${generation}`,
  });
  await ctx.store.record(userId, request.id);
  ctx.metrics?.webhooks.inc({ source: 'scim', outcome: duplicate ? 'duplicate' : 'accepted' });
  return request.id;
}
