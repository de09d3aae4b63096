import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { AuditLog } from '../audit/types.ts';
import {
  ConflictError,
  ErrorCode,
  InvalidTransitionError,
  isCodedError,
  RevokerError,
} from '../domain/errors.ts';
import { type Actor, type RequestState, TERMINAL_STATES } from '../domain/request.ts';
import { type IdentityProvider, userDisplayName } from '../identity/port.ts';
import type { Notifier } from '../intake/notifier.ts';
import type { Intake } from '../intake/types.ts';
import type { Logger } from '../log.ts';
import { clockFor, type HrClocks } from './dates.ts';
import { VendorLookupError } from './errors.ts';
import { type HrConfig, loadHrConfig } from './hr-config.ts';
import type { HrEvent } from './hr-event.ts';
import { hrDedupeKey } from './hr-event-queue.ts';
import { HR_SOURCES } from './registry.ts';
import { replayWindowMs } from './replay-windows.ts';
import type { HrSource } from './source.ts';

export interface HrProcessorDeps {
  idp: IdentityProvider;
  intake: Intake;
  audit: AuditLog;
  notifier: Notifier;
  /** For the per-employee pending request (`{prefix}:hr:pending:{source}:{employeeId}`) and lock. */
  redis: Redis;
  /** Key prefix (REVOKER_PREFIX). */
  prefix: string;
  /** Default `() => new Date()`. */
  clock?: () => Date;
  /** Vendor API access for id-only deliveries; default `loadHrConfig(process.env)`. */
  hrConfig?: HrConfig;
  /** Default the built-in registry. */
  sources?: Readonly<Record<string, HrSource>>;
  /** Default silent. */
  logger?: Logger;
  /**
   * Per source (`HR_<SOURCE>_DOMAINS`): the email domains it may offboard. A source listed here cannot
   * terminate anyone outside them (e.g. a subsidiary's HR system and the parent's admins); a source not
   * listed is unrestricted.
   */
  domains?: Readonly<Record<string, readonly string[]>>;
  /**
   * Per source (`HR_<SOURCE>_GROUPS`): IdP groups it may offboard. With both, a user in a listed domain
   * or a listed group is in scope; an IdP that reports no groups leaves a group-only source with nobody.
   */
  groups?: Readonly<Record<string, readonly string[]>>;
  /**
   * The company's clock per source (HR_TIME_ZONE, HR_<SOURCE>_TIME_ZONE, OFFBOARDING_AT): dates from a
   * vendor's API take effect on it, and the request records its zone so people see times in it.
   * Default UTC, end of day.
   */
  clocks?: HrClocks;
}

export type HrOutcome =
  | { action: 'submitted' | 'duplicate' | 'rescheduled' | 'unchanged' | 'cancelled'; requestId: string }
  | { action: 'not_cancellable'; requestId: string; state: RequestState }
  | { action: 'nothing_to_cancel' | 'unknown_employee' | 'ignored' | 'out_of_scope' }
  /** A cancellation dated before the request it would call off (e.g. an old delivery replayed). */
  | { action: 'stale_cancel'; requestId: string }
  /** A termination whose cancellation (dated after it) arrived first: remembered, and it calls this off. */
  | { action: 'cancelled_before_arrival' };

/** Another event for the same employee is being processed: retry later (BullMQ backoff). */
export class HrEmployeeBusyError extends RevokerError {
  readonly code = ErrorCode.Conflict;
}

/** Requests we may still call off or move: nothing has been revoked yet. */
const OPEN_STATES: readonly RequestState[] = ['pending_approval', 'approved', 'scheduled'];
const PENDING_TTL_SECONDS = 400 * 86_400;

export function pendingKey(prefix: string, source: string, employeeId: string): string {
  return `${prefix}:hr:pending:${source}:${employeeId}`;
}

/** A cancellation that found nothing to cancel, remembered (its event time) for the source's replay window. */
export function earlyCancelKey(prefix: string, source: string, employeeId: string): string {
  return `${prefix}:hr:early-cancel:${source}:${employeeId}`;
}

/** Set while `source`'s vendor refuses Revoker's API credentials (read by `revoker doctor`). */
export function lookupRefusedKey(prefix: string, source: string): string {
  return `${prefix}:hr:lookup-refused:${source}`;
}

