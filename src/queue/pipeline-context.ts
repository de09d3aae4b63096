import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { AuditAction } from '../audit/types.ts';
import type { Connection } from '../connections/connection.ts';
import type { ConnectionRegistry } from '../connections/connection-registry.ts';
import { UnknownConnectionError } from '../connections/unknown-connection-error.ts';
import type { CodedError } from '../domain/errors.ts';
import { truncateGraphemes } from '../domain/outside-text.ts';
import {
  IdpNotFoundError,
  IdpPermanentError,
  IdpRateLimitedError,
  IdpTransientError,
  isIdpError,
} from '../identity/errors.ts';
import type { TokenRef } from '../identity/port.ts';
import type { RequestEventType } from '../intake/notifier.ts';
import type { RequestRecord } from '../intake/types.ts';
import type { Logger } from '../log.ts';
import type { FanOut } from './fan-out.ts';
import type { IdpCallJob } from './job-schemas.ts';
import type { PipelineWorkersOptions } from './pipeline-workers.ts';
import type { StepGuard } from './step-guard.ts';

export const SYSTEM = { source: 'system', id: 'revoker-worker' };

/**
 * What the parts of the pipeline's workers share (src/queue/pipeline-workers.ts): the options, the
 * connections, the step guard, the fan-out, the IdP-call workers (to pause one on a rate limit), and the
 * few things every part does the same way — one IdP call with its outcome counted, a state change audited
 * and announced, a token audited as revoked exactly once.
 */
export class PipelineContext {
  /** One IdP-call worker per connection, on that connection's own queue, by queue name. */
  readonly calls = new Map<string, Worker<IdpCallJob>>();
  /** The connection each IdP-call queue belongs to, by queue name. */
  readonly queueConnection = new Map<string, Connection>();
  /** Times the verify step re-checks before calling a request failed. */
  readonly verifyAttempts: number;

  constructor(
    readonly o: PipelineWorkersOptions,
    readonly log: Logger,
    readonly connections: ConnectionRegistry,
    readonly guard: StepGuard,
    readonly fanOut: FanOut,
  ) {
    this.verifyAttempts = o.verifyAttempts ?? 3;
  }

  /**
   * One IdP call with the outcome counted. The IdP's 429s (and 503s that say when to come back) are
   * waited out inside the call, in the shared budget, for every process at once (http-client.ts). One
   * that still comes back rate-limited, inside an `idp-calls` job, pauses that queue for the time named
   * and puts the job back without spending an attempt; other transient errors back off per job;
   * permanent ones fail fast.
   */
  async idpCall<T>(
    conn: Connection,
    operation: string,
    fn: () => Promise<T>,
    job?: Job<IdpCallJob>,
    token?: string,
  ): Promise<T> {
    const idp = conn.idp.name;
    try {
      const value = await fn();
      this.o.metrics.idpCalls.inc({ idp, operation, outcome: 'ok' });
      return value;
    } catch (err) {
      if (!isIdpError(err)) throw err;
      const wait =
        err instanceof IdpRateLimitedError
          ? err.retryAfterMs
          : err instanceof IdpTransientError
            ? (err as IdpTransientError & { retryAfterMs?: number }).retryAfterMs
            : undefined;
      const outcome =
        err instanceof IdpRateLimitedError
          ? 'rate_limited'
          : err instanceof IdpPermanentError
            ? 'permanent'
            : 'transient';
      this.o.metrics.idpCalls.inc({ idp, operation, outcome });
      if (job && token && wait !== undefined) {
        await this.calls.get(job.queueName)?.rateLimit(wait);
        throw Worker.RateLimitError();
      }
      if (err instanceof IdpNotFoundError) throw err;
      if (err instanceof IdpPermanentError) throw new IdpGaveUpError(err);
      throw err;
    }
  }

