import { z } from 'zod';
import { ValidationError } from '../domain/errors.ts';

export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const Operation = z.object({
  // Entra sends "Replace"/"Add"; RFC 7644 says lower-case: compare case-insensitively.
  op: z
    .string()
    .transform((s) => s.toLowerCase())
    .pipe(z.enum(['add', 'replace', 'remove'])),
  path: z.string().max(512).optional(),
  value: z.unknown().optional(),
});
const PatchOpSchema = z.object({
  schemas: z.array(z.string()).optional(),
  Operations: z.array(Operation).min(1).max(100),
});

/** `false`, `"False"`, `"false"` (Entra sends booleans as strings) → boolean; anything else → undefined. */
function asBoolean(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v.trim())) return v.trim().toLowerCase() === 'true';
  return undefined;
}

/**
 * Reads the only thing Revoker acts on from a SCIM PatchOp: the new value of `active`, if set.
 * Handles the RFC form and the variants Okta and Entra send:
 * `{op:"replace", path:"active", value:false}`, no path with `{value:{active:false}}`, `"op":"Replace"`,
 * and `"False"` as a string. Other attributes are accepted and ignored (Revoker is not a user store).
 * Pure; throws ValidationError (⇒ 400 invalidSyntax / invalidValue).
 */
export function readActiveFromPatch(body: unknown): boolean | undefined {
  const parsed = PatchOpSchema.safeParse(body);
  if (!parsed.success)
    throw new ValidationError(
      'not a SCIM PatchOp',
      parsed.error.issues.map((i) => i.message),
    );
  if (parsed.data.schemas && !parsed.data.schemas.includes(PATCH_OP_SCHEMA)) {
    throw new ValidationError(`schemas must include ${PATCH_OP_SCHEMA}`);
  }
  let active: boolean | undefined;
  for (const op of parsed.data.Operations) {
    if (op.op === 'remove') continue;
    if (op.path !== undefined) {
      if (op.path.trim().toLowerCase() !== 'active') continue;
      const v = asBoolean(op.value);
      if (v === undefined) throw new ValidationError('active must be a boolean');
      active = v;
      continue;
    }
    if (op.value !== null && typeof op.value === 'object' && !Array.isArray(op.value)) {
      for (const [k, raw] of Object.entries(op.value)) {
        if (k.toLowerCase() !== 'active') continue;
        const v = asBoolean(raw);
        if (v === undefined) throw new ValidationError('active must be a boolean');
        active = v;
      }
    }
  }
  return active;
}
