/**
 * Source `standard`: Standard Webhooks (https://www.standardwebhooks.com), generic JSON (DESIGN §5).
 *
 * What the spec documents: headers `webhook-id` (stable across retries: the dedupe key),
 * `webhook-timestamp` (unix seconds), `webhook-signature` (space-separated `v1,<base64>` entries);
 * signature = base64 HMAC-SHA256 over `${id}.${timestamp}.${body}` keyed with the base64 part of the
 * `whsec_…` secret; receivers refuse timestamps more than 5 minutes off. Signatures are computed by the
 * `standardwebhooks` package; the window is checked here so the clock can be injected.
 *
 * Event time: the payload's optional `timestamp` is "when the event occurred (not … delivered)"
 * (spec, "Payload structure"); when absent, the signed `webhook-timestamp` dates the event. Retries carry
 * a fresh `webhook-timestamp`, so the payload's `timestamp` is what orders a cancellation after its
 * termination. Event types other than the two below are acknowledged and ignored.
 */
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { type HrClock, terminationInstant } from '../../domain/dates.ts';
import { ValidationError } from '../../domain/errors.ts';
import { safeEqual } from '../crypto.ts';
import { SignatureInvalidError } from '../errors.ts';
import type { HrEvent } from '../hr-event.ts';
import { type DeliveryHeaders, type HrSource, IgnoredDelivery, type VerifyInput } from '../source.ts';
import { assertFresh, DEFAULT_TOLERANCE_MS, parseEventTime } from '../time-window.ts';
import { issuesOf, parseJson } from './parse.ts';

const TYPES = ['employee.terminated', 'employee.termination_cancelled'] as const;
const Envelope = z.looseObject({ type: z.string().min(1).max(128) });
const PayloadSchema = z.object({
  type: z.enum(TYPES),
  timestamp: z.iso.datetime({ offset: true }).optional(),
  data: z.object({
    employeeId: z.string().min(1).max(256),
    email: z.email().max(320).optional(),
    // With an offset as it is; a date or a zone-less time is read on the source's clock (dates.ts).
    effectiveAt: z
      .union([z.iso.datetime({ offset: true }), z.iso.datetime({ local: true }), z.iso.date()])
      .optional(),
    reason: z.string().max(500).optional(),
  }),
});

const WITH_OFFSET = z.iso.datetime({ offset: true });

function webhook(secret: string): Webhook {
  try {
    return new Webhook(secret);
  } catch {
    throw new SignatureInvalidError('HR_STANDARD_SECRET is not a valid whsec_ secret');
  }
}

/** One Webhook per secret (one or two live secrets in practice: bounded anyway). */
const webhooks = new Map<string, Webhook>();

function cachedWebhook(secret: string): Webhook {
  let wh = webhooks.get(secret);
  if (!wh) {
    wh = webhook(secret);
    if (webhooks.size >= 16) webhooks.clear();
    webhooks.set(secret, wh);
  }
  return wh;
}

export const standardSource: HrSource = {
  name: 'standard',

  verify({ headers, rawBody, secret, now, toleranceMs = DEFAULT_TOLERANCE_MS }: VerifyInput): void {
    const id = headers['webhook-id'];
    const signature = headers['webhook-signature'];
    if (!id || !signature) throw new SignatureInvalidError('missing webhook-id or webhook-signature');
    const at = assertFresh(headers['webhook-timestamp'], now, toleranceMs);
    // The package computes the signature; the window is checked above, so the clock can be injected.
    const expected = cachedWebhook(secret).sign(id, at, rawBody);
    // Several entries during secret rotation; any one valid v1 entry is enough. Compare all (no early exit).
    let ok = false;
    for (const candidate of signature.split(' ')) {
      if (safeEqual(candidate, expected)) ok = true;
    }
    if (!ok) throw new SignatureInvalidError('signature mismatch');
  },

  normalise(rawBody: Buffer, headers: DeliveryHeaders, clock?: HrClock): HrEvent[] {
    const body = parseJson(rawBody);
    const envelope = Envelope.safeParse(body);
    if (envelope.success && !(TYPES as readonly string[]).includes(envelope.data.type)) {
      throw new IgnoredDelivery('unrelated_event');
    }
    const parsed = PayloadSchema.safeParse(body);
    if (!parsed.success) {
      throw new ValidationError('not a generic HR event', issuesOf(parsed.error));
    }
    const { type, data, timestamp } = parsed.data;
    return [
      {
        source: 'standard',
        occurredAt: parseEventTime(timestamp) ?? parseEventTime(headers['webhook-timestamp']),
        eventId: headers['webhook-id']!,
        employeeId: data.employeeId,
        email: data.email,
        // An instant is kept as sent; a date or zone-less time is placed on the source's clock.
        effectiveAt: WITH_OFFSET.safeParse(data.effectiveAt).success
          ? data.effectiveAt
          : terminationInstant(data.effectiveAt, 'end', clock),
        kind: type === 'employee.terminated' ? 'terminate' : 'cancel',
        type,
        reason: data.reason,
      },
    ];
  },

  sign(secret: string, rawBody: Buffer, now: Date, deliveryId?: string): Record<string, string> {
    const id = deliveryId ?? `msg_${now.getTime().toString(36)}`;
    return {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': webhook(secret).sign(id, now, rawBody),
    };
  },
};
