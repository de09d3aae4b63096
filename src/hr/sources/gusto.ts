/**
 * Source `gusto`.
 *
 * What Gusto documents (docs.gusto.com: webhooks, employee-events, contractor-events, changelog): the
 * `X-Gusto-Signature` header = hex HMAC-SHA256 of the raw payload keyed with the subscription's
 * `verification_token`; no timestamp is signed (Gusto retries up to 16 times with exponential backoff,
 * span undocumented): the signed body's `timestamp` must be within the source's replay window (3 days,
 * src/hr/replay-windows.ts) and deliveries are deduplicated by the event `uuid`.
 *
 * Subscription set-up: "Before the subscription URL receives any event updates, it will first receive a
 * verification_token" — `{"verification_token": "…"}`, unsigned (it *is* the future signing key); it must
 * be sent back with `PUT /v1/webhook_subscriptions/{uuid}/verify` (docs.gusto.com/embedded-payroll/docs/webhooks).
 * It is recognised by `handshake`, answered 200 and kept (sealed) for the operator.
 *
 * Payload: `{uuid, event_type, resource_type: "Company", resource_uuid, entity_type, entity_uuid, timestamp}`
 * — ids only. Events used here (others are acknowledged and ignored):
 *  - `employee.terminated` (a termination was recorded, possibly for a future last day) ⇒ the worker reads
 *    `GET /v1/employees/{uuid}` (+ `/terminations`): each termination's `active` says "whether the
 *    termination has gone into effect" and `effective_date` is the last day of work. The latest termination
 *    decides: gone into effect while the employee is still terminated ⇒ now; pending ⇒ scheduled for the
 *    end of its last day; none, or an old one the employee was rehired after ⇒ nothing to do (cancel).
 *  - `employee.termination_effective` (also spelled `employee.terminated_effective`) ⇒ terminate now;
 *  - `employee.termination_cancelled`, `employee.rehired`, `employee.rehire_effective` ⇒ cancel;
 *  - contractors (entity `Contractor`): `contractor.deactivated` (recorded, maybe future-dated: its
 *    `dismissal_date`), `contractor.deactivation_effective` (the day after the end date) ⇒ terminate;
 *    `contractor.deactivation_cancelled`, `contractor.reactivated`, `contractor.reactivation_effective` ⇒ cancel
 *    (docs.gusto.com/embedded-payroll/changelog/added-contractor-lifecycle-webhooks-for-future-dated-transitions).
 * The IdP account is found by `work_email` only; `email` is the personal address and is never used.
 * Company access tokens expire after 2 hours: see src/hr/gusto-tokens.ts.
 */
import { z } from 'zod';
import type { HrConfig } from '../../config/hr-settings.ts';
import { type HrClock, terminationInstant } from '../../domain/dates.ts';
import { ValidationError } from '../../domain/errors.ts';
import { hmac, safeEqual, sha256Hex } from '../crypto.ts';
import { SignatureInvalidError, VendorLookupError } from '../errors.ts';
import { GustoTokens } from '../gusto-tokens.ts';
import type { HrEvent, HrEventKind } from '../hr-event.ts';
import type { LookupContext } from '../lookup-context.ts';
import { type DeliveryHeaders, type HrSource, IgnoredDelivery, type VerifyInput } from '../source.ts';
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
  'contractor.deactivated': 'terminate',
  'contractor.deactivation_effective': 'terminate',
  'contractor.deactivation_cancelled': 'cancel',
  'contractor.reactivated': 'cancel',
  'contractor.reactivation_effective': 'cancel',
};
/** Events that say the change has already taken effect: act now, whatever dates the API shows. */
const EFFECTIVE = new Set([
  'employee.termination_effective',
  'employee.terminated_effective',
  'contractor.deactivation_effective',
]);

const Envelope = z.looseObject({ event_type: z.string().min(1).max(128) });
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
  work_email: z.string().nullish(),
  terminated: z.boolean().nullish(),
  terminations: z.array(Termination).nullish(),
});
const Contractor = z.looseObject({
  uuid: z.string().optional(),
  work_email: z.string().nullish(),
  is_active: z.boolean().nullish(),
  dismissal_date: z.string().nullish(),
});

