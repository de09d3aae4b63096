/**
 * Source `deel`.
 *
 * What Deel documents (developer.deel.com: webhooks security, verification examples, event
 * contract.terminated): `x-deel-signature` = hex HMAC-SHA256(signing key, "POST" + raw body), compared
 * in constant time; no signed timestamp, so the body's `timestamp` dates a delivery (required; within HR_REPLAY_WINDOW_SECONDS,
 * default 1 day), and deliveries are deduplicated. Payload:
 * `{data: {meta: {event_type, event_type_id, organization_id, organization_name, tracking_id}, resource: {…}}, timestamp}`.
 * `contract.terminated` fires when a termination is completed and carries the contract `id` and
 * `completion_date` ⇒ terminate from the start of that day (today or past ⇒ now; a later date is kept).
 * The worker is a contract here: `employeeId` is the contract id; the worker's email is taken from
 * the resource when present, else from `GET {DEEL_API_URL}/contracts/{id}` (Bearer) `data.worker.email`.
 * Dedupe key: `meta.tracking_id` when present, else sha256(source, type, contract, timestamp).
 */
import { z } from 'zod';
import { ValidationError } from '../../domain/errors.ts';
import { hmac, safeEqual, sha256Hex } from '../crypto.ts';
import { type HrClock, terminationInstant } from '../dates.ts';
import { SignatureInvalidError } from '../errors.ts';
import type { HrConfig } from '../hr-config.ts';
import type { HrEvent } from '../hr-event.ts';
import type { DeliveryHeaders, HrSource, VerifyInput } from '../source.ts';
import { parseEventTime } from '../time-window.ts';
import { vendorRequest } from '../vendor-http.ts';
import { issuesOf, parseJson } from './parse.ts';

const Payload = z.object({
  data: z.object({
    meta: z.looseObject({
      event_type: z.string().min(1).max(128),
      tracking_id: z.string().min(1).max(256).optional(),
    }),
    resource: z.looseObject({
      id: z.union([z.string().min(1).max(128), z.number().int()]).transform(String),
      completion_date: z.string().max(64).nullish(),
      worker: z.looseObject({ email: z.string().nullish() }).nullish(),
    }),
  }),
  timestamp: z.string().max(64).optional(),
});

const Contract = z.object({
  data: z.looseObject({
    id: z.union([z.string(), z.number()]).optional(),
    worker: z.looseObject({ email: z.string().nullish() }).nullish(),
  }),
});

function validEmail(e: string | null | undefined): string | undefined {
  return e && z.email().safeParse(e).success ? e : undefined;
}

export const deelSource: HrSource = {
  name: 'deel',
  eventTimeWindow: true,

  verify({ headers, rawBody, secret }: VerifyInput): void {
    const signature = headers['x-deel-signature'];
    if (!signature) throw new SignatureInvalidError('missing x-deel-signature');
    const expected = hmac('sha256', secret, Buffer.concat([Buffer.from('POST'), rawBody]), 'hex');
    if (!safeEqual(signature.toLowerCase(), expected)) throw new SignatureInvalidError('signature mismatch');
  },

  normalise(rawBody: Buffer, _headers: DeliveryHeaders, clock?: HrClock): HrEvent[] {
    const parsed = Payload.safeParse(parseJson(rawBody));
    if (!parsed.success) throw new ValidationError('unreadable Deel event', issuesOf(parsed.error));
    const { data, timestamp } = parsed.data;
    if (data.meta.event_type !== 'contract.terminated') return [];
    const email = validEmail(data.resource.worker?.email);
    return [
      {
        source: 'deel',
        occurredAt: parseEventTime(timestamp),
        eventId:
          data.meta.tracking_id ?? sha256Hex('deel', data.meta.event_type, data.resource.id, timestamp ?? ''),
        employeeId: data.resource.id,
        email,
        // Deel sends contract.terminated once the contract has ended: a date of today means now.
        effectiveAt: terminationInstant(data.resource.completion_date, 'start', clock),
        kind: 'terminate',
        type: data.meta.event_type,
        needsLookup: email ? undefined : true,
      },
    ];
  },

  async lookup(event: HrEvent, config: HrConfig): Promise<HrEvent | undefined> {
    if (!config.DEEL_API_TOKEN) throw new ValidationError('DEEL_API_TOKEN is needed to read Deel contracts');
    const contract = await vendorRequest(
      'Deel',
      {
        method: 'GET',
        url: `${config.DEEL_API_URL}/contracts/${encodeURIComponent(event.employeeId)}`,
        headers: { Accept: 'application/json', Authorization: `Bearer ${config.DEEL_API_TOKEN}` },
        timeout: config.HR_API_TIMEOUT_MS,
      },
      Contract,
    );
    return { ...event, email: validEmail(contract.data.worker?.email), needsLookup: undefined };
  },

  sign(secret: string, rawBody: Buffer): Record<string, string> {
    return {
      'x-deel-signature': hmac('sha256', secret, Buffer.concat([Buffer.from('POST'), rawBody]), 'hex'),
    };
  },
};
