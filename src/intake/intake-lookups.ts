import type { ConnectionRegistry } from '../connections/connection-registry.ts';
import { ValidationError } from '../domain/errors.ts';
import type { Target } from '../domain/target.ts';
import { type IdentityProvider, userDisplayName } from '../identity/port.ts';
import type { Logger } from '../log.ts';
import type { RequestRecord, SubmitInput } from './types.ts';

/**
 * The connections a user revocation runs in (issue 22): every configured connection that offers the user
 * scope, when there are several and the submit names none (naming one, e.g. `revoker revoke --idp okta`,
 * keeps it to that one). Undefined: the request runs in one connection, as before.
 */
export function fanOutConnections(
  registry: ConnectionRegistry | undefined,
  input: SubmitInput,
): string[] | undefined {
  if (!registry || input.target.kind !== 'user' || input.connection !== undefined) return undefined;
  const ids = registry.all.filter((c) => c.idp.capabilities.scopes.user).map((c) => c.id);
  return ids.length > 1 ? ids : undefined;
}

/**
 * The adapter of the connection a submit names (binding the input to the primary when it names none);
 * an unknown connection is the caller's mistake (400), never another connection. Without a registry,
 * `idp` alone.
 */
export function idpOf(
  registry: ConnectionRegistry | undefined,
  idp: IdentityProvider,
  input: SubmitInput,
): IdentityProvider {
  if (!registry) return idp;
  input.connection ??= registry.primary.id;
  const c = registry.get(input.connection);
  if (!c) {
    throw new ValidationError(
      `invalid request: no connection "${input.connection}" (configured: ${registry.ids.join(', ')})`,
      ['connection: unknown'],
    );
  }
  return c.idp;
}

/** How long a look-up at intake may take, and where its failure is logged. */
export interface LookUpBounds {
  previewTimeoutMs: number;
  logger: Logger;
}

/**
 * Best-effort dry run and display name for the approval message, in parallel and bounded in time:
 * a slow or failing IdP must not block intake (the worker's listing fills the impact in). `known` is
 * the impact already shown, or `worker` when the worker's listing will be the only one.
 */
export async function lookUp(
  bounds: LookUpBounds,
  idp: IdentityProvider,
  target: Target,
  known: RequestRecord['impact'] | 'worker',
  knownName: string | undefined,
): Promise<{ impact?: RequestRecord['impact']; targetName?: string; targetEmail?: string }> {
  const [plan, named] = await Promise.all([
    known ? undefined : bounded(bounds, idp.plan(target)),
    knownName === undefined
      ? bounded(bounds, nameOf(idp, target))
      : ({ name: knownName } as { name: string; email?: string }),
  ]);
  const targetName = named?.name;
  const targetEmail = named?.email;
  const email = targetEmail ? { targetEmail } : {};
  if (known)
    return {
      ...(known === 'worker' ? {} : { impact: known }),
      ...(targetName ? { targetName } : {}),
      ...email,
    };
  return {
    ...email,
    ...(plan
      ? {
          impact: {
            userCount: plan.userCount,
            ...(plan.tokenCount !== undefined ? { tokenCount: plan.tokenCount } : {}),
          },
        }
      : {}),
    ...(targetName ? { targetName } : {}),
  };
}

async function nameOf(idp: IdentityProvider, target: Target): Promise<{ name: string; email?: string }> {
  switch (target.kind) {
    case 'token':
    case 'user': {
      const user = await idp.getUser(target.userId);
      return { name: userDisplayName(user), ...(user.email ? { email: user.email.toLowerCase() } : {}) };
    }
    case 'application':
      return { name: (await idp.getApplication(target.applicationId)).name };
    case 'resourceServer': {
      const rs = await idp.getResourceServer(target.resourceServerId);
      return { name: rs.audience ? `${rs.name}, ${rs.audience}` : rs.name };
    }
  }
}

async function bounded<T>(bounds: LookUpBounds, work: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), bounds.previewTimeoutMs);
      }),
    ]);
  } catch (err) {
    bounds.logger.warn({ err: (err as Error).message }, 'IdP look-up at intake failed; going on without it');
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
