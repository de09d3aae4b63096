/**
 * Source `hibob`.
 *
 * What HiBob documents (apidocs.hibob.com: working-with-webhooks, employee-data-webhooks, webhook
 * event references): the `Bob-Signature` header = base64 HMAC-SHA512(secret, raw body); no timestamp
 * is signed, so the signed body's `triggeredAt` (UTC) dates a delivery: it must be within the replay window
 * (HR_REPLAY_WINDOW_SECONDS, default 1 day), and deliveries are deduplicated. On connection Bob
 * sends a test POST, the string `Ping test` or `{"text":"Ping test"}`: answered 2xx, nothing enqueued.
 * Webhooks v2 payload: `{companyId, type, triggeredBy, triggeredAt, version: "v2", data: {employeeId, …}}`,
 * ids only ("call Bob's Public API to fetch the full details"). Lifecycle events fire at midnight of
 * the effective date (site timezone), so they mean "now":
 *  - `employee.left` (terminated or garden leave), `employee.access.revoked.immediately` ⇒ terminate;
 *  - `employee.inactivated` means "on leave or terminated": the worker reads the person's lifecycle status
 *    (`internal.lifecycleStatus`) and terminates only a termination — a leave revokes only with
 *    HR_HIBOB_LEAVE_REVOKES=true (default: people on parental leave keep their access);
 *  - `employee.activated`, `employee.joined` (back / rehired) ⇒ cancel any pending termination.
 * Other event types (and their payloads, which may carry no `employeeId`) are acknowledged and ignored.
 * No event id: dedupe key = sha256(source, type, employee, triggeredAt). Email comes from the payload
 * when present, else from `POST {HIBOB_API_URL}/v1/people/search` (Basic service-user id:token):
 * `root.email` is the work email; the personal one (`home.privateEmail`) is never read.
 */
import { z } from 'zod';
import type { HrConfig } from '../../config/hr-settings.ts';
import { ValidationError } from '../../domain/errors.ts';
import { hmac, safeEqual, sha256Hex } from '../crypto.ts';
import { SignatureInvalidError } from '../errors.ts';
import type { HrEvent, HrEventKind } from '../hr-event.ts';
import { type DeliveryHeaders, type HrSource, IgnoredDelivery, type VerifyInput } from '../source.ts';
import { parseEventTime } from '../time-window.ts';
import { vendorRequest } from '../vendor-http.ts';
import { issuesOf, parseJson } from './parse.ts';

const KINDS: Record<string, HrEventKind> = {
  'employee.left': 'terminate',
  'employee.inactivated': 'terminate',
  'employee.access.revoked.immediately': 'terminate',
  'employee.activated': 'cancel',
  'employee.joined': 'cancel',
};

const Envelope = z.looseObject({ type: z.string().min(1).max(128) });
const Payload = z.object({
  type: z.string().min(1).max(128),
  triggeredAt: z.string().min(1).max(64),
  data: z.looseObject({
    employeeId: z.union([z.string().min(1).max(64), z.number().int()]).transform(String),
    email: z.string().max(320).optional(),
  }),
});

const SearchAnswer = z.object({
  employees: z.array(
    z.looseObject({
      id: z.union([z.string(), z.number()]).transform(String),
      email: z.string().nullish(),
      internal: z.looseObject({ lifecycleStatus: z.string().nullish() }).nullish(),
    }),
  ),
});

function isPing(rawBody: Buffer): boolean {
  const text = rawBody.toString('utf8').trim();
  return text === 'Ping test' || text === '"Ping test"' || /^\{\s*"text"\s*:\s*"Ping test"\s*\}$/.test(text);
}

export const hibobSource: HrSource = {
  name: 'hibob',
  eventTimeWindow: true,

  verify({ headers, rawBody, secret }: VerifyInput): void {
    const signature = headers['bob-signature'];
    if (!signature) throw new SignatureInvalidError('missing Bob-Signature');
    const expected = hmac('sha512', secret, rawBody, 'base64');
    if (!safeEqual(signature, expected)) throw new SignatureInvalidError('signature mismatch');
  },

  normalise(rawBody: Buffer, _headers: DeliveryHeaders): HrEvent[] {
    if (isPing(rawBody)) throw new IgnoredDelivery('ping');
    const body = parseJson(rawBody);
    const envelope = Envelope.safeParse(body);
    if (envelope.success && !Object.hasOwn(KINDS, envelope.data.type))
      throw new IgnoredDelivery('unrelated_event');
    const parsed = Payload.safeParse(body);
    if (!parsed.success) throw new ValidationError('unreadable HiBob payload', issuesOf(parsed.error));
    const { type, triggeredAt, data } = parsed.data;
    const kind = KINDS[type]!;
    const email = data.email && z.email().safeParse(data.email).success ? data.email : undefined;
    return [
      {
        source: 'hibob',
        occurredAt: parseEventTime(triggeredAt),
        eventId: sha256Hex('hibob', type, data.employeeId, triggeredAt),
        employeeId: data.employeeId,
        email,
        kind,
        type,
        // inactivated: the lifecycle status says whether it is a leave or a termination.
        needsLookup: (kind === 'terminate' && !email) || type === 'employee.inactivated' ? true : undefined,
      },
    ];
  },

  async lookup(event: HrEvent, config: HrConfig): Promise<HrEvent | undefined> {
    const inactivated = event.type === 'employee.inactivated';
    if (!config.HIBOB_API_USER || !config.HIBOB_API_TOKEN) {
      throw new ValidationError('HIBOB_API_USER and HIBOB_API_TOKEN are needed to read HiBob employees');
    }
    const answer = await vendorRequest(
      'HiBob',
      {
        method: 'POST',
        url: `${config.HIBOB_API_URL}/v1/people/search`,
        auth: { username: config.HIBOB_API_USER, password: config.HIBOB_API_TOKEN },
        headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
        data: {
          fields: ['root.id', 'root.email', ...(inactivated ? ['internal.lifecycleStatus'] : [])],
          filters: [{ fieldPath: 'root.id', operator: 'equals', values: [event.employeeId] }],
          showInactive: true,
        },
        timeout: config.HR_API_TIMEOUT_MS,
      },
      SearchAnswer,
    );
    const person = answer.employees.find((e) => e.id === event.employeeId);
    if (inactivated) {
      const terminated = /terminat/i.test(person?.internal?.lifecycleStatus ?? '');
      // A leave (or a status HiBob did not give): not a termination unless the setting says leave revokes.
      if (!terminated && !config.HR_HIBOB_LEAVE_REVOKES) return undefined;
    }
    const fromApi = person?.email && z.email().safeParse(person.email).success ? person.email : undefined;
    return { ...event, email: event.email ?? fromApi, needsLookup: undefined };
  },

  sign(secret: string, rawBody: Buffer): Record<string, string> {
    return { 'bob-signature': hmac('sha512', secret, rawBody, 'base64') };
  },
};
