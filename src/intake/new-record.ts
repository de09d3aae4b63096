import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { CONNECTION_ID } from '../connections/connection.ts';
import { childRequestId } from '../connections/connection-status.ts';
import { ValidationError } from '../domain/errors.ts';
import { ActorSchema, isAutomatedSource, SourceSchema } from '../domain/request.ts';
import { TargetSchema } from '../domain/target.ts';
import type { WorkflowDecision } from '../workflows/types.ts';
import type { AuditDetail } from './request-chronicle.ts';
import type { RequestRecord, SubmitInput } from './types.ts';

const SubmitInputSchema = z
  .object({
    target: TargetSchema,
    reason: z.string().trim().min(1, 'a reason is required').max(2000),
    requestedBy: ActorSchema,
    source: SourceSchema,
    effectiveAt: z.iso.datetime({ offset: true }).optional(),
    idempotencyKey: z.string().min(1).max(512).optional(),
    context: z.record(z.string(), z.string().max(2000)).optional(),
    impact: z
      .object({ tokenCount: z.number().int().min(0).optional(), userCount: z.number().int().min(0) })
      .strict()
      .optional(),
    targetName: z.string().min(1).max(500).optional(),
    connection: z.string().regex(CONNECTION_ID).optional(),
    targetEmail: z.string().trim().toLowerCase().pipe(z.email()).optional(),
  })
  .strict();

/** A submission as the intake accepts it; a ValidationError naming every problem otherwise. */
export function parseSubmitInput(raw: SubmitInput): SubmitInput {
  const parsed = SubmitInputSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`);
    throw new ValidationError(`invalid request: ${issues.join('; ')}`, issues);
  }
  return parsed.data as SubmitInput;
}

/**
 * A fresh, unguessable request id (so `/revoke status` cannot be probed by deriving ids); the same
 * idempotency key still finds the same request through the store's separate index.
 */
export function newRequestId(): string {
  return `req_${randomBytes(15).toString('base64url')}`;
}

/** A new request's record, born in its real state (pending approval, scheduled or queued). */
export function newRecord(
  id: string,
  input: SubmitInput,
  decision: WorkflowDecision,
  now: Date,
  impact: RequestRecord['impact'],
  targetName: string | undefined,
  fanOut: readonly string[] | undefined,
): RequestRecord {
  const needsApproval = decision.approvals.required > 0;
  const startAt = (input.effectiveAt ? Date.parse(input.effectiveAt) : now.getTime()) + decision.graceMs;
  // Born in its real state, so the first announcement already says "scheduled for …" when it is.
  const state = needsApproval ? 'pending_approval' : startAt > now.getTime() ? 'scheduled' : 'queued';
  const iso = now.toISOString();
  return {
    id,
    target: input.target,
    reason: input.reason,
    requestedBy: input.requestedBy,
    source: input.source,
    ...(input.effectiveAt ? { effectiveAt: new Date(input.effectiveAt).toISOString() } : {}),
    createdAt: iso,
    state,
    workflow: decision.workflow,
    requiredApprovals: decision.approvals.required,
    approvals: [],
    ...(isAutomatedSource(input.source) ? { cancelApprovals: decision.cancelApprovals ?? 2 } : {}),
    approvers: decision.approvals.approvers,
    allowSelfApproval: decision.approvals.allowSelfApproval,
    ...(needsApproval
      ? { approvalExpiresAt: new Date(now.getTime() + decision.approvals.expiresAfterMs).toISOString() }
      : {}),
    ...(impact ? { impact } : {}),
    ...(targetName ? { targetName } : {}),
    ...(input.targetEmail && input.target.kind === 'user' ? { targetEmail: input.targetEmail } : {}),
    ...notifyChannelsOf(decision),
    progress: { done: 0, total: 0 },
    ...(input.context ? { context: input.context } : {}),
    ...(input.connection ? { connection: input.connection } : {}),
    ...(fanOut
      ? {
          connections: fanOut.map((connection) => ({
            connection,
            requestId: childRequestId(id, connection),
            status: 'pending' as const,
          })),
        }
      : {}),
    updatedAt: iso,
  };
}

/** The request's display name and HR facts (source, employee, event type, zone) for its created entry. */
export function reportFacts(rec: RequestRecord): AuditDetail {
  const facts: AuditDetail = {};
  if (rec.targetName) facts.targetName = rec.targetName.slice(0, 200);
  for (const key of ['hrSource', 'employeeId', 'hrEvent', 'hrEffectiveAt', 'timeZone'] as const) {
    const value = rec.context?.[key];
    if (value) facts[key] = value.slice(0, 200);
  }
  return facts;
}

/** The workflow's `notify` steps, as the channels to announce the outcome in. */
function notifyChannelsOf(decision: WorkflowDecision): Pick<RequestRecord, 'notifyChannels'> {
  const channels = decision.steps.flatMap((s) =>
    'notify' in s && s.notify.channel ? [s.notify.channel] : [],
  );
  return channels.length > 0 ? { notifyChannels: [...new Set(channels)] } : {};
}
