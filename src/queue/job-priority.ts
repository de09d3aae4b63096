import { isAutomatedSource, type RevocationRequest } from '../domain/request.ts';
import type { IdpLane } from '../identity/idp-budget.ts';

/** What a queue needs to know of a request to place its jobs: its id, who asked, and its connection. */
export type RequestRef = Pick<RevocationRequest, 'id' | 'source' | 'connection'>;

/**
 * BullMQ priorities of a request's jobs (lower goes first). BullMQ serves its plain wait list before any
 * prioritized job, so every job of the pipeline gets a priority: a person waiting (Slack, the CLI) goes
 * before the batch (HR, SCIM, Global Token Revocation, the system), and within each the order stays first
 * in, first out (BullMQ orders equal priorities by a counter), so the batch keeps its order and its calls.
 */
export const JOB_PRIORITY = { person: 1, batch: 2 } as const;

export function jobPriority(request: Pick<RequestRef, 'source'>): number {
  return isAutomatedSource(request.source) ? JOB_PRIORITY.batch : JOB_PRIORITY.person;
}

/**
 * The budget lane of a job's IdP calls: a person's job draws from the interactive share (and is served
 * first among this process's waiters); every call still counts against the connection's one rate.
 */
export function laneOfJob(job: { priority: number }): IdpLane {
  return job.priority === JOB_PRIORITY.person ? 'interactive' : 'batch';
}
