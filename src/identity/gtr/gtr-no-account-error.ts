import { IdpNotFoundError } from '../errors.ts';
import type { PartOutcome } from '../port.ts';

/**
 * The app answered 404 "User Not Found" (draft-parecki-oauth-global-token-revocation-06 §3.4.2), or
 * Revoker knows no id for the person there: the person has no account at this app, so there is nothing to
 * revoke. Thrown by the port's `revoke` (code `idp_not_found`, `noAccount: true`) so a caller that fans a
 * user out over connections records "no account" (done, not a failure); `revokeSubject` returns it as a
 * typed result instead.
 */
export class GtrNoAccountError extends IdpNotFoundError {
  readonly noAccount = true;
  readonly part: PartOutcome;
  constructor(
    readonly app: string,
    why: string,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(`no account at ${app}: ${why}`, options);
    this.part = { part: `account at ${app}`, outcome: 'unverifiable', why: `no account at ${app}: ${why}` };
  }
}