/** When the event happened, as ms: the vendor's event time, else now. */
function eventTime(event: HrEvent, now: Date): number {
  const ms = event.occurredAt ? Date.parse(event.occurredAt) : Number.NaN;
  return Number.isFinite(ms) ? ms : now.getTime();
}

/**
 * Applies one HR event: terminate ⇒ submit (or reschedule the scheduled request for that employee),
 * cancel ⇒ call off the open request. Idempotent under BullMQ's at-least-once execution: the submit
 * carries the delivery's dedupe key, the audit of an unknown employee is deduplicated, and one event
 * per employee runs at a time (Redis lock). Transient IdP / vendor errors propagate so BullMQ retries.
 */
export async function processHrEvent(input: HrEvent, deps: HrProcessorDeps): Promise<HrOutcome> {
  const clock = deps.clock ?? (() => new Date());
  const sources = deps.sources ?? HR_SOURCES;
  const key = hrDedupeKey(input);
  const lock = await acquire(deps.redis, `${deps.prefix}:hr:lock:${input.source}:${input.employeeId}`);
  try {
    let event: HrEvent | undefined = input;
    const source = sources[input.source];
    const actor: Actor = { source: 'hr', id: input.source };
    if (event.needsLookup && source?.lookup) {
      try {
        event = await source.lookup(event, deps.hrConfig ?? loadHrConfig(), {
          redis: deps.redis,
          prefix: deps.prefix,
          clock,
          hrClock: clockFor(input.source, deps.clocks),
        });
      } catch (err) {
        if (err instanceof VendorLookupError && err.authFailure) await lookupRefused(input, err, deps, actor);
        throw err;
      }
      await deps.redis.del(lookupRefusedKey(deps.prefix, input.source));
      if (!event) {
        // The vendor says there is nothing to do (e.g. a HiBob leave, not a termination).
        await deps.audit.append(
          {
            action: 'webhook.ignored',
            actor,
            detail: {
              source: input.source,
              reason: 'vendor_says_not_a_termination',
              eventId: input.eventId,
              employeeId: input.employeeId,
              ...(input.type ? { type: input.type } : {}),
            },
          },
          { dedupeKey: `hr.ignored.${key}` },
        );
        return { action: 'ignored' };
      }
    }
    const pending = pendingKey(deps.prefix, event.source, event.employeeId);
    if (event.kind === 'cancel') return await cancel(event, deps, actor, pending, clock());

    // A cancellation dated after this termination that arrived first calls it off.
    const early = earlyCancelKey(deps.prefix, event.source, event.employeeId);
    const cancelledAt = await deps.redis.get(early);
    if (cancelledAt !== null) {
      await deps.redis.del(early);
      // Dated the same second or later than this termination: it calls it off (as `cancel` would).
      if (Date.parse(cancelledAt) >= eventTime(event, clock())) {
        await deps.audit.append(
          {
            action: 'webhook.ignored',
            actor,
            detail: {
              source: event.source,
              reason: 'cancelled_before_arrival',
              eventId: event.eventId,
              employeeId: event.employeeId,
            },
          },
          { dedupeKey: `hr.cancelled-early.${key}` },
        );
        return { action: 'cancelled_before_arrival' };
      }
    }

    const user = event.email ? await deps.idp.findUserByEmail(event.email) : undefined;
    if (!user) {
      await deps.audit.append(
        {
          action: 'webhook.unknown_employee',
          actor,
          detail: {
            source: event.source,
            employeeId: event.employeeId,
            eventId: event.eventId,
            hasEmail: !!event.email,
          },
        },
        { dedupeKey: `hr.unknown.${key}` },
      );
      await deps.notifier.notify({
        type: 'hr.unknown_employee',
        source: event.source,
        employeeId: event.employeeId,
        email: event.email,
        eventId: event.eventId,
      });
      return { action: 'unknown_employee' };
    }

    const domains = deps.domains?.[event.source];
    const groups = deps.groups?.[event.source];
    const inScope =
      (domains !== undefined && inDomains(domains, [event.email, user.email])) ||
      (groups !== undefined && (user.groups ?? []).some((g) => groups.includes(g)));
    if ((domains || groups) && !inScope) {
      await deps.audit.append(
        {
          action: 'request.rejected',
          actor,
          target: { kind: 'user', userId: user.id },
          detail: {
            reason: `outside the email domains and groups ${event.source} may offboard`,
            eventId: event.eventId,
          },
        },
        { dedupeKey: `hr.out-of-scope.${key}` },
      );
      return { action: 'out_of_scope' };
    }

    const now = clock();
    // A date in the past or today means "now": the intake treats an absent effectiveAt as immediate.
    const effectiveAt =
      event.effectiveAt && Date.parse(event.effectiveAt) > now.getTime()
        ? new Date(event.effectiveAt).toISOString()
        : undefined;

    const existingId = await deps.redis.get(pending);
    if (existingId) {
      const existing = await deps.intake.get(existingId);
      if (existing && !TERMINAL_STATES.includes(existing.state)) {
        const current = existing.effectiveAt ? Date.parse(existing.effectiveAt) : undefined;
        const wanted = effectiveAt ? Date.parse(effectiveAt) : undefined;
        if (existing.state === 'scheduled' && current !== wanted) {
          const moved = await deps.intake.reschedule(existingId, effectiveAt ?? now.toISOString(), actor);
          return { action: 'rescheduled', requestId: moved.id };
        }
        return { action: 'unchanged', requestId: existingId };
      }
    }

    const { request, duplicate } = await deps.intake.submit({
      target: { kind: 'user', userId: user.id },
      source: 'hr',
      requestedBy: actor,
      reason: `HR offboarding (${event.source}, employee ${event.employeeId})${event.reason ? `: ${event.reason}` : ''}`,
      effectiveAt,
      idempotencyKey: `hr.${key}`,
      // Resolved once, here: the intake does not look the user up again.
      targetName: userDisplayName(user),
      // Every other connection finds the person by it (issue 22).
      ...(user.email ? { targetEmail: user.email } : {}),
      context: {
        hrSource: event.source,
        employeeId: event.employeeId,
        ...(event.email ? { email: event.email } : {}),
        hrEvent: (event.type ?? event.kind).slice(0, 128),
        // HR's own effective time, even when already past (then the revocation runs now): the report
        // measures effective → verified from it, lateness of the delivery included.
        ...(event.effectiveAt ? { hrEffectiveAt: new Date(event.effectiveAt).toISOString() } : {}),
        // The zone its times are shown in (Slack notices, `revoker hr pending`, the report), beside UTC.
        timeZone: clockFor(event.source, deps.clocks).timeZone,
        // The termination's event time: a cancellation calls it off only when dated after it.
        ...(event.occurredAt ? { hrEventAt: new Date(event.occurredAt).toISOString() } : {}),
      },
    });
    await deps.redis.set(pending, request.id, 'EX', PENDING_TTL_SECONDS);
    return { action: duplicate ? 'duplicate' : 'submitted', requestId: request.id };
  } finally {
    await release(deps.redis, lock);
  }
}

