import { z } from 'zod';
import { sanitizeOutsideText, truncateGraphemes } from '../domain/outside-text.ts';

/**
 * Where one connection of a fanned-out user revocation stands (issue 22). A request for all tokens of a
 * person runs once per connection (a child request each); the parent carries one of these per connection,
 * in the configured order, and every view (Slack, CLI, audit, report) shows one line per connection.
 *
 * - `pending`: not started yet (queued behind other work in that connection).
 * - `running`: its plan is running; `progress` says how far.
 * - `waiting`: its last call failed and is being retried (the connection is down or refusing); `why` names it.
 * - `verified` / `unverifiable` / `failed`: its outcome, as the verified-outcomes model defines (issue 18).
 * - `no_account`: the person has no account there (found by email, or the app answered 404): done.
 */
export const CONNECTION_STATUSES = [
  'pending',
  'running',
  'waiting',
  'verified',
  'unverifiable',
  'failed',
  'no_account',
] as const;
export type ConnectionStatusKind = (typeof CONNECTION_STATUSES)[number];

/** The statuses a connection ends in; `no_account` counts as done. */
const ENDED_CONNECTION_STATUSES: readonly ConnectionStatusKind[] = [
  'verified',
  'unverifiable',
  'failed',
  'no_account',
];

export const ConnectionStatusSchema = z.object({
  /** The connection's id (`okta`, `google`, `gtr-notes`). */
  connection: z.string().min(1).max(64),
  /** The child request that runs this connection's part (`{parent id}.{connection}`). */
  requestId: z.string().min(1).max(200),
  status: z.enum(CONNECTION_STATUSES),
  /** Why it is unverifiable or failed, or what it waits for (already sanitised, bounded). */
  why: z.string().max(500).optional(),
  /** Calls done of planned in that connection. */
  progress: z.object({ done: z.number().int().min(0), total: z.number().int().min(0) }).optional(),
  /** Tokens that connection's calls revoked, when it says. */
  revoked: z.number().int().min(0).optional(),
});
export type ConnectionStatus = z.infer<typeof ConnectionStatusSchema>;

const WORDS: Record<ConnectionStatusKind, string> = {
  pending: 'waiting to start',
  running: 'running',
  waiting: 'waiting for it (retrying)',
  verified: 'verified',
  unverifiable: 'unverifiable',
  failed: 'failed',
  no_account: 'no account (nothing to revoke)',
};

/**
 * One line per connection, in plain text (callers escape it for their medium): `okta: verified`,
 * `google: waiting for it (retrying): IdP unavailable`, `gtr-notes: unverifiable: accepted by notes, not
 * observable`. `maxWhy` bounds the reason (default 200 characters).
 */
export function connectionLine(s: ConnectionStatus, options: { maxWhy?: number } = {}): string {
  const words =
    s.status === 'running' && s.progress && s.progress.total > 0
      ? `running (${s.progress.done} of ${s.progress.total} calls)`
      : WORDS[s.status];
  const why = s.why ? `: ${truncateGraphemes(sanitizeOutsideText(s.why), options.maxWhy ?? 200)}` : '';
  return `${s.connection}: ${words}${why}`;
}

/** Whether every connection has ended (each verified, unverifiable, failed or without an account). */
export function everyConnectionEnded(statuses: readonly ConnectionStatus[]): boolean {
  return statuses.every((s) => ENDED_CONNECTION_STATUSES.includes(s.status));
}

/**
 * The request's outcome from its connections: `verified` when every connection is verified or has no
 * account; `unverifiable` when none failed and some is unverifiable (a GTR app's 204 is accepted, not
 * observed); otherwise `failed`.
 */
export function aggregateConnections(
  statuses: readonly ConnectionStatus[],
): 'verified' | 'unverifiable' | 'failed' {
  if (statuses.some((s) => s.status === 'failed')) return 'failed';
  if (statuses.some((s) => s.status === 'unverifiable')) return 'unverifiable';
  if (statuses.every((s) => s.status === 'verified' || s.status === 'no_account')) return 'verified';
  return 'failed';
}

/** The connections being waited for (down and retried), for "waiting for okta". */
export function waitingFor(statuses: readonly ConnectionStatus[]): string[] {
  return statuses.filter((s) => s.status === 'waiting').map((s) => s.connection);
}

/** The child request that runs `connection`'s part of `parentId`. Request ids hold no `.`: this one cannot clash. */
export function childRequestId(parentId: string, connection: string): string {
  return `${parentId}.${connection}`;
}
