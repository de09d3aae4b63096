import { IdpNotFoundError, IdpUnauthorizedError } from './errors.ts';
import type { PermissionProbe } from './port.ts';

/**
 * One `revoker doctor` permission probe: a call on an id that does not exist, so nothing is revoked. A 404
 * means the call was allowed (permitted); a refusal (401/403) means the permission is missing, told in the
 * vendor's words by `refused`; anything else means it could not be probed (reachability, 5xx), not granted.
 */
export async function probePermission(
  scope: PermissionProbe['scope'],
  permission: string,
  call: () => Promise<unknown>,
  refused: (err: IdpUnauthorizedError) => string = (err) => err.message,
): Promise<PermissionProbe> {
  try {
    await call();
    return { scope, permission, ok: true };
  } catch (err) {
    if (err instanceof IdpNotFoundError)
      return { scope, permission, ok: true, detail: 'permitted (404 on a probe id)' };
    if (err instanceof IdpUnauthorizedError) return { scope, permission, ok: false, detail: refused(err) };
    return {
      scope,
      permission,
      ok: false,
      detail: `could not probe: ${(err as Error).message ?? String(err)}`,
    };
  }
}
