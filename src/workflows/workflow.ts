import { z } from 'zod';
import { type Source, SourceSchema } from '../domain/request.ts';
import { SCOPES, type Scope } from '../domain/target.ts';
import { parseDuration } from './duration.ts';
import { checkRefs, type EnvMap, expandList, expandRefs } from './env-refs.ts';
import type { WorkflowStep } from './types.ts';

/** Who may do something: everyone, or listed Slack user/group ids (after `${VAR}` expansion). */
export interface Principals {
  any: boolean;
  ids: string[];
  /** Variables the list referenced, and those that expanded to nothing (for clear refusals). */
  refs: string[];
  emptyRefs: string[];
}

/** One loaded workflow, with its references expanded. */
export interface Workflow {
  name: string;
  description: string;
  /** File it came from, and its position among all loaded workflows (file order). */
  file: string;
  index: number;
  match: { sources: Source[]; scopes: Scope[] };
  requesters: Principals;
  approvals: { required: number; approvers: Principals; selfApproval: boolean; expiresAfterMs: number };
  graceMs: number;
  /** People who must click Cancel on a scheduled HR/SCIM revocation before it is called off. */
  cancelApprovals: number;
  steps: WorkflowStep[];
  /** Things that load but probably are not what was meant, e.g. an empty variable. */
  warnings: string[];
}

const RefString = z
  .string()
  .min(1)
  .superRefine((s, ctx) => {
    const problem = checkRefs(s);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** `any` (when allowed) or a list of ids / `${VAR}` references; a single string is a one-item list. */
const principals = (allowAny: boolean) =>
  z.unknown().transform((v, ctx): 'any' | string[] => {
    if (allowAny && v === 'any') return 'any';
    const list = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(list) || !list.every((s) => typeof s === 'string' && s.length > 0)) {
      ctx.addIssue({
        code: 'custom',
        message: `must be ${allowAny ? '`any` or ' : ''}a list of Slack user/group ids or \${VAR} references`,
      });
      return z.NEVER;
    }
    list.forEach((s: string, i) => {
      const problem = checkRefs(s);
      if (problem) ctx.addIssue({ code: 'custom', path: [i], message: problem });
    });
    return list as string[];
  });

const Duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseDuration(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const STEP_HELP = 'a step is `revoke`, `verify` or `notify: {channel: ...}`';
const Step = z.unknown().transform((v, ctx): { revoke: true } | { verify: true } | { notify: string } => {
  if (v === 'revoke') return { revoke: true };
  if (v === 'verify') return { verify: true };
  if (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.keys(v).length === 1 &&
    'notify' in v
  ) {
    const parsed = z
      .object({ channel: RefString })
      .strict()
      .safeParse((v as { notify: unknown }).notify);
    if (parsed.success) return { notify: parsed.data.channel };
    for (const issue of parsed.error.issues) {
      ctx.addIssue({ code: 'custom', path: ['notify', ...issue.path.map(String)], message: issue.message });
    }
    return z.NEVER;
  }
  ctx.addIssue({ code: 'custom', message: STEP_HELP });
  return z.NEVER;
});

/** The file format (see workflows/README.md). Unknown keys are errors: a typo must not pass silently. */
export const WorkflowFileSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case letters, digits and -'),
    description: z.string().default(''),
    match: z
      .object({
        sources: z.array(SourceSchema).min(1),
        /** Default: every scope. */
        scopes: z
          .array(z.enum(SCOPES as [Scope, ...Scope[]]))
          .min(1)
          .optional(),
      })
      .strict(),
    requesters: principals(true),
    approvals: z
      .object({
        required: z.number().int().min(0).max(10).default(0),
        approvers: principals(false).default([]),
        selfApproval: z.boolean().default(false),
        expiresAfter: Duration.default(24 * 3_600_000),
      })
      .strict()
      .default({ required: 0, approvers: [], selfApproval: false, expiresAfter: 24 * 3_600_000 }),
    grace: Duration.default(0),
    /** Cancelling a scheduled HR/SCIM revocation from Slack takes this many people (default two). */
    cancellation: z
      .object({ required: z.number().int().min(1).max(5).default(2) })
      .strict()
      .default({ required: 2 }),
    steps: z
      .array(Step)
      .min(1)
      .default([{ revoke: true }, { verify: true }]),
  })
  .strict()
  .superRefine((w, ctx) => {
    if (w.approvals.required > 0 && w.approvals.approvers.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['approvals', 'approvers'],
        message: `${w.approvals.required} approval(s) required but no approvers listed`,
      });
    }
    if (w.approvals.required > 0 && w.approvals.expiresAfter === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['approvals', 'expiresAfter'],
        message: 'must be longer than 0 when approvals are required',
      });
    }
    if (!w.steps.some((s) => 'revoke' in s)) {
      ctx.addIssue({ code: 'custom', path: ['steps'], message: 'must include `revoke`' });
    }
  });
export type WorkflowFile = z.output<typeof WorkflowFileSchema>;

function expandPrincipals(list: 'any' | string[], env: EnvMap): Principals {
  if (list === 'any') return { any: true, ids: [], refs: [], emptyRefs: [] };
  const e = expandList(list, env);
  return { any: false, ids: e.values, refs: e.refs, emptyRefs: e.emptyRefs };
}

/** Expands `${VAR}` references from `env`; an empty expansion yields an empty list. */
export function toWorkflow(raw: WorkflowFile, env: EnvMap, file: string, index: number): Workflow {
  const warnings: string[] = [];
  const requesters = expandPrincipals(raw.requesters, env);
  const approvers = expandPrincipals(raw.approvals.approvers, env);
  if (!requesters.any && requesters.ids.length === 0) {
    warnings.push(
      `nobody may request under this workflow: ${requesters.emptyRefs.join(', ') || 'the list'} is empty`,
    );
  }
  if (raw.approvals.required > 0 && approvers.ids.length === 0) {
    warnings.push(`nobody can approve under this workflow: ${approvers.emptyRefs.join(', ')} is empty`);
  } else if (
    !approvers.ids.some((id) => id.startsWith('S')) &&
    approvers.ids.length < raw.approvals.required
  ) {
    // Without user groups (S…) the list is exact, so too short a list can never reach the count.
    warnings.push(
      `only ${approvers.ids.length} approver(s) listed for ${raw.approvals.required} required approvals`,
    );
  }
  const steps: WorkflowStep[] = [];
  for (const s of raw.steps) {
    if (!('notify' in s)) {
      steps.push(s);
      continue;
    }
    const channel = expandRefs(s.notify, env);
    if (channel.text === '') warnings.push(`notify step skipped: ${channel.emptyRefs.join(', ')} is empty`);
    else steps.push({ notify: { channel: channel.text } });
  }
  return {
    name: raw.name,
    description: raw.description.trim(),
    file,
    index,
    match: { sources: raw.match.sources, scopes: raw.match.scopes ?? [...SCOPES] },
    requesters,
    approvals: {
      required: raw.approvals.required,
      approvers,
      selfApproval: raw.approvals.selfApproval,
      expiresAfterMs: raw.approvals.expiresAfter,
    },
    graceMs: raw.grace,
    cancelApprovals: raw.cancellation.required,
    steps,
    warnings,
  };
}
