import { z } from 'zod';
import { TargetSchema } from '../domain/target.ts';

/**
 * Job data, validated when a worker picks a job up. Only references travel through Redis:
 * request ids, user / application / token *ids* — never a token value or a secret.
 */
const RequestIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.-]+$/);

/** `revocations` queue: one job per lifecycle step of a request. */
export const RequestJobSchema = z
  .object({
    requestId: RequestIdSchema,
  })
  .strict();
export type RequestJob = z.infer<typeof RequestJobSchema>;

/** `idp-calls` queue: one IdP call, a step of a request's plan. */
export const IdpCallJobSchema = z
  .object({
    requestId: RequestIdSchema,
    step: TargetSchema,
    /** Stable key of the step, for progress that survives retries. */
    stepKey: z.string().min(1).max(600),
    /**
     * The connection it was planned for: only that connection's adapter may run it (absent in jobs made
     * before connections existed: the queue's own connection).
     */
    connection: z.string().min(1).max(64).optional(),
  })
  .strict();
export type IdpCallJob = z.infer<typeof IdpCallJobSchema>;

/** `dead-letters` queue: a copy of what finally failed, for people to look at. */
export const DeadLetterJobSchema = z
  .object({
    queue: z.string(),
    jobId: z.string(),
    jobName: z.string(),
    requestId: RequestIdSchema.optional(),
    errorCode: z.string(),
    errorMessage: z.string().max(2000),
    attemptsMade: z.number().int(),
    failedAt: z.string(),
  })
  .strict();
export type DeadLetterJob = z.infer<typeof DeadLetterJobSchema>;