const VerificationToken = z.object({ verification_token: z.string().min(8).max(256) }).strict();

function workEmail(value: string | null | undefined): string | undefined {
  return value && z.email().safeParse(value).success ? value : undefined;
}

/** The employee's latest termination decides (see the header comment). */
function decideEmployee(
  employee: z.infer<typeof Employee>,
  terminations: z.infer<typeof Termination>[],
  clock?: HrClock,
) {
  const dated = terminations.filter((t) => t.effective_date);
  const latest = dated.sort((a, b) => a.effective_date!.localeCompare(b.effective_date!)).at(-1);
  if (!latest) return { kind: 'cancel' as const };
  if (latest.active) {
    // In effect; after a rehire Gusto shows the employee as not terminated: that old one is over.
    return employee.terminated === false ? { kind: 'cancel' as const } : { kind: 'terminate' as const };
  }
  return { kind: 'terminate' as const, effectiveAt: terminationInstant(latest.effective_date, 'end', clock) };
}

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

  handshake(rawBody: Buffer): string | undefined {
    if (rawBody.length > 512) return undefined;
    try {
      const parsed = VerificationToken.safeParse(JSON.parse(rawBody.toString('utf8')));
      return parsed.success ? parsed.data.verification_token : undefined;
    } catch {
      return undefined;
    }
  },

  normalise(rawBody: Buffer, _headers: DeliveryHeaders): HrEvent[] {
    const body = parseJson(rawBody);
    const envelope = Envelope.safeParse(body);
    if (envelope.success && !Object.hasOwn(KINDS, envelope.data.event_type))
      throw new IgnoredDelivery('unrelated_event');
    const parsed = Payload.safeParse(body);
    if (!parsed.success) throw new ValidationError('unreadable Gusto event', issuesOf(parsed.error));
    const p = parsed.data;
    const kind = KINDS[p.event_type]!;
    const entity = p.event_type.startsWith('contractor.') ? 'Contractor' : 'Employee';
    if (p.entity_type && p.entity_type !== entity) throw new IgnoredDelivery('unrelated_event');
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

  async lookup(event: HrEvent, config: HrConfig, ctx?: LookupContext): Promise<HrEvent | undefined> {
    const tokens = ctx ? new GustoTokens(config, ctx) : undefined;
    const get = <T extends z.ZodType>(path: string, schema: T) => {
      const call = (token: string) =>
        vendorRequest(
          'Gusto',
          {
            method: 'GET',
            url: `${config.GUSTO_API_URL}/v1${path}`,
            headers: { Accept: 'application/json', Authorization: `Bearer ${token}` },
            timeout: config.HR_API_TIMEOUT_MS,
          },
          schema,
        );
      if (tokens) return tokens.withToken(call);
      if (!config.GUSTO_API_TOKEN)
        throw new VendorLookupError('GUSTO_API_TOKEN is needed to read Gusto', true, 401);
      return call(config.GUSTO_API_TOKEN);
    };
    const id = encodeURIComponent(event.employeeId);
    const done = (fields: Partial<HrEvent>): HrEvent => ({ ...event, ...fields, needsLookup: undefined });

    if (event.type?.startsWith('contractor.')) {
      const contractor = await get(`/contractors/${id}`, Contractor);
      const email = workEmail(contractor.work_email);
      if (EFFECTIVE.has(event.type)) return done({ email });
      if (contractor.dismissal_date)
        return done({
          email,
          effectiveAt: terminationInstant(contractor.dismissal_date, 'end', ctx?.hrClock),
        });
      return contractor.is_active === false ? done({ email }) : done({ email, kind: 'cancel' });
    }

    const employee = await get(`/employees/${id}`, Employee);
    const email = workEmail(employee.work_email);
    if (event.type && EFFECTIVE.has(event.type)) return done({ email });
    const terminations =
      employee.terminations ?? (await get(`/employees/${id}/terminations`, z.array(Termination)));
    const decision = decideEmployee(employee, terminations, ctx?.hrClock);
    return done({ email, kind: decision.kind, effectiveAt: decision.effectiveAt });
  },

  sign(secret: string, rawBody: Buffer): Record<string, string> {
    return { 'x-gusto-signature': hmac('sha256', secret, rawBody, 'hex') };
  },
};
