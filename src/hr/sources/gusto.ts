/**
 * Source `gusto`.
 *
 * What Gusto documents (docs.gusto.com: webhooks, employee-events, changelog): the `X-Gusto-Signature`
 * header = hex HMAC-SHA256 of the raw payload keyed with the subscription's `verification_token`; no
 * timestamp is signed (Gusto retries up to 16 times with exponential backoff, so a 5-minute window would
 * refuse its own retries): the signed body's `timestamp` must be within HR_REPLAY_WINDOW_SECONDS (default
 * 1 day) and deliveries are deduplicated by the event `uuid`. Payload:
 * `{uuid, event_type, resource_type: "Company", resource_uuid, entity_type: "Employee", entity_uuid, timestamp}`
 * — ids only. Employee events used here:
 *  - `employee.terminated` (termination created, possibly for a future last day) ⇒ terminate, date and
 *    email fetched from `GET {GUSTO_API_URL}/v1/employees/{uuid}` (+ `/terminations`), Bearer token;
 *  - `employee.termination_effective` (also documented as `employee.terminated_effective`) ⇒ terminate now;
 *  - `employee.termination_cancelled`, `employee.rehired`, `employee.rehire_effective` ⇒ cancel.
 */
import { z } from 'zod';
import { ValidationError } from '../../domain/errors.ts';
import { hmac, safeEqual, sha256Hex } from '../crypto.ts';
import { type HrClock, terminationInstant } from '../dates.ts';
import { SignatureInvalidError } from '../errors.ts';
import type { HrConfig } from '../hr-config.ts';
import type { HrEvent, HrEventKind } from '../hr-event.ts';
import type { DeliveryHeaders, HrSource, VerifyInput } from '../source.ts';
import { parseEventTime } from '../time-window.ts';
import { vendorRequest } from '../vendor-http.ts';
import { issuesOf, parseJson } from './parse.ts';

const KINDS: Record<string, HrEventKind> = {
  'employee.terminated': 'terminate',
  'employee.termination_effective': 'terminate',
  'employee.terminated_effective': 'terminate',
  'employee.termination_cancelled': 'cancel',
  'employee.rehired': 'cancel',
  'employee.rehire_effective': 'cancel',
};

const Payload = z.object({
  uuid: z.string().min(1).max(128).optional(),
  event_type: z.string().min(1).max(128),
  entity_type: z.string().max(64).optional(),
  entity_uuid: z.string().min(1).max(128),
  timestamp: z.union([z.number(), z.string()]).optional(),
});

const Termination = z.looseObject({
  effective_date: z.string().nullish(),
  active: z.boolean().nullish(),
  cancelable: z.boolean().nullish(),
});
const Employee = z.looseObject({
  uuid: z.string().optional(),
  email: z.string().nullish(),
  work_email: z.string().nullish(),
  terminated: z.boolean().nullish(),
  terminations: z.array(Termination).nullish(),
});

export const gustoSource: HrSource = {
  name: 'gusto',
  eventTimeWindow: true,

  verify({ headers, rawBody, secret }: VerifyInput): void {
    // docs.gusto.com/app-integrations/docs/webhooks names the header `x_gusto_signature`; integrators
    // read `X-Gusto-Signature`. Either carries the same HMAC, so either spelling is read.
    const signature = headers['x-gusto-signature'] ?? headers.x_gusto_signature;
    if (!signature) throw new SignatureInvalidError('missing X-Gusto-Signature');
    const expected = hmac('sha256', secret, rawBody, 'hex');
    if (!safeEqual(signature.toLowerCase(), expected)) throw new SignatureInvalidError('signature mismatch');
  },

  normalise(rawBody: Buffer, _headers: DeliveryHeaders): HrEvent[] {
    const parsed = Payload.safeParse(parseJson(rawBody));
    if (!parsed.success) throw new ValidationError('unreadable Gusto event', issuesOf(parsed.error));
    const p = parsed.data;
    const kind = KINDS[p.event_type];
    if (!kind || (p.entity_type && p.entity_type !== 'Employee')) return [];
    return [
      {
        source: 'gusto',
        occurredAt: parseEventTime(p.timestamp),
        eventId: p.uuid ?? sha256Hex('gusto', p.event_type, p.entity_uuid, String(p.timestamp ?? '')),
        employeeId: p.entity_uuid,
        kind,
        type: p.event_type,
        needsLookup: kind === 'terminate' ? true : undefined,
      },
    ];
  },

  async lookup(event: HrEvent, config: HrConfig, clock?: HrClock): Promise<HrEvent | undefined> {
    if (!config.GUSTO_API_TOKEN)
      throw new ValidationError('GUSTO_API_TOKEN is needed to read Gusto employees');
    const request = (path: string) => ({
      method: 'GET' as const,
      url: `${config.GUSTO_API_URL}/v1/employees/${encodeURIComponent(event.employeeId)}${path}`,
      headers: { Accept: 'application/json', Authorization: `Bearer ${config.GUSTO_API_TOKEN}` },
      timeout: config.HR_API_TIMEOUT_MS,
    });
    const employee = await vendorRequest('Gusto', request(''), Employee);
    const email =
      [employee.work_email, employee.email].find((e) => e && z.email().safeParse(e).success) ?? undefined;
    if (event.type === 'employee.termination_effective' || event.type === 'employee.terminated_effective') {
      return { ...event, email, needsLookup: undefined };
    }
    const terminations =
      employee.terminations ?? (await vendorRequest('Gusto', request('/terminations'), z.array(Termination)));
    const active = terminations.filter((t) => t.active !== false && t.effective_date);
    if (active.length === 0) return { ...event, email, kind: 'cancel', needsLookup: undefined };
    const latest = active
      .map((t) => t.effective_date!)
      .sort()
      .at(-1);
    return { ...event, email, effectiveAt: terminationInstant(latest, 'end', clock), needsLookup: undefined };
  },

  sign(secret: string, rawBody: Buffer): Record<string, string> {
    return { 'x-gusto-signature': hmac('sha256', secret, rawBody, 'hex') };
  },
};
