import { ValidationError } from '../domain/errors.ts';
import type { ScimType } from './scim-error.ts';

/**
 * A SCIM request Revoker will not process, with the `scimType` RFC 7644 §3.12 gives the case:
 * `invalidSyntax` (not a PatchOp / not JSON), `invalidPath` (a path naming no attribute),
 * `invalidValue` (e.g. `active` that is not a boolean), `invalidFilter`.
 */
export class ScimRequestError extends ValidationError {
  constructor(
    readonly scimType: ScimType,
    message: string,
    issues: readonly string[] = [],
  ) {
    super(message, issues);
  }
}
