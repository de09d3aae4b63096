import express, { type NextFunction, type Request, type Response } from 'express';
import type { RefusalRecorder } from '../audit/refusal-log.ts';
import type { AuditLog } from '../audit/types.ts';
import { clockFor, type HrClocks } from '../domain/dates.ts';
import { isCodedError, ValidationError } from '../domain/errors.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { SignatureStaleError } from './errors.ts';
import { sanitizeHrEvent } from './hr-event.ts';
import { type EnqueueStatus, enqueueHrEvent, type HrEventQueue } from './hr-event-queue.ts';
import { getHrSource, HR_SOURCES } from './registry.ts';
import { dedupeTtlSecondsFor, replayWindowMs } from './replay-windows.ts';
import { type DeliveryHeaders, type HrSource, IgnoredDelivery } from './source.ts';
import { DEFAULT_TOLERANCE_MS } from './time-window.ts';

/** Where a vendor's set-up value (Gusto's `verification_token`) is kept for the operator, sealed. */
export interface HandshakeStore {
  /** Resolves false when it cannot be kept (no HR_CREDENTIALS_KEY): the operator must ask for a resend. */
  store(source: string, value: string): Promise<boolean>;
}

export interface HrRouterDeps {
  /** `HR_<SOURCE>_SECRET` by lower-case source (`config.hrSecrets`). A source without one is not enabled: 404. */
  secrets: Record<string, string>;
  /** From `createHrEventQueue`. */
  queue: HrEventQueue;
  /** Every rejection is appended (`webhook.rejected`, source and reason, never the body). */
  audit: AuditLog;
  /**
   * When given, rejections are counted per minute instead (one `webhook.rejected` entry per source,
   * reason and minute with a count): a flood of forged deliveries cannot grow the audit log.
   */
  refusals?: RefusalRecorder;
  /** Counts deliveries (`webhooks`) and rejections; optional so tests may leave it out. */
  metrics?: Pick<Metrics, 'webhooks' | 'rejections'>;
  /** Default `() => new Date()`. */
  clock?: () => Date;
  /** Default: no logging. */
  logger?: Logger;
  /** Default the built-in registry (standard, bamboohr, hibob, gusto, deel). */
  sources?: Readonly<Record<string, HrSource>>;
  /** Path prefix inside the router; default `''`: mount the router at `/webhooks/hr`. */
  basePath?: string;
  /** Largest body accepted; default `1mb` (larger ⇒ 413). */
  limit?: string | number;
  /** Replay window for timestamped schemes; default 5 minutes. */
  toleranceMs?: number;
  /**
   * Replay window for vendors that sign no timestamp (Gusto, HiBob, Deel): the event time in the signed
   * body must be within the source's window of now — the vendor's redelivery span
   * (src/hr/replay-windows.ts, 3 days for each), or this (HR_REPLAY_WINDOW_SECONDS) when longer. The
   * delivery marker is kept twice as long (see `dedupeTtlSecondsFor`).
   */
  replayWindowMs?: number;
  /** Keeps Gusto's `verification_token` for `revoker hr verification-token gusto`; default: not kept. */
  handshakes?: HandshakeStore;
  /** How long to wait for Redis to take the job before answering 503; default 5000 ms. */
  enqueueTimeoutMs?: number;
  /** The company's clock per source, for date-only and zone-less times; default UTC, end of day. */
  clocks?: HrClocks;
}

type Reason =
  | 'unknown_source'
  | 'source_not_enabled'
  | 'payload_too_large'
  | 'unreadable_body'
  | 'signature_invalid'
  | 'signature_stale'
  | 'payload_invalid'
  | 'event_stale'
  | 'enqueue_failed';

/** A signed delivery acknowledged (202) but deliberately not acted on: counted, never 4xx. */
function recordIgnored(deps: HrRouterDeps, source: string, reason: string): void {
  deps.metrics?.webhooks.inc({ source, outcome: 'ignored' });
  if (deps.refusals) {
    deps.refusals.record({ action: 'webhook.ignored', actor: { source: 'hr', id: source }, reason });
    return;
  }
  void deps.audit
    .append({ action: 'webhook.ignored', actor: { source: 'hr', id: source }, detail: { source, reason } })
    .catch((err: unknown) => deps.logger?.error({ err: (err as Error).message }, 'audit append failed'));
}

/**
 * `POST /:source` (mounted at `/webhooks/hr`): verify the vendor's signature over the raw body, normalise, durably
 * enqueue on `hr-events` (job id = dedupe key), then answer 202 `{status: accepted|duplicate|ignored}`.
 * The answer comes only after Redis took the job, so a 503 makes the vendor retry.
 */
