import type { ConnectionStatus } from '../../src/connections/connection-status.ts';
import type { RequestRecord } from '../../src/intake/types.ts';

/**
 * Hand-built records of a fanned-out user revocation (issue 22), for the views that show one line per
 * connection: no pipeline needed, every field as the parent record carries it.
 */
export function userRecord(over: Partial<RequestRecord> = {}): RequestRecord {
  const now = new Date().toISOString();
  return {
    id: `req_${Math.random().toString(36).slice(2, 12).padEnd(20, 'x')}`,
    target: { kind: 'user', userId: 'usr_dana' },
    targetName: 'Dana Diaz <dana@example.com>',
    targetEmail: 'dana@example.com',
    reason: 'offboarding',
    requestedBy: { source: 'slack', id: 'U0REQ' },
    source: 'slack',
    createdAt: now,
    updatedAt: now,
    state: 'running',
    workflow: 'default',
    requiredApprovals: 1,
    approvals: [],
    approvers: ['U0APPROVER'],
    allowSelfApproval: false,
    progress: { done: 2, total: 5 },
    ...over,
  };
}

/** okta verified, google waiting (down, retried) with why, gtr-notes without an account. */
export function threeConnections(parentId = 'req_parent'): ConnectionStatus[] {
  return [
    { connection: 'okta', requestId: `${parentId}.okta`, status: 'verified', revoked: 3 },
    {
      connection: 'google',
      requestId: `${parentId}.google`,
      status: 'waiting',
      why: 'IDP_UNAVAILABLE: Google answered 503',
    },
    { connection: 'gtr-notes', requestId: `${parentId}.gtr-notes`, status: 'no_account' },
  ];
}

const PIECES = ['<&>', '😀', '<!channel>', '👩‍💻', '🇫🇷', 'a'];

/** Exactly `n` UTF-16 units (or one fewer) of markup and emoji, never half an emoji. */
export function hostileWhy(n = 500): string {
  let s = '';
  for (let i = 0; ; i++) {
    const piece = PIECES[i % PIECES.length]!;
    if (s.length + piece.length > n) return s;
    s += piece;
  }
}

/** Ten connections, each failing (or waiting) with a 500-character why full of `<&>`, mentions and emoji. */
export function hostileConnections(parentId = 'req_parent', count = 10): ConnectionStatus[] {
  return Array.from({ length: count }, (_, i) => ({
    // Connection ids are configured (`[a-z][a-z0-9-]{0,31}`): the hostile text is the vendor's why.
    connection: `gtr-app-${i}-of-the-long-names`,
    requestId: `${parentId}.gtr-app-${i}-of-the-long-names`,
    status: i % 2 ? ('failed' as const) : ('waiting' as const),
    why: hostileWhy(500),
  }));
}
