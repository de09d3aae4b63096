import { z } from 'zod';
import { ConnectionStatusSchema } from '../connections/connection-status.ts';
import { RequestStateSchema, RevocationRequestSchema } from '../domain/request.ts';
import { PartOutcomeSchema } from '../identity/part-outcomes.ts';
import type { RequestRecord } from './types.ts';

// A request record as the store keeps it (`{prefix}:req:{id}`), read back through RecordSchema.

const ApprovalSchema = z.object({ by: z.string(), name: z.string().optional(), at: z.string() });
/** cjson turns an empty array into `{}`; read it back as []. */
const arrayOf = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => (Array.isArray(v) ? v : []), z.array(item));

export const RecordSchema = RevocationRequestSchema.extend({
  state: RequestStateSchema,
  workflow: z.string(),
  requiredApprovals: z.number().int().min(0),
  approvals: arrayOf(ApprovalSchema),
  approvers: arrayOf(z.string()),
  allowSelfApproval: z.boolean(),
  denial: z
    .object({ by: z.string(), name: z.string().optional(), at: z.string(), reason: z.string() })
    .optional(),
  approvalExpiresAt: z.string().optional(),
  startAt: z.string().optional(),
  cancelApprovals: z.number().int().optional(),
  cancelVotes: z.preprocess((v) => (Array.isArray(v) ? v : undefined), z.array(ApprovalSchema).optional()),
  notifyChannels: z.preprocess((v) => (Array.isArray(v) ? v : undefined), z.array(z.string()).optional()),
  targetName: z.string().max(500).optional(),
  targetEmail: z.string().max(320).optional(),
  resolveByEmail: z.boolean().optional(),
  connections: z.preprocess(
    (v) => (Array.isArray(v) ? v : undefined),
    z.array(ConnectionStatusSchema).optional(),
  ),
  waiting: z.string().max(500).nullable().optional(),
  impact: z.object({ tokenCount: z.number().optional(), userCount: z.number() }).optional(),
  progress: z.object({ done: z.number(), total: z.number(), tokens: z.number().optional() }),
  result: z
    .object({
      ok: z.boolean(),
      revoked: z.number(),
      remaining: z.number(),
      error: z.string().optional(),
      unverifiable: z.string().optional(),
      parts: z.preprocess((v) => (Array.isArray(v) ? v : undefined), z.array(PartOutcomeSchema).optional()),
      noAccount: z.boolean().optional(),
    })
    .optional(),
  context: z.record(z.string(), z.string()).optional(),
  updatedAt: z.string(),
});

/** Internal field (not in RequestRecord): approval expiry as epoch ms, so Lua can compare it. */
export type StoredRecord = RequestRecord & { approvalExpiresAtMs?: number };
