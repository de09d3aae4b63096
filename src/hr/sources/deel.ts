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
 * The worker is a contract here: `employeeId` is the contract id. The worker's `email` (in the resource
 * or the contract) is the address they sign in to Deel with and may be personal, so it is never used to
 * find the IdP account: the worker reads the contract (`GET {DEEL_API_URL}/contracts/{id}`, Bearer) for the
 * worker id, then the person (`GET {DEEL_API_URL}/people/{worker id}`) for their `work_email`.
 * Simulated deliveries ("The payload is marked with `is_simulation: true`", developer.deel.com/api/webhooks/simulations)
 * and other event types (whose `resource` may be a list) are acknowledged and ignored.
 * Dedupe key: `meta.tracking_id` when present, else sha256(source, type, contract, timestamp).
 */
import { z } from 'zod';
import type { HrConfig } from '../../config/hr-settings.ts';
import { type HrClock, terminationInstant } from '../../domain/dates.ts';
import { ValidationError } from '../../domain/errors.ts';
import { hmac, safeEqual, sha256Hex } from '../crypto.ts';
import { SignatureInvalidError } from '../errors.ts';
import type { HrEvent } from '../hr-event.ts';
import { type DeliveryHeaders, type HrSource, IgnoredDelivery, type VerifyInput } from '../source.ts';
import { parseEventTime } from '../time-window.ts';
import { vendorRequest } from '../vendor-http.ts';
import { issuesOf, parseJson } from './parse.ts';

const Envelope = z.looseObject({
  is_simulation: z.unknown().optional(),
  data: z.looseObject({
    meta: z.looseObject({ event_type: z.string().min(1).max(128), is_simulation: z.unknown().optional() }),
  }),
});
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
    worker: z.looseObject({ id: z.union([z.string(), z.number()]).transform(String).nullish() }).nullish(),
  }),
});
/** GET /people/{worker_id} (developer.deel.com/api-reference, People). */
const Person = z.object({
  data: z.looseObject({
    work_email: z.string().nullish(),
    emails: z.array(z.looseObject({ type: z.string().nullish(), value: z.string().nullish() })).nullish(),
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
    const body = parseJson(rawBody);
    const envelope = Envelope.safeParse(body);
    if (envelope.success) {
      if (envelope.data.is_simulation === true || envelope.data.data.meta.is_simulation === true)
        throw new IgnoredDelivery('simulation');
      if (envelope.data.data.meta.event_type !== 'contract.terminated')
        throw new IgnoredDelivery('unrelated_event');
    }
    const parsed = Payload.safeParse(body);
    if (!parsed.success) throw new ValidationError('unreadable Deel event', issuesOf(parsed.error));
    const { data, timestamp } = parsed.data;
    return [
      {
        source: 'deel',
        occurredAt: parseEventTime(timestamp),
        eventId:
          data.meta.tracking_id ?? sha256Hex('deel', data.meta.event_type, data.resource.id, timestamp ?? ''),
        employeeId: data.resource.id,
        // Deel sends contract.terminated once the contract has ended: a date of today means now.
        effectiveAt: terminationInstant(data.resource.completion_date, 'start', clock),
        kind: 'terminate',
        type: data.meta.event_type,
        needsLookup: true,
      },
    ];
  },

  async lookup(event: HrEvent, config: HrConfig): Promise<HrEvent | undefined> {
    if (!config.DEEL_API_TOKEN) throw new ValidationError('DEEL_API_TOKEN is needed to read Deel contracts');
    const get = <T extends z.ZodType>(path: string, schema: T) =>
      vendorRequest(
        'Deel',
        {
          method: 'GET',
          url: `${config.DEEL_API_URL}${path}`,
          headers: { Accept: 'application/json', Authorization: `Bearer ${config.DEEL_API_TOKEN}` },
          timeout: config.HR_API_TIMEOUT_MS,
        },
        schema,
      );
    const contract = await get(`/contracts/${encodeURIComponent(event.employeeId)}`, Contract);
    const workerId = contract.data.worker?.id;
    if (!workerId) return { ...event, email: undefined, needsLookup: undefined };
    const person = await get(`/people/${encodeURIComponent(workerId)}`, Person);
    const email =
      validEmail(person.data.work_email) ??
      validEmail(person.data.emails?.find((e) => e.type?.toLowerCase() === 'work')?.value);
    return { ...event, email, needsLookup: undefined };
  },

  sign(secret: string, rawBody: Buffer): Record<string, string> {
    return {
      'x-deel-signature': hmac('sha256', secret, Buffer.concat([Buffer.from('POST'), rawBody]), 'hex'),
    };
  },
};
