import { z } from 'zod';
import { CONNECTION_ID } from '../connections/connection.ts';
import { SCOPES, TargetSchema } from '../domain/target.ts';

/**
 * The fields of Slack payloads our listeners rely on, validated so that a surprise shape becomes a
 * coded error rather than `undefined` deep inside a handler. Everything else passes through.
 */
export const SlashCommandSchema = z.object({
  command: z.string(),
  text: z.string().default(''),
  user_id: z.string().min(1),
  user_name: z.string().optional(),
  trigger_id: z.string().min(1),
  response_url: z.string().optional(),
  channel_id: z.string().optional(),
});

export const UserRefSchema = z.object({
  id: z.string().min(1),
  name: z.string().optional(),
  username: z.string().optional(),
});

export const BlockActionsSchema = z.object({
  type: z.literal('block_actions'),
  user: UserRefSchema,
  trigger_id: z.string().optional(),
  response_url: z.string().optional(),
  channel: z.object({ id: z.string() }).optional(),
  message: z.object({ ts: z.string() }).optional(),
  view: z
    .object({ id: z.string(), hash: z.string().optional(), private_metadata: z.string().optional() })
    .optional(),
  container: z.object({ type: z.string() }).optional(),
});

export const ViewSubmissionSchema = z.object({
  type: z.literal('view_submission'),
  user: UserRefSchema,
  view: z.object({
    id: z.string().min(1),
    callback_id: z.string(),
    private_metadata: z.string().default(''),
    state: z.object({ values: z.record(z.string(), z.record(z.string(), z.unknown())) }),
  }),
});

/** The dialog's choices: the four console scopes, and a leaked token pasted by value. */
export const CHOICES = [...SCOPES, 'leaked'] as const;
export type Choice = (typeof CHOICES)[number];
const ScopeSchema = z.enum(CHOICES);

/** A connection id in our own private_metadata (issue 22: application, API and token scopes name one). */
const ConnectionIdSchema = z.string().regex(CONNECTION_ID);

/** private_metadata of the scope modal: the choice currently made, and the connection picked for it. */
export const ScopeMetadataSchema = z.object({
  scope: ScopeSchema.optional(),
  connection: ConnectionIdSchema.optional(),
});
export type ScopeMetadata = z.infer<typeof ScopeMetadataSchema>;

/** private_metadata of the confirmation modal: the target, resolved before the modal was shown. */
export const ConfirmMetadataSchema = z.object({
  target: TargetSchema,
  label: z.string().max(500),
  /** The connection the target belongs to (several connections; absent: the primary, or every one for a user). */
  connection: ConnectionIdSchema.optional(),
  impact: z
    .object({ tokenCount: z.number().int().min(0).optional(), userCount: z.number().int().min(0) })
    .optional(),
});
export type ConfirmMetadata = z.infer<typeof ConfirmMetadataSchema>;

/** private_metadata of the deny modal. */
export const DenyMetadataSchema = z.object({
  requestId: z.string().min(1).max(128),
  responseUrl: z.string().optional(),
});
export type DenyMetadata = z.infer<typeof DenyMetadataSchema>;

/** Parses JSON private_metadata with a schema; undefined when absent or not ours. */
export function parseMetadata<T>(schema: z.ZodType<T>, raw: string | undefined): T | undefined {
  if (!raw) return undefined;
  try {
    const r = schema.safeParse(JSON.parse(raw));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/** Reads `state.values[block][action]` of a view with a schema. */
export function viewValue<T>(
  values: Record<string, Record<string, unknown>>,
  block: string,
  action: string,
  schema: z.ZodType<T>,
): T | undefined {
  const r = schema.safeParse(values[block]?.[action]);
  return r.success ? r.data : undefined;
}