/**
 * Nothing to cancel yet: the termination may still be on its way (vendors deliver out of order and
 * retry for days). Remember the cancellation's event time for the source's replay window; a termination
 * dated before it that arrives meanwhile is called off.
 */
async function rememberCancel(event: HrEvent, deps: HrProcessorDeps, now: Date): Promise<HrOutcome> {
  const key = earlyCancelKey(deps.prefix, event.source, event.employeeId);
  const at = new Date(eventTime(event, now)).toISOString();
  const ttl = Math.ceil(replayWindowMs(event.source) / 1000);
  // Keep the latest cancellation's time (a replayed older one must not move it back).
  await deps.redis.eval(
    "local c = redis.call('get', KEYS[1]); if (not c) or c < ARGV[1] then redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[2]) end return 1",
    1,
    key,
    at,
    String(ttl),
  );
  return { action: 'nothing_to_cancel' };
}

async function cancel(
  event: HrEvent,
  deps: HrProcessorDeps,
  actor: Actor,
  pending: string,
  now: Date,
): Promise<HrOutcome> {
  const existingId = await deps.redis.get(pending);
  if (!existingId) return rememberCancel(event, deps, now);
  const existing = await deps.intake.get(existingId);
  if (!existing || TERMINAL_STATES.includes(existing.state)) {
    await deps.redis.del(pending);
    return rememberCancel(event, deps, now);
  }
  if (!OPEN_STATES.includes(existing.state)) {
    return { action: 'not_cancellable', requestId: existingId, state: existing.state };
  }
  // A cancellation only calls off a termination it came after, by the vendor's event times (not arrival):
  // a replayed (or late, out-of-order) one dated before the termination must not stop it.
  // Signed timestamps have one-second resolution: a cancellation dated the same second wins.
  const terminatedAt = Date.parse(existing.context?.hrEventAt ?? existing.createdAt);
  if (event.occurredAt && Date.parse(event.occurredAt) < terminatedAt) {
    await deps.audit.append(
      {
        action: 'request.rejected',
        actor,
        requestId: existingId,
        detail: {
          reason: 'cancellation dated before the request',
          attempted: 'cancel',
          eventId: event.eventId,
        },
      },
      { dedupeKey: `hr.stale-cancel.${hrDedupeKey(event)}` },
    );
    return { action: 'stale_cancel', requestId: existingId };
  }
  try {
    await deps.intake.cancel(existingId, actor, `HR: termination called off (${event.type ?? event.kind})`);
  } catch (err) {
    // Started between our read and the cancel: too late, the revocation goes ahead.
    if (err instanceof ConflictError || err instanceof InvalidTransitionError) {
      const now = await deps.intake.get(existingId);
      return { action: 'not_cancellable', requestId: existingId, state: now?.state ?? existing.state };
    }
    throw err;
  }
  await deps.redis.del(pending);
  return { action: 'cancelled', requestId: existingId };
}

