import type { AuditLog } from '../audit/types.ts';
import {
  aggregateConnections,
  type ConnectionStatus,
  connectionLine,
  everyConnectionEnded,
} from '../connections/connection-status.ts';
import { truncateGraphemes } from '../domain/outside-text.ts';
import { boundParts, describeParts } from '../identity/part-outcomes.ts';
import type { PartOutcome } from '../identity/port.ts';
import type { Notifier, RequestEventType } from '../intake/notifier.ts';
import type { RedisRequestStore } from '../intake/request-store.ts';
import type { RequestRecord } from '../intake/types.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { RevocationQueues } from './revocation-queues.ts';

export interface FanOutOptions {
  store: RedisRequestStore;
  queues: RevocationQueues;
  audit: AuditLog;
  notifier: Notifier;
  metrics: Metrics;
  logger: Logger;
}

const SYSTEM = { source: 'system', id: 'revoker-worker' };

/** Whether a request is the parent of a fan-out: a user revocation that runs in every connection. */
export function isFanOutParent(rec: RequestRecord): boolean {
  return rec.parent === undefined && (rec.connections?.length ?? 0) > 0;
}

/**
 * A user revocation in every connection (issue 22): the parent starts one child request per connection,
 * each planned, called, verified and audited by the ordinary pipeline in its own connection, under its own
 * budget, in parallel; a connection that is down holds up only its own child, which is retried. Every
 * change of a child refreshes the parent's line for that connection (announced through the parent: the
 * children are never announced on their own), and the last child to end ends the parent with their outcomes
 * together (`aggregateConnections`).
 */
export class FanOut {
  constructor(private readonly o: FanOutOptions) {}

  /**
   * Creates the children (the person found by `email` in every connection but the one the request names)
   * and starts them. Idempotent: a rerun after a crash finds the children made and their jobs added.
   */
  async start(parent: RequestRecord, email: string | undefined): Promise<void> {
    const now = new Date().toISOString();
    const statuses = parent.connections ?? [];
    const started: ConnectionStatus[] = [];
    for (const s of statuses) {
      const home = s.connection === parent.connection;
      if (!home && !email) {
        // Nothing to find them by: said, never silently skipped.
        started.push({
          ...s,
          status: 'failed',
          why: `no email is known for ${parent.targetName ?? 'the person'} in ${parent.connection ?? 'the first connection'}, so they cannot be found here`,
        });
        continue;
      }
      const child: RequestRecord = {
        id: s.requestId,
        target: home ? parent.target : { kind: 'user', userId: email! },
        reason: parent.reason,
        requestedBy: parent.requestedBy,
        source: parent.source,
        createdAt: now,
        connection: s.connection,
        parent: parent.id,
        state: 'queued',
        workflow: parent.workflow,
        requiredApprovals: 0,
        approvals: [],
        approvers: [],
        allowSelfApproval: false,
        ...(parent.targetName ? { targetName: parent.targetName } : {}),
        ...(email ? { targetEmail: email } : {}),
        ...(home ? {} : { resolveByEmail: true }),
        progress: { done: 0, total: 0 },
        updatedAt: now,
      };
      await this.o.store.create(child, undefined, undefined, false);
      started.push(s);
    }
    const res = await this.o.store.transition(parent.id, ['running'], 'running', { connections: started });
    if (!res.ok) return;
    await this.o.audit.append(
      {
        action: 'request.fanned_out',
        actor: SYSTEM,
        requestId: parent.id,
        target: parent.target,
        detail: { connections: started.map((s) => s.connection).join(', ') },
      },
      { dedupeKey: `${parent.id}:request.fanned_out` },
    );
    // A child is the parent's request in one connection: queued at the parent's priority (a person's first).
    for (const s of started) {
      if (s.status === 'pending') {
        await this.o.queues.enqueuePlan({ id: s.requestId, source: parent.source, connection: s.connection });
      }
    }
    // A connection that could not even start (no email) may be all there is left to wait for.
    await this.sync(parent.id);
  }

  /** A child changed: its parent's lines are refreshed, and the parent ends once every child has. */
  async childChanged(child: RequestRecord): Promise<void> {
    if (child.parent) await this.sync(child.parent);
  }

  /** Reads every child and brings the parent up to date (the reconciler calls it too, after a crash). */
  async sync(parentId: string): Promise<void> {
    const parent = await this.o.store.get(parentId);
    if (parent?.state !== 'running' || !parent.connections) return;
    const children = new Map(
      (await this.o.store.getMany(parent.connections.map((s) => s.requestId))).map((c) => [c.id, c]),
    );
    const statuses = parent.connections.map((s) => {
      const child = children.get(s.requestId);
      return child ? statusOf(s, child) : s;
    });
    if (everyConnectionEnded(statuses)) {
      await this.finish(parent, statuses, [...children.values()]);
      return;
    }
    const progress = {
      done: statuses.reduce((n, s) => n + (s.progress?.done ?? 0), 0),
      total: statuses.reduce((n, s) => n + (s.progress?.total ?? 0), 0),
    };
    if (
      JSON.stringify(statuses) === JSON.stringify(parent.connections) &&
      progress.done === parent.progress.done &&
      progress.total === parent.progress.total
    ) {
      return;
    }
    const res = await this.o.store.transition(parentId, ['running'], 'running', {
      connections: statuses,
      progress,
    });
    if (res.ok) await this.announce('request.progress', res.record);
  }

