import type { HrConfig } from '../config/hr-settings.ts';
import type { HrClock } from '../domain/dates.ts';
import type { HrEvent } from './hr-event.ts';
import type { LookupContext } from './lookup-context.ts';

/** Request headers, names lower-cased (as node gives them). */
export type DeliveryHeaders = Record<string, string | undefined>;

export interface VerifyInput {
  headers: DeliveryHeaders;
  /** The body exactly as received: signatures cover bytes, not parsed JSON. */
  rawBody: Buffer;
  secret: string;
  now: Date;
  /** Window for timestamped schemes, ms (default 5 minutes). */
  toleranceMs?: number;
  /** The source's zone (HR_<SOURCE>_TIME_ZONE / HR_TIME_ZONE), for a signed time without an offset. */
  timeZone?: string;
}

/**
 * One HR vendor: how it signs, what its payloads mean, how to fetch what the payload leaves out.
 * `verify` and `normalise` are pure (clock passed in) so they are tested without a server.
 */
export interface HrSource {
  readonly name: string;
  /**
   * True for vendors that sign no timestamp: each event's `occurredAt` (from the signed body) must fall
   * within the replay window, or the delivery is refused.
   */
  readonly eventTimeWindow?: boolean;
  /** Throws SignatureInvalidError / SignatureStaleError. */
  verify(input: VerifyInput): void;
  /**
   * Reads a verified body. Returns the events it carries ([] when nothing concerns offboarding, e.g.
   * a ping or a job-title change); throws ValidationError with the reason when it cannot be read.
   * `clock`: the source's time zone and OFFBOARDING_AT, for dates and zone-less times (default UTC, end of day).
   */
  normalise(rawBody: Buffer, headers: DeliveryHeaders, clock?: HrClock): HrEvent[];
  /**
   * Worker side, for events with `needsLookup`: completes email / date / kind from the vendor's API.
   * Returns undefined when the vendor says there is nothing to do.
   */
  lookup?(event: HrEvent, config: HrConfig, ctx?: LookupContext): Promise<HrEvent | undefined>;
  /**
   * A set-up request the vendor sends before it signs anything (Gusto POSTs `{verification_token}` when a
   * subscription is created): returns the value to keep for the operator, or undefined if `rawBody` is
   * not one. Checked before the signature, so it must recognise only that exact shape.
   */
  handshake?(rawBody: Buffer, headers: DeliveryHeaders): string | undefined;
  /** Headers a delivery of `rawBody` carries when the vendor sends it (demo, e2e tests). */
  sign(secret: string, rawBody: Buffer, now: Date, deliveryId?: string): Record<string, string>;
}

/**
 * Thrown by `normalise` for a verified delivery Revoker deliberately does not act on: it is answered
 * 202 `ignored` (vendors retry and eventually disable endpoints that answer 4xx to events they sent on
 * purpose) and counted in the refusal log under `reason`, a code from a small fixed set.
 */
export class IgnoredDelivery extends Error {
  constructor(readonly reason: 'unrelated_event' | 'simulation' | 'ping' | 'not_offboarding') {
    super(`ignored: ${reason}`);
  }
}
