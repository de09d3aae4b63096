import { z } from 'zod';
import { TargetSchema } from './target.ts';

export const SOURCES = ['slack', 'hr', 'scim', 'cli', 'system', 'gtr'] as const;
export const SourceSchema = z.enum(SOURCES);
export type Source = z.infer<typeof SourceSchema>;

/**
 * Sources whose authority is an outside system, not a person in Slack: HR webhooks, SCIM deprovisioning,
 * Global Token Revocation (`gtr`), and — deny by default — any source added later: everything but Slack and
 * the CLI. They are announced in the notify channel, stopped only by the stop vote (two people, never the
 * person leaving), and a protected user still needs an approval.
 */
export function isAutomatedSource(source: string): boolean {
  return source !== 'slack' && source !== 'cli';
}

/** Who asked: a Slack user id, an HR source name, the SCIM client, a shell user. */
export const ActorSchema = z
  .object({
    source: SourceSchema,
    id: z.string().min(1).max(256),
    name: z.string().max(256).optional(),
  })
  .strict();
export type Actor = z.infer<typeof ActorSchema>;

export const REQUEST_STATES = [
  'pending_approval',
  'approved',
  'denied',
  'expired',
  'cancelled',
  'scheduled',
  'queued',
  'running',
  'verified',
  /** Done, but the IdP offers no way to observe the result: never shown as verified. */
  'unverifiable',
  'failed',
] as const;
export const RequestStateSchema = z.enum(REQUEST_STATES);
export type RequestState = z.infer<typeof RequestStateSchema>;
export const TERMINAL_STATES: readonly RequestState[] = [
  'denied',
  'expired',
  'cancelled',
  'verified',
  'unverifiable',
  'failed',
];

/**
 * Every trigger (Slack, HR, SCIM, CLI) becomes one RevocationRequest (DESIGN §1).
 * `id` is chosen by the intake so that a repeated trigger maps to the same id (idempotency).
 */
export const RevocationRequestSchema = z
  .object({
    id: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[A-Za-z0-9_.:-]+$/),
    target: TargetSchema,
    reason: z.string().max(2000),
    requestedBy: ActorSchema,
    source: SourceSchema,
    /** ISO-8601; in the future ⇒ the revocation is scheduled for then. */
    effectiveAt: z.iso.datetime({ offset: true }).optional(),
    createdAt: z.iso.datetime({ offset: true }),
    /**
     * The connection (identity system) it revokes in (src/connections/): only that connection's workers
     * run it. Absent in requests made before connections existed: the primary connection's.
     */
    connection: z.string().min(1).max(64).optional(),
    /**
     * A fanned-out user revocation's part in one connection (issue 22): the parent request's id. Children are
     * started by the parent, announced through it and never listed on their own.
     */
    parent: z.string().min(1).max(128).optional(),
  })
  .strict();
export type RevocationRequest = z.infer<typeof RevocationRequestSchema>;
