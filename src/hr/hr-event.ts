import { z } from 'zod';
import { sanitizeOutsideText } from '../domain/outside-text.ts';

/** What an HR delivery means for Revoker: the person is leaving, or no longer leaving. */
export const HR_EVENT_KINDS = ['terminate', 'cancel'] as const;
export type HrEventKind = (typeof HR_EVENT_KINDS)[number];

/**
 * One normalised HR event, whatever the vendor. `eventId` is the dedupe key within the source: the
 * vendor's event id, or sha256 of source+type+employee+timestamp when the vendor sends none.
 */
export const HrEventSchema = z
  .object({
    source: z.string().regex(/^[a-z0-9_-]{1,32}$/),
    eventId: z.string().min(1).max(256),
    employeeId: z.string().min(1).max(256),
    email: z.email().max(320).optional(),
    /** ISO-8601 with offset: when the termination takes effect. Absent ⇒ now. */
    effectiveAt: z.iso.datetime({ offset: true }).optional(),
    kind: z.enum(HR_EVENT_KINDS),
    /** The vendor's event type, for the audit trail and the fallback dedupe key. */
    type: z.string().max(128).optional(),
    reason: z.string().max(500).optional(),
    /**
     * When the vendor says the event happened (from the signed body, or the signed timestamp): replays
     * outside the window are refused, and a cancellation only calls off a request created before it.
     */
    occurredAt: z.iso.datetime({ offset: true }).optional(),
    /**
     * True when the delivery carried only ids: the worker fetches email, date and state from the
     * vendor's API before acting (never in the HTTP request, so the vendor gets its ack fast).
     */
    needsLookup: z.boolean().optional(),
  })
  .strict();
export type HrEvent = z.infer<typeof HrEventSchema>;

/**
 * The HR boundary for outside text: the vendor's ids, type and reason pass through sanitizeOutsideText
 * (a lone surrogate, a bidi override or a control character never reaches a job, Redis, the audit or Slack).
 * Applied where a delivery is normalised (hr-router) and again where a job is read (jobs enqueued before).
 */
export function sanitizeHrEvent(event: HrEvent): HrEvent {
  const clean = {
    ...event,
    eventId: sanitizeOutsideText(event.eventId),
    employeeId: sanitizeOutsideText(event.employeeId),
  };
  if (event.type !== undefined) clean.type = sanitizeOutsideText(event.type);
  if (event.reason !== undefined) clean.reason = sanitizeOutsideText(event.reason);
  return clean;
}
