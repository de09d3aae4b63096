import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { asCodedError } from '../domain/errors.ts';
import { sanitizeOutsideText, truncateGraphemes } from '../domain/outside-text.ts';
import type { IdpCallSteps } from './idp-call-steps.ts';
import { IdpCallJobSchema } from './job-schemas.ts';
import { isLifecycleQueue, jobIds } from './names.ts';
import { IdpGaveUpError, type PipelineContext, SYSTEM } from './pipeline-context.ts';

/**
 * Jobs that failed: a failure that will be retried marks a fan-out child as waiting (its parent says which
 * connection it waits for); a final one settles its step, is copied to the dead-letter queue and audited,
 * and a lifecycle job that gave up leaves its request failed, so nobody waits for it forever.
 */
export class FailedJobs {
  constructor(
    private readonly c: PipelineContext,
    private readonly steps: IdpCallSteps,
  ) {}

  /** Final failures: copied to the dead-letter queue (idempotently) and announced. */
  async onFailed(queue: string, job: Job | undefined, err: Error): Promise<void> {
    if (!job) return;
    const final =
      err instanceof UnrecoverableError ||
      err.name === 'UnrecoverableError' ||
      job.attemptsMade >= (job.opts.attempts ?? 1);
    const requestId = (job.data as { requestId?: string }).requestId;
    if (!final) {
      if (requestId) await this.noteWaiting(requestId, err).catch(() => undefined);
      return;
    }
    const step = this.c.queueConnection.has(queue) ? IdpCallJobSchema.safeParse(job.data) : undefined;
    const coded = err instanceof IdpGaveUpError ? err.idpError : asCodedError(err);
    // A refused job (no plan made that step: issue 21's guard) is neither one of the plan's failed calls nor
    // a reason for the request to fail; when the guard cannot tell, the failure counts (never a false verified).
    const planned = step?.success ? await this.steps.isOwnPlannedStep(step.data).catch(() => true) : false;
    if (step?.success && planned) {
      await this.c.o.store
        .noteFailure(step.data.requestId, step.data.stepKey, coded.code)
        .catch((e: Error) => this.c.log.warn({ err: e.message }, 'could not note why a step failed'));
      await this.steps
        .settleFailedStep(step.data)
        .catch((e: Error) =>
          this.c.log.error({ jobId: job.id, err: e.message }, 'could not settle a failed step'),
        );
    }
    this.c.log.error(
      { queue, jobId: job.id, requestId, code: coded.code, err: err.message },
      'job dead-lettered',
    );
    try {
      await this.c.o.queues.deadLetters.add(
        'dead-letter',
        {
          queue,
          jobId: String(job.id),
          jobName: job.name,
          ...(requestId ? { requestId } : {}),
          errorCode: coded.code,
          errorMessage: err.message.slice(0, 2000),
          attemptsMade: job.attemptsMade,
          failedAt: new Date().toISOString(),
        },
        { jobId: `dl.${String(job.id)}`, removeOnComplete: false, removeOnFail: false },
      );
      if (requestId) {
        const rec = await this.c.o.store.get(requestId);
        if (rec) {
          await this.c.o.audit.append(
            {
              action: 'request.dead_lettered',
              actor: SYSTEM,
              requestId,
              target: rec.target,
              detail: { queue, job: job.name, code: coded.code },
            },
            { dedupeKey: `${requestId}:dead:${String(job.id)}` },
          );
          await this.c.announce('request.dead_lettered', rec);
          // A lifecycle job that gave up leaves the request failed, so nobody waits for it forever.
          if (isLifecycleQueue(queue) && job.id !== jobIds.expire(requestId)) {
            const res = await this.c.o.store.transition(
              requestId,
              ['queued', 'running', 'scheduled'],
              'failed',
              {
                result: {
                  ok: false,
                  revoked: 0,
                  remaining: -1,
                  error: `${coded.code}: ${err.message}`.slice(0, 500),
                },
              },
            );
            if (res.ok) {
              // A fan-out's children are counted once, as their parent's outcome.
              if (rec.parent === undefined)
                this.c.o.metrics.outcomes.inc({ outcome: 'failed', scope: rec.target.kind });
              await this.c.stateChanged('request.failed', res.record, { error: coded.code });
            }
          }
        }
      }
    } catch (e) {
      this.c.log.error({ err: (e as Error).message }, 'could not dead-letter a job');
    }
  }

  /**
   * A fan-out child's job failed and will be retried (its connection is down, refusing or slow): the child
   * says so, and its parent's line names the connection it waits for.
   */
  private async noteWaiting(requestId: string, err: Error): Promise<void> {
    const rec = await this.c.o.store.get(requestId);
    if (rec?.parent === undefined || (rec.state !== 'queued' && rec.state !== 'running')) return;
    const coded = asCodedError(err);
    const waiting = truncateGraphemes(`${coded.code}: ${sanitizeOutsideText(err.message)}`, 300);
    if (rec.waiting === waiting) return;
    const res = await this.c.o.store.transition(requestId, [rec.state], rec.state, { waiting });
    if (res.ok) await this.c.fanOut.childChanged(res.record);
  }
}