export function createHrRouter(deps: HrRouterDeps): express.Router {
  const router = express.Router();
  const sources = deps.sources ?? HR_SOURCES;
  const clock = deps.clock ?? (() => new Date());
  const basePath = deps.basePath ?? '';
  const rawBody = express.raw({ type: () => true, limit: deps.limit ?? '1mb' });

  async function reject(res: Response, status: number, source: string, reason: Reason, detail?: string) {
    // Metric labels stay bounded: an unknown source name is not echoed into a label.
    const label = getHrSource(source, sources) ? source : 'unknown';
    deps.metrics?.webhooks.inc({ source: label, outcome: 'rejected' });
    deps.metrics?.rejections.inc({ source: label, reason });
    deps.logger?.warn({ source: label, reason, status }, 'hr webhook rejected');
    if (deps.refusals) {
      // Only an unknown source name is attacker text worth keeping; it is bounded and escaped.
      deps.refusals.record({
        action: 'webhook.rejected',
        actor: { source: 'hr', id: label },
        reason,
        ...(label === 'unknown' ? { excerpt: source } : {}),
      });
    } else
      try {
        await deps.audit.append({
          action: 'webhook.rejected',
          actor: { source: 'hr', id: label },
          detail: {
            source: source.slice(0, 64),
            reason,
            status,
            ...(detail ? { detail: detail.slice(0, 300) } : {}),
          },
        });
      } catch (err) {
        deps.logger?.error({ err: (err as Error).message }, 'audit append failed for a rejected webhook');
      }
    if (!res.headersSent) res.status(status).json({ error: reason, ...(detail ? { detail } : {}) });
  }

  const route = `${basePath.replace(/\/+$/, '')}/:source`;

  // Known and enabled source before reading a byte of the body.
  router.post(route, async (req: Request, res: Response, next: NextFunction) => {
    const name = String(req.params.source);
    const source = getHrSource(name, sources);
    if (!source) return reject(res, 404, name, 'unknown_source');
    // A source with a set-up handshake (Gusto) is reached before its secret exists: the handshake delivers it.
    if (!deps.secrets[name] && !source.handshake) return reject(res, 404, name, 'source_not_enabled');
    next();
  });

  router.post(route, (req: Request, res: Response, next: NextFunction) => {
    rawBody(req, res, (err?: unknown) => {
      if (!err) return next();
      const name = String(req.params.source);
      const type = (err as { type?: string }).type;
      if (type === 'entity.too.large') return void reject(res, 413, name, 'payload_too_large');
      return void reject(res, 400, name, 'unreadable_body');
    });
  });

  router.post(route, async (req: Request, res: Response) => {
    const name = String(req.params.source);
    const source = getHrSource(name, sources)!;
    const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const headers: DeliveryHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v[0] : v;

    const handshake = source.handshake?.(body, headers);
    if (handshake !== undefined) {
      // Unsigned by design (the value is the signing key to come). Never logged or audited; kept sealed.
      const kept = (await deps.handshakes?.store(name, handshake).catch(() => false)) ?? false;
      // Unauthenticated by nature: counted per minute where the refusal log runs, so a flood of them
      // cannot grow the audit log.
      recordIgnored(deps, name, kept ? 'verification_token_received' : 'verification_token_not_kept');
      deps.logger?.warn(
        { source: name, kept },
        kept
          ? 'verification token received: run `revoker hr verification-token gusto`, verify the subscription and set HR_GUSTO_SECRET'
          : 'verification token received but not kept (set HR_CREDENTIALS_KEY, then request a new one)',
      );
      return res.status(200).json({ status: 'verification_received' });
    }
    if (!deps.secrets[name]) return reject(res, 404, name, 'source_not_enabled');

    try {
      source.verify({
        headers,
        rawBody: body,
        secret: deps.secrets[name]!,
        now: clock(),
        toleranceMs: deps.toleranceMs ?? DEFAULT_TOLERANCE_MS,
        timeZone: clockFor(name, deps.clocks).timeZone,
      });
    } catch (err) {
      const stale = err instanceof SignatureStaleError;
      return reject(res, 401, name, stale ? 'signature_stale' : 'signature_invalid');
    }

    let events: ReturnType<HrSource['normalise']>;
    try {
      events = source.normalise(body, headers, clockFor(name, deps.clocks));
    } catch (err) {
      if (err instanceof IgnoredDelivery) {
        recordIgnored(deps, name, err.reason);
        return res.status(202).json({ status: 'ignored' });
      }
      if (err instanceof ValidationError) {
        const detail = [err.message, ...err.issues].join('; ');
        return reject(res, 400, name, 'payload_invalid', detail);
      }
      throw err;
    }

    const now = clock();
    const windowMs = replayWindowMs(name, deps.replayWindowMs);
    if (source.eventTimeWindow) {
      // No signed timestamp: the signed body's event time is the only thing that dates a replay.
      const stale = events.find(
        (e) => !e.occurredAt || Math.abs(now.getTime() - Date.parse(e.occurredAt)) > windowMs,
      );
      if (stale) return reject(res, 401, name, 'event_stale');
    }
    // Sources date their events (payload time, else the signed timestamp); a custom one may not.
    events = events.map((e) => sanitizeHrEvent(e.occurredAt ? e : { ...e, occurredAt: now.toISOString() }));

    if (events.length === 0) {
      recordIgnored(deps, name, 'not_offboarding');
      return res.status(202).json({ status: 'ignored' });
    }

    let statuses: EnqueueStatus[];
    try {
      statuses = await withTimeout(
        Promise.all(
          events.map((e) => enqueueHrEvent(deps.queue, e, dedupeTtlSecondsFor(name, deps.replayWindowMs))),
        ),
        deps.enqueueTimeoutMs ?? 5000,
      );
    } catch (err) {
      deps.logger?.error(
        { source: name, code: isCodedError(err) ? err.code : undefined },
        'hr event enqueue failed',
      );
      return reject(res, 503, name, 'enqueue_failed');
    }
    const status = statuses.every((s) => s === 'duplicate') ? 'duplicate' : 'accepted';
    deps.metrics?.webhooks.inc({ source: name, outcome: status });
    return res.status(202).json({ status, events: events.length });
  });

  return router;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
