import type { RequestState } from '../domain/request.ts';

/** A request's state as a person reads it ("this request is already …"). */
const STATE_WORDS: Record<RequestState, string> = {
  pending_approval: 'waiting for approval',
  approved: 'approved',
  denied: 'denied',
  expired: 'expired',
  cancelled: 'cancelled',
  scheduled: 'scheduled',
  queued: 'approved and queued',
  running: 'running',
  verified: 'done and verified',
  unverifiable: 'done, unverifiable',
  failed: 'failed',
};

export function stateWord(state: RequestState): string {
  return STATE_WORDS[state];
}
