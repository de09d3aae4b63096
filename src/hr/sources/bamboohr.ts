/**
 * Source `bamboohr`.
 *
 * What BambooHR documents (documentation.bamboohr.com/docs/webhooks, event-based-webhooks,
 * field-based-webhooks): every webhook has its own private key; each POST carries
 * `X-BambooHR-Timestamp` and `X-BambooHR-Signature` = hex HMAC-SHA256(private key, rawBody + timestamp).
 * The timestamp is shown as ISO-8601 (`2026-01-31T18:42:00+0000`); we also accept unix seconds. We
 * refuse timestamps more than 5 minutes off. Payloads come in either encoding BambooHR offers, JSON or
 * Form Post (URL-encoded, `data[employeeId]=67890`; documentation.bamboohr.com/docs/event-based-webhooks,
 * "Webhook Data Format"), read into the same shape:
 *  - event-based: `{type: employee.created|updated|deleted, timestamp, data: {companyId, employeeId, changedFields}}`
 *    — ids only, so the worker fetches `workEmail`, `status`, `terminationDate` from
 *    `GET {BAMBOOHR_API_URL}/v1/employees/{id}?fields=…` (Basic `apiKey:x`).
 *  - field-based: `{employees: [{id, action, timestamp, changedFields, fields}]}` — `fields` carries the
 *    posted fields under their names or aliases; used directly when status and email are there.
 * The employee's `status` decides (Inactive ⇒ terminated, Active ⇒ not), never a `terminationDate` alone:
 * whether BambooHR clears the old date on a rehire is undocumented, and a rehired person is Active.
 * Without a status, an employment status naming a termination decides. The date dates the termination.
 * No event id: the dedupe key is sha256(source, type, employee, body timestamp). Deletions are ignored
 * (the record, and its email, are gone; nothing to resolve).
 */
import { z } from 'zod';
import type { HrConfig } from '../../config/hr-settings.ts';
import { type HrClock, terminationInstant } from '../../domain/dates.ts';
import { ValidationError } from '../../domain/errors.ts';
import { hmac, safeEqual, sha256Hex } from '../crypto.ts';
import { SignatureInvalidError } from '../errors.ts';
import type { HrEvent } from '../hr-event.ts';
import type { LookupContext } from '../lookup-context.ts';
import { type DeliveryHeaders, type HrSource, IgnoredDelivery, type VerifyInput } from '../source.ts';
import { assertFresh, DEFAULT_TOLERANCE_MS, parseEventTime } from '../time-window.ts';
import { vendorRequest } from '../vendor-http.ts';
import { issuesOf, parseBody } from './parse.ts';

/** Field names / aliases whose change can mean a termination or its reversal. */
const TERMINATION_FIELDS = new Set(
  [
    'status',
    'Status',
    'employmentHistoryStatus',
    'Employment Status',
    'employmentStatus',
    'terminationDate',
    'Termination Date',
  ].map((f) => f.toLowerCase()),
);

const EventBased = z.object({
  type: z.string().min(1).max(128),
  timestamp: z.string().min(1).max(64),
  data: z.object({
    companyId: z.union([z.string(), z.number()]).optional(),
    employeeId: z.union([z.string().min(1).max(64), z.number().int()]).transform(String),
    changedFields: z.array(z.string()).optional(),
  }),
});

const FieldValue = z.union([z.string(), z.number(), z.null(), z.object({ value: z.unknown() })]);
const FieldBased = z.object({
  employees: z
    .array(
      z.object({
        id: z.union([z.string().min(1).max(64), z.number().int()]).transform(String),
        action: z.string().max(32).optional(),
        timestamp: z.string().max(64).optional(),
        changedFields: z.array(z.string()).optional(),
        fields: z.record(z.string(), FieldValue).optional(),
      }),
    )
    .min(1)
    .max(1000),
});

function touchesTermination(changed: string[] | undefined): boolean {
  return (changed ?? []).some((f) => TERMINATION_FIELDS.has(f.toLowerCase()));
}

function fieldString(
  fields: Record<string, z.infer<typeof FieldValue>>,
  ...names: string[]
): string | undefined {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  for (const [k, v] of Object.entries(fields)) {
    if (!wanted.has(k.toLowerCase())) continue;
    const raw = v !== null && typeof v === 'object' ? v.value : v;
    if (typeof raw === 'string' && raw.trim() !== '') return raw.trim();
    if (typeof raw === 'number') return String(raw);
  }
  return undefined;
}

/**
 * The status decides: Inactive ⇒ terminated (on the termination date when one is set), Active ⇒ not,
 * whatever date is left on the record. Without a status, an employment status naming a termination.
 */
function decide(
  status: string | undefined,
  employmentStatus: string | undefined,
  terminationDate: string | undefined,
  clock?: HrClock,
) {
  const terminated =
    status !== undefined ? status.toLowerCase() === 'inactive' : /terminat/i.test(employmentStatus ?? '');
  return terminated
    ? { kind: 'terminate' as const, effectiveAt: terminationInstant(terminationDate, 'end', clock) }
    : { kind: 'cancel' as const, effectiveAt: undefined };
}

const ApiEmployee = z.object({
  id: z.union([z.string(), z.number()]).optional(),
  workEmail: z.string().nullish(),
  status: z.string().nullish(),
  employmentHistoryStatus: z.string().nullish(),
  terminationDate: z.string().nullish(),
});

