import { z } from 'zod';

/**
 * RFC 9493 subject identifiers, the formats Global Token Revocation's `sub_id` uses
 * (draft-parecki-oauth-global-token-revocation-06 §3.2): `email` (RFC 9493 §3.2.2), `iss_sub` (§3.2.3),
 * `opaque` (§3.2.4). Other registered formats (`account`, `phone_number`, `did`, `uri`, `aliases`) are
 * not sent by Revoker and are answered 400 where Revoker receives.
 */
export const SubjectIdentifierSchema = z.discriminatedUnion('format', [
  z.object({ format: z.literal('email'), email: z.string().email().max(320) }),
  z.object({
    format: z.literal('iss_sub'),
    iss: z.string().min(1).max(2048),
    sub: z.string().min(1).max(256),
  }),
  z.object({ format: z.literal('opaque'), id: z.string().min(1).max(256) }),
]);
export type SubjectIdentifier = z.infer<typeof SubjectIdentifierSchema>;

/** The draft's request body: a single property `sub_id` (§3.2). */
export const GtrRequestBodySchema = z.object({ sub_id: z.object({ format: z.string() }).passthrough() });

/** How a subject is shown in logs and errors: the format and, for email, the address (never a secret). */
export function describeSubject(s: SubjectIdentifier): string {
  if (s.format === 'email') return s.email;
  if (s.format === 'opaque') return `opaque id ${s.id}`;
  return `${s.sub} at ${s.iss}`;
}

/**
 * Parses a received `sub_id`: `{ ok: false, reason }` for a body that is not the draft's shape or a format
 * Revoker does not support (both 400, §3.4.2 "unrecognized or unsupported type of subject identifier").
 */
export function parseSubjectIdentifier(
  body: unknown,
  supported: readonly SubjectIdentifier['format'][],
): { ok: true; subject: SubjectIdentifier } | { ok: false; reason: 'malformed' | 'unsupported_format' } {
  const shape = GtrRequestBodySchema.safeParse(body);
  if (!shape.success) return { ok: false, reason: 'malformed' };
  const format = shape.data.sub_id.format;
  if (!(supported as readonly string[]).includes(format)) return { ok: false, reason: 'unsupported_format' };
  const parsed = SubjectIdentifierSchema.safeParse(shape.data.sub_id);
  if (!parsed.success) return { ok: false, reason: 'malformed' };
  return { ok: true, subject: parsed.data };
}
