import { createHash } from 'node:crypto';

/** Queue names (BullMQ's own prefix is Revoker's REVOKER_PREFIX). */
export const QUEUE = {
  /**
   * Request lifecycle: start (scheduled), expire (approval), and the primary connection's plan and finalize;
   * every other connection's plan and finalize wait in `revocations{suffix}` (`revocations.okta`).
   */
  revocations: 'revocations',
  /** The plan and finalize jobs of a person's requests (Slack, the CLI), worked apart from the batch's. */
  peopleRevocations: 'revocations-people',
  /** One IdP call each; rate-limited. */
  idpCalls: 'idp-calls',
  deadLetters: 'dead-letters',
} as const;

/** Whether jobs of queue `name` are lifecycle jobs (start, expire, plan, finalize) rather than IdP calls. */
export function isLifecycleQueue(name: string): boolean {
  return (
    name === QUEUE.revocations || name === QUEUE.peopleRevocations || name.startsWith(`${QUEUE.revocations}.`)
  );
}

export const JOB = {
  plan: 'plan',
  finalize: 'finalize',
  start: 'start',
  expire: 'expire',
  revokeStep: 'revoke-step',
} as const;

/**
 * Job ids derive from the request id, so adding a job twice (a repeated webhook, a retried submit,
 * the reconciler) is a no-op while the first one exists. BullMQ ids must not contain ':'.
 */
export const jobIds = {
  plan: (requestId: string) => `${requestId}.plan`,
  finalize: (requestId: string) => `${requestId}.finalize`,
  start: (requestId: string) => `${requestId}.start`,
  expire: (requestId: string) => `${requestId}.expire`,
  step: (requestId: string, stepKey: string) =>
    `${requestId}.s.${createHash('sha256').update(stepKey).digest('base64url').slice(0, 22)}`,
};
