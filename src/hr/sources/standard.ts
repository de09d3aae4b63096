/**
 * Source `standard`: Standard Webhooks (https://www.standardwebhooks.com), generic JSON (DESIGN §5).
 *
 * What the spec documents: headers `webhook-id` (stable across retries: the dedupe key),
 * `webhook-timestamp` (unix seconds), `webhook-signature` (space-separated `v1,<base64>` entries);
 * signature = base64 HMAC-SHA256 over `${id}.${timestamp}.${body}` keyed with the base64 part of the
 * `whsec_…` secret; receivers refuse timestamps more than 5 minutes off. Signing uses the
 * `standardwebhooks` package; the window is checked here so the clock can be injected.
 */
import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { ValidationError } from '../../domain/errors.ts';
import { safeEqual } from '../crypto.ts';
import { SignatureInvalidError } from '../errors.ts';
import type { HrEvent } from '../hr-event.ts';
import type { DeliveryHeaders, HrSource, VerifyInput } from '../source.ts';
import { assertFresh, DEFAULT_TOLERANCE_MS } from '../time-window.ts';
import { issuesOf, parseJson } from './parse.ts';

const PayloadSchema = z.object({
  type: z.enum(['employee.terminated', 'employee.termination_cancelled']),
  data: z.object({
    employeeId: z.string().min(1).max(256),
    email: z.email().max(320).optional(),
    effectiveAt: z.iso.datetime({ offset: true }).optional(),
    reason: z.string().max(500).optional(),
  }),
});

function webhook(secret: string): Webhook {
  try {
    return new Webhook(secret);
  } catch {
    throw new SignatureInvalidError('HR_STANDARD_SECRET is not a valid whsec_ secret');
  }
}

/** Decoded signing keys by secret (one or two live secrets in practice: bounded anyway). */
const keys = new Map<string, Buffer>();

function keyOf(secret: string): Buffer {
  let key = keys.get(secret);
  if (!key) {
    // The package validates the secret exactly as signing does (same error for a bad one); once it
    // accepted it, the base64 is well-formed and Buffer decodes it to the same bytes.
    webhook(secret);
    key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
    if (keys.size >= 16) keys.clear();
    keys.set(secret, key);
  }
  return key;
}

/**
 * `v1,<base64 HMAC-SHA256(key, "${id}.${seconds}.${body}")>`, as `Webhook.sign` computes it (the body
 * read as UTF-8, like the package does), on node:crypto: the package's pure-JS SHA-256 was the
 * biggest single CPU cost in the intake path. Signing still goes through the package, so tests check one against
 * the other.
 */
function expectedSignature(secret: string, id: string, at: Date, rawBody: Buffer): string {
  const seconds = Math.floor(at.getTime() / 1000);
  const mac = createHmac('sha256', keyOf(secret)).update(
    `${id}.${seconds}.${rawBody.toString('utf8')}`,
    'utf8',
  );
  return `v1,${mac.digest('base64')}`;
}

export const standardSource: HrSource = {
  name: 'standard',

  verify({ headers, rawBody, secret, now, toleranceMs = DEFAULT_TOLERANCE_MS }: VerifyInput): void {
    const id = headers['webhook-id'];
    const signature = headers['webhook-signature'];
    if (!id || !signature) throw new SignatureInvalidError('missing webhook-id or webhook-signature');
    const at = assertFresh(headers['webhook-timestamp'], now, toleranceMs);
    const expected = expectedSignature(secret, id, at, rawBody);
    // Several entries during secret rotation; any one valid v1 entry is enough. Compare all (no early exit).
    let ok = false;
    for (const candidate of signature.split(' ')) {
      if (safeEqual(candidate, expected)) ok = true;
    }
    if (!ok) throw new SignatureInvalidError('signature mismatch');
  },

  normalise(rawBody: Buffer, headers: DeliveryHeaders): HrEvent[] {
    const parsed = PayloadSchema.safeParse(parseJson(rawBody));
    if (!parsed.success) {
      throw new ValidationError('not a generic HR event', issuesOf(parsed.error));
    }
    const { type, data } = parsed.data;
    return [
      {
        source: 'standard',
        eventId: headers['webhook-id']!,
        employeeId: data.employeeId,
        email: data.email,
        effectiveAt: data.effectiveAt,
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
