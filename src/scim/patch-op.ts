import { z } from 'zod';
import { ScimRequestError } from './scim-request-error.ts';
import { USER_SCHEMA } from './user-resource.ts';

export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ENTERPRISE_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

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

/** The core User attributes (RFC 7643 §4.1): a PATCH of any of them is accepted (Revoker stores none). */
const CORE_ATTRIBUTES = new Set(
  [
    'id',
    'externalId',
    'userName',
    'name',
    'displayName',
    'nickName',
    'profileUrl',
    'title',
    'userType',
    'preferredLanguage',
    'locale',
    'timezone',
    'active',
    'password',
    'emails',
    'phoneNumbers',
    'ims',
    'photos',
    'addresses',
    'groups',
    'entitlements',
    'roles',
    'x509Certificates',
  ].map((a) => a.toLowerCase()),
);
/** The enterprise extension (RFC 7643 §4.3), which Entra and Okta map department, manager… to. */
const ENTERPRISE_ATTRIBUTES = new Set(
  ['employeeNumber', 'costCenter', 'organization', 'division', 'department', 'manager'].map((a) =>
    a.toLowerCase(),
  ),
);

/** `false`, `"False"`, `"false"` (Entra sends booleans as strings) → boolean; anything else → undefined. */
export function asBoolean(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v.trim())) return v.trim().toLowerCase() === 'true';
  return undefined;
}

function activeValue(v: unknown): boolean {
  const b = asBoolean(v);
  if (b === undefined) throw new ScimRequestError('invalidValue', 'active must be a boolean');
  return b;
}

/**
 * What a path names: `active`, another known attribute (core or enterprise), or nothing known (⇒ 400
 * invalidPath, RFC 7644 §3.5.2). The core schema URN may prefix it (`urn:…:core:2.0:User:active`).
 */
function classifyPath(path: string): 'active' | 'other' {
  let p = path.trim();
  const lower = p.toLowerCase();
  if (lower.startsWith(`${ENTERPRISE_SCHEMA.toLowerCase()}:`)) {
    const attr = p
      .slice(ENTERPRISE_SCHEMA.length + 1)
      .split(/[.[]/)[0]!
      .toLowerCase();
    if (ENTERPRISE_ATTRIBUTES.has(attr)) return 'other';
    throw new ScimRequestError('invalidPath', `unknown path ${path.slice(0, 100)}`);
  }
  // Other extension schemas (Entra's and Okta's custom attributes, `urn:…:extension:<name>:2.0:User:attr`)
  // are the client's own: accepted and ignored.
  if (/^urn:ietf:params:scim:schemas:extension:[^:]+:[^:]+:user:[^:]+$/i.test(p)) return 'other';
  if (lower.startsWith(`${USER_SCHEMA.toLowerCase()}:`)) p = p.slice(USER_SCHEMA.length + 1);
  const attr = p.split(/[.[]/)[0]!.trim().toLowerCase();
  if (attr === 'active' && p.trim().toLowerCase() === 'active') return 'active';
  if (CORE_ATTRIBUTES.has(attr)) return 'other';
  throw new ScimRequestError('invalidPath', `unknown path ${path.slice(0, 100)}`);
}

/** `active` from a value object: `{active}`, `{"urn:…:User:active"}` or `{"urn:…:User": {active}}`. */
function activeInValue(value: Record<string, unknown>): boolean | undefined {
  let active: boolean | undefined;
  for (const [key, raw] of Object.entries(value)) {
    const k = key.toLowerCase();
    if (k === 'active' || k === `${USER_SCHEMA.toLowerCase()}:active`) active = activeValue(raw);
    else if (
      k === USER_SCHEMA.toLowerCase() &&
      raw !== null &&
      typeof raw === 'object' &&
      !Array.isArray(raw)
    ) {
      const inner = activeInValue(raw as Record<string, unknown>);
      if (inner !== undefined) active = inner;
    }
  }
  return active;
}

/**
 * Reads the only thing Revoker acts on from a SCIM PatchOp: the new value of `active`, if set, in every
 * form RFC 7644 §3.5.2 allows and the clients send: `{op:"replace", path:"active", value:false}`,
 * the fully-qualified path `urn:ietf:params:scim:schemas:core:2.0:User:active`, no path with
 * `{value:{active:false}}` (Okta) or a URN-keyed value, `"op":"Replace"` and `"False"` (Entra).
 * Other known attributes are accepted and ignored (Revoker is not a user store). Pure; throws
 * ScimRequestError: invalidSyntax (not a PatchOp), invalidPath (unknown path), invalidValue (bad active).
 */
export function readActiveFromPatch(body: unknown): boolean | undefined {
  const parsed = PatchOpSchema.safeParse(body);
  if (!parsed.success)
    throw new ScimRequestError(
      'invalidSyntax',
      'not a SCIM PatchOp',
      parsed.error.issues.map((i) => i.message),
    );
  if (parsed.data.schemas && !parsed.data.schemas.includes(PATCH_OP_SCHEMA)) {
    throw new ScimRequestError('invalidSyntax', `schemas must include ${PATCH_OP_SCHEMA}`);
  }
  let active: boolean | undefined;
  for (const op of parsed.data.Operations) {
    if (op.path !== undefined) {
      const named = classifyPath(op.path);
      if (op.op === 'remove' || named !== 'active') continue;
      active = activeValue(op.value);
      continue;
    }
    if (op.op === 'remove') throw new ScimRequestError('noTarget', 'remove needs a path');
    if (op.value !== null && typeof op.value === 'object' && !Array.isArray(op.value)) {
      const v = activeInValue(op.value as Record<string, unknown>);
      if (v !== undefined) active = v;
    }
  }
  return active;
}

const PutUser = z.looseObject({
  schemas: z.array(z.string()).optional(),
  active: z.unknown().optional(),
});

/**
 * Reads `active` from a full User sent with PUT (RFC 7644 §3.5.1): Okta's custom (AIW) SCIM apps and
 * SailPoint without PATCH replace the whole user, `active:false` to deactivate. Undefined when absent.
 */
export function readActiveFromPut(body: unknown): boolean | undefined {
  const parsed = PutUser.safeParse(body);
  if (!parsed.success) throw new ScimRequestError('invalidSyntax', 'not a SCIM User');
  if (parsed.data.schemas && !parsed.data.schemas.some((s) => s === USER_SCHEMA)) {
    throw new ScimRequestError('invalidSyntax', `schemas must include ${USER_SCHEMA}`);
  }
  const fromUrn = activeInValue(parsed.data as Record<string, unknown>);
  return fromUrn;
}