export const bamboohrSource: HrSource = {
  name: 'bamboohr',

  verify({ headers, rawBody, secret, now, toleranceMs = DEFAULT_TOLERANCE_MS, timeZone }: VerifyInput): void {
    const signature = headers['x-bamboohr-signature'];
    const timestamp = headers['x-bamboohr-timestamp'];
    if (!signature || !timestamp)
      throw new SignatureInvalidError('missing X-BambooHR-Signature or timestamp');
    assertFresh(timestamp, now, toleranceMs, timeZone);
    const expected = hmac('sha256', secret, Buffer.concat([rawBody, Buffer.from(timestamp, 'utf8')]), 'hex');
    if (!safeEqual(signature.toLowerCase(), expected)) throw new SignatureInvalidError('signature mismatch');
  },

  normalise(rawBody: Buffer, headers: DeliveryHeaders, clock?: HrClock): HrEvent[] {
    const body = parseBody(rawBody, headers);
    // The signed timestamp dates the event (each retry is signed anew, so it is the delivery's time).
    const occurredAt = parseEventTime(headers['x-bamboohr-timestamp'], clock?.timeZone);
    if (body !== null && typeof body === 'object' && 'employees' in body) {
      const parsed = FieldBased.safeParse(body);
      if (!parsed.success)
        throw new ValidationError('unreadable BambooHR field-based payload', issuesOf(parsed.error));
      const events: HrEvent[] = [];
      for (const e of parsed.data.employees) {
        if ((e.action ?? 'Updated').toLowerCase() !== 'updated' || !touchesTermination(e.changedFields))
          continue;
        const fields = e.fields ?? {};
        const email = fieldString(fields, 'workEmail', 'Work Email');
        const status = fieldString(fields, 'status', 'Status');
        const employment = fieldString(
          fields,
          'employmentHistoryStatus',
          'Employment Status',
          'employmentStatus',
        );
        const termination = fieldString(fields, 'terminationDate', 'Termination Date');
        const complete = email !== undefined && (status !== undefined || employment !== undefined);
        const decision = decide(status, employment, termination, clock);
        events.push({
          source: 'bamboohr',
          eventId: sha256Hex(
            'bamboohr',
            'employee_with_fields.updated',
            e.id,
            e.timestamp ?? rawBody.toString('base64'),
          ),
          employeeId: e.id,
          email: email && z.email().safeParse(email).success ? email : undefined,
          effectiveAt: decision.effectiveAt,
          kind: decision.kind,
          type: 'employee_with_fields.updated',
          ...(occurredAt ? { occurredAt } : {}),
          needsLookup: complete ? undefined : true,
        });
      }
      return events;
    }
    const parsed = EventBased.safeParse(body);
    if (!parsed.success) throw new ValidationError('unreadable BambooHR payload', issuesOf(parsed.error));
    const { type, timestamp, data } = parsed.data;
    if (type !== 'employee.updated') throw new IgnoredDelivery('unrelated_event');
    if (!touchesTermination(data.changedFields)) throw new IgnoredDelivery('not_offboarding');
    return [
      {
        source: 'bamboohr',
        eventId: sha256Hex('bamboohr', type, data.employeeId, timestamp),
        employeeId: data.employeeId,
        // Provisional: the API answer decides between terminate and cancel.
        kind: 'terminate',
        type,
        needsLookup: true,
        ...(occurredAt ? { occurredAt } : {}),
      },
    ];
  },

  async lookup(event: HrEvent, config: HrConfig, ctx?: LookupContext): Promise<HrEvent | undefined> {
    if (!config.BAMBOOHR_API_URL || !config.BAMBOOHR_API_KEY) {
      throw new ValidationError(
        'BAMBOOHR_API_URL and BAMBOOHR_API_KEY are needed to read BambooHR employees',
      );
    }
    const employee = await vendorRequest(
      'BambooHR',
      {
        method: 'GET',
        url: `${config.BAMBOOHR_API_URL}/v1/employees/${encodeURIComponent(event.employeeId)}`,
        params: { fields: 'workEmail,status,employmentHistoryStatus,terminationDate' },
        auth: { username: config.BAMBOOHR_API_KEY, password: 'x' },
        headers: { Accept: 'application/json' },
        timeout: config.HR_API_TIMEOUT_MS,
      },
      ApiEmployee,
    );
    const decision = decide(
      employee.status ?? undefined,
      employee.employmentHistoryStatus ?? undefined,
      employee.terminationDate ?? undefined,
      ctx?.hrClock,
    );
    const email =
      employee.workEmail && z.email().safeParse(employee.workEmail).success ? employee.workEmail : undefined;
    return {
      ...event,
      email,
      effectiveAt: decision.effectiveAt,
      kind: decision.kind,
      needsLookup: undefined,
    };
  },

  sign(secret: string, rawBody: Buffer, now: Date): Record<string, string> {
    const timestamp = now.toISOString().replace(/\.\d{3}Z$/, '+0000');
    return {
      'x-bamboohr-timestamp': timestamp,
      'x-bamboohr-signature': hmac(
        'sha256',
        secret,
        Buffer.concat([rawBody, Buffer.from(timestamp, 'utf8')]),
        'hex',
      ),
    };
  },
};