  private async finish(
    parent: RequestRecord,
    statuses: ConnectionStatus[],
    children: RequestRecord[],
  ): Promise<void> {
    const to = aggregateConnections(statuses);
    const parts = boundParts(
      children.flatMap((c) =>
        (c.result?.parts ?? []).map((p): PartOutcome => ({ ...p, part: `${c.connection}: ${p.part}` })),
      ),
    );
    const lines = (kind: ConnectionStatus['status']) =>
      statuses
        .filter((s) => s.status === kind)
        .map((s) => connectionLine(s))
        .join('; ');
    const result = {
      ok: to !== 'failed',
      revoked: children.reduce((n, c) => n + (c.result?.revoked ?? 0), 0),
      remaining: children.reduce((n, c) => n + Math.max(0, c.result?.remaining ?? 0), 0),
      ...(to === 'unverifiable' ? { unverifiable: truncateGraphemes(lines('unverifiable'), 1000) } : {}),
      ...(to === 'failed' ? { error: truncateGraphemes(lines('failed') || 'a connection failed', 500) } : {}),
      parts,
    };
    const total = statuses.reduce((n, s) => n + (s.progress?.total ?? 0), 0);
    const res = await this.o.store.transition(parent.id, ['running'], to, {
      result,
      connections: statuses,
      progress: { ...parent.progress, done: total, total },
    });
    if (!res.ok) return;
    this.o.metrics.outcomes.inc({ outcome: to, scope: parent.target.kind });
    await this.o.audit.append(
      {
        action: `request.${to}`,
        actor: SYSTEM,
        requestId: parent.id,
        target: parent.target,
        detail: {
          revoked: result.revoked,
          remaining: result.remaining,
          connections: truncateGraphemes(
            statuses.map((s) => connectionLine(s, { maxWhy: 100 })).join('; '),
            1000,
          ),
          // Whole JSON (bounded: one short entry per connection), for the report's per-connection outcome.
          connectionsJson: JSON.stringify(
            statuses.map((s) => ({
              connection: s.connection,
              status: s.status,
              ...(s.why ? { why: truncateGraphemes(s.why, 100) } : {}),
            })),
          ),
          ...(parts.length > 0 ? { parts: truncateGraphemes(describeParts(parts), 1000) } : {}),
        },
      },
      { dedupeKey: `${parent.id}:request.${to}` },
    );
    await this.announce(`request.${to}`, res.record);
  }

  private async announce(type: RequestEventType, request: RequestRecord): Promise<void> {
    try {
      await this.o.notifier.notify({ type, request });
    } catch (err) {
      this.o.logger.warn({ requestId: request.id, err: (err as Error).message }, 'notifier failed');
    }
  }
}

/** Where a child stands, as its parent's line for that connection. */
function statusOf(previous: ConnectionStatus, child: RequestRecord): ConnectionStatus {
  const base = { connection: previous.connection, requestId: previous.requestId };
  const progress = { done: child.progress.done, total: child.progress.total };
  const revoked = child.result?.revoked;
  switch (child.state) {
    case 'queued':
    case 'running':
      if (child.waiting)
        return { ...base, status: 'waiting', why: truncateGraphemes(child.waiting, 500), progress };
      return { ...base, status: child.state === 'queued' ? 'pending' : 'running', progress };
    case 'verified':
      return child.result?.noAccount
        ? { ...base, status: 'no_account', progress }
        : { ...base, status: 'verified', progress, ...(revoked === undefined ? {} : { revoked }) };
    case 'unverifiable':
      return {
        ...base,
        status: 'unverifiable',
        // The child's words group its parts under "unverifiable: …"; the line already says so.
        why: truncateGraphemes(
          (child.result?.unverifiable ?? 'nobody can observe the result').replace(/^unverifiable: /, ''),
          500,
        ),
        progress,
        ...(revoked === undefined ? {} : { revoked }),
      };
    case 'failed':
      return {
        ...base,
        status: 'failed',
        why: truncateGraphemes(child.result?.error ?? 'failed', 500),
        progress,
        ...(revoked === undefined ? {} : { revoked }),
      };
    default:
      // A child is born queued; any other end (cancelled, expired, …) is not a revocation.
      return { ...base, status: 'failed', why: `it ended ${child.state}`, progress };
  }
}