/**
 * The vendor refused Revoker's API credentials: an audited failure the operator sees (audit entry and
 * notice once per event, a marker `revoker doctor` reports), then retried — the job keeps retrying across
 * the vendor's redelivery span, and succeeds once the credentials are fixed.
 */
async function lookupRefused(
  event: HrEvent,
  err: VendorLookupError,
  deps: HrProcessorDeps,
  actor: Actor,
): Promise<void> {
  const reason = `${err.message}: fix the ${event.source} API credentials; Revoker keeps retrying`;
  await deps.redis.set(
    lookupRefusedKey(deps.prefix, event.source),
    JSON.stringify({ at: (deps.clock ?? (() => new Date()))().toISOString(), status: err.status ?? null }),
    'EX',
    Math.ceil(replayWindowMs(event.source) / 1000),
  );
  const entry = await deps.audit.append(
    {
      action: 'webhook.event_failed',
      actor,
      detail: {
        source: event.source,
        employeeId: event.employeeId,
        eventId: event.eventId,
        reason: 'vendor_credentials_refused',
        status: err.status ?? null,
        retrying: true,
      },
    },
    { dedupeKey: `hr.refused.${hrDedupeKey(event)}` },
  );
  if (entry) {
    await deps.notifier.notify({
      type: 'hr.event_failed',
      source: event.source,
      employeeId: event.employeeId,
      eventId: event.eventId,
      reason,
      final: false,
    });
  }
}

/** Every known email (the delivery's and the IdP's) must be in one of `domains`. */
function inDomains(domains: readonly string[], emails: (string | undefined)[]): boolean {
  const known = emails.filter((e): e is string => !!e);
  return (
    known.length > 0 && known.every((e) => domains.includes(e.slice(e.lastIndexOf('@') + 1).toLowerCase()))
  );
}

interface Lock {
  key: string;
  token: string;
}

async function acquire(redis: Redis, key: string): Promise<Lock> {
  const token = randomUUID();
  // 60 s covers a slow vendor lookup plus an IdP call; a crashed holder frees it by expiry.
  const ok = await redis.set(key, token, 'PX', 60_000, 'NX');
  if (ok !== 'OK') throw new HrEmployeeBusyError(`another HR event for ${key} is in progress`);
  return { key, token };
}

async function release(redis: Redis, lock: Lock): Promise<void> {
  await redis.eval(
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end",
    1,
    lock.key,
    lock.token,
  );
}

/** Errors retrying cannot fix: the worker fails the job at once instead of backing off. */
export function isPermanentHrError(err: unknown): boolean {
  if (err instanceof HrEmployeeBusyError) return false;
  if (err !== null && typeof err === 'object' && 'retryable' in err)
    return (err as { retryable: unknown }).retryable === false;
  if (!isCodedError(err)) return false;
  return (
    [
      ErrorCode.ValidationError,
      ErrorCode.Forbidden,
      ErrorCode.NotFound,
      ErrorCode.ConfigError,
      ErrorCode.Unsupported,
      // An identity the IdP cannot pin to one account (several share the email, or only inactive ones):
      // retrying cannot decide it, and a pick could revoke the wrong person. The operator must see it now.
      ErrorCode.Conflict,
    ] as string[]
  ).includes(err.code);
}