  /**
   * One `token.revoked` entry per token, exactly once each (dedupe key). Appended all at once, so the
   * audit log writes them (and those of concurrent jobs) in one batch, in this order.
   */
  async auditRevoked(requestId: string, tokens: TokenRef[]): Promise<void> {
    const entries = await Promise.all(
      tokens.map((t) =>
        this.o.audit.append(
          {
            action: 'token.revoked',
            actor: SYSTEM,
            requestId,
            detail: { tokenId: t.id, ...(t.userId ? { userId: t.userId } : {}) },
          },
          { dedupeKey: `${requestId}:token:${t.id}` },
        ),
      ),
    );
    for (const entry of entries) if (entry) this.o.metrics.tokensRevoked.inc();
  }

  /**
   * The connection of a request (none named: the primary). One this process lacks throws an unrecoverable
   * error: the job fails for good and the request with it, audited (onFailed).
   */
  connectionOf(rec: RequestRecord): Connection {
    try {
      return this.connections.of(rec.connection);
    } catch (err) {
      if (err instanceof UnknownConnectionError) throw new IdpGaveUpError(err);
      throw err;
    }
  }

  /**
   * The connection of an IdP-call job: its queue's. A job that names another connection (planned for one
   * since removed or reordered) is never run against this one: it fails for good, audited.
   */
  callConnection(job: Job<IdpCallJob>): Connection {
    const conn = this.queueConnection.get(job.queueName) ?? this.connections.primary;
    const named = job.data.connection;
    if (named !== undefined && named !== conn.id) {
      throw new IdpGaveUpError(new UnknownConnectionError(named, [conn.id]));
    }
    return conn;
  }

  async stateChanged(
    type: RequestEventType & AuditAction,
    rec: RequestRecord,
    detail: Record<string, string | number | boolean | null>,
  ): Promise<void> {
    await this.o.audit.append(
      { action: type, actor: SYSTEM, requestId: rec.id, target: rec.target, detail },
      { dedupeKey: `${rec.id}:${type}` },
    );
    await this.announce(type, rec);
  }

  async announce(type: RequestEventType, request: RequestRecord): Promise<void> {
    try {
      // A fan-out's child speaks through its parent's line for its connection, never on its own.
      if (request.parent !== undefined) return await this.fanOut.childChanged(request);
      await this.o.notifier.notify({ type, request });
    } catch (err) {
      this.log.warn({ requestId: request.id, err: (err as Error).message }, 'notifier failed');
    }
  }

  /** A request that cannot go on (an ambiguous look-up): failed with why, audited, announced. */
  async endFailed(rec: RequestRecord, error: string): Promise<void> {
    const res = await this.o.store.transition(rec.id, ['running', 'queued'], 'failed', {
      result: { ok: false, revoked: 0, remaining: -1, error: truncateGraphemes(error, 500) },
    });
    if (!res.ok) return;
    // A fan-out's children are counted once, as their parent's outcome.
    if (rec.parent === undefined) this.o.metrics.outcomes.inc({ outcome: 'failed', scope: rec.target.kind });
    await this.stateChanged('request.failed', res.record, {
      ...(rec.connection ? { connection: rec.connection } : {}),
      error: truncateGraphemes(error, 300),
    });
  }

  /** A child whose connection has no account for the person: done, nothing to revoke (it counts as done). */
  async endNoAccount(rec: RequestRecord, why: string): Promise<void> {
    const res = await this.o.store.transition(rec.id, ['running'], 'verified', {
      result: { ok: true, revoked: 0, remaining: 0, noAccount: true, parts: [] },
      progress: { ...rec.progress, done: rec.progress.total },
    });
    if (!res.ok) return;
    await this.stateChanged('request.verified', res.record, {
      ...(rec.connection ? { connection: rec.connection } : {}),
      noAccount: true,
      why: truncateGraphemes(why, 300),
    });
  }
}

/** A permanent IdP failure: BullMQ must not retry it (UnrecoverableError), and the code travels with it. */
export class IdpGaveUpError extends UnrecoverableError {
  constructor(readonly idpError: CodedError) {
    super(`${idpError.code}: ${idpError.message}`);
  }
}
