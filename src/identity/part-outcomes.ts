import { z } from 'zod';
import { sanitizeOutsideText, truncateGraphemes } from '../domain/outside-text.ts';
import type { PartOutcome, VerifyResult } from './port.ts';

/**
 * The outcome model (issue 18): every part of what a scope reaches has its own outcome, and the request's
 * outcome follows from them: `verified` only when every part is, `unverifiable` when none failed and some
 * part is unverifiable, otherwise `failed`.
 */
export type RequestOutcome = 'verified' | 'unverifiable' | 'failed';

/** The part a verify without `parts` speaks for. */
export const DEFAULT_PART = 'tokens';

/** What a verify showed, as parts: its own `parts`, or one part "tokens" judged by `ok`/`method`. */
export function partsOf(verify: VerifyResult): PartOutcome[] {
  if (verify.parts && verify.parts.length > 0) return verify.parts;
  if (verify.method === 'none')
    return [{ part: DEFAULT_PART, outcome: 'unverifiable', why: verify.unverifiable }];
  if (verify.ok) return [{ part: DEFAULT_PART, outcome: 'verified', method: verify.method }];
  return [
    {
      part: DEFAULT_PART,
      outcome: 'failed',
      why: `${verify.remaining.length} token(s) still work after revocation`,
      remaining: verify.remaining,
    },
  ];
}

/** The request's outcome from its parts (no parts at all is nothing observed: unverifiable). */
export function aggregateParts(parts: readonly PartOutcome[]): RequestOutcome {
  if (parts.some((p) => p.outcome === 'failed')) return 'failed';
  if (parts.length === 0 || parts.some((p) => p.outcome === 'unverifiable')) return 'unverifiable';
  return 'verified';
}

/** True when every part was observed dead: what lets a retried bulk step skip its call. */
export function showsEveryPartDone(verify: VerifyResult): boolean {
  return aggregateParts(partsOf(verify)) === 'verified';
}

/**
 * The parts in words, grouped by outcome: "verified: refresh tokens; unverifiable: sessions (Okta offers no
 * listing)". Outside text (an IdP's words) is sanitised; each reason is cut to `maxWhy` characters.
 */
export function describeParts(parts: readonly PartOutcome[], options: { maxWhy?: number } = {}): string {
  const maxWhy = options.maxWhy ?? 300;
  const clean = (s: string, max: number) => truncateGraphemes(sanitizeOutsideText(s), max);
  const groups: string[] = [];
  for (const outcome of ['verified', 'unverifiable', 'failed'] as const) {
    const these = parts.filter((p) => p.outcome === outcome);
    if (these.length === 0) continue;
    const items = these.map((p) =>
      p.outcome === 'verified' ? clean(p.part, 100) : `${clean(p.part, 100)} (${clean(p.why, maxWhy)})`,
    );
    groups.push(`${outcome}: ${items.join(', ')}`);
  }
  return groups.join('; ');
}

/** The parts as stored in a request record (zod at the Redis edge; bounded so a record stays small). */
export const PartOutcomeSchema: z.ZodType<PartOutcome> = z.discriminatedUnion('outcome', [
  z.object({
    part: z.string().max(200),
    outcome: z.literal('verified'),
    method: z.enum(['list', 'introspection', 'not-before', 'call-answer']),
  }),
  z.object({ part: z.string().max(200), outcome: z.literal('unverifiable'), why: z.string().max(1000) }),
  z.object({
    part: z.string().max(200),
    outcome: z.literal('failed'),
    why: z.string().max(1000),
    // cjson turns an empty array into `{}`: read that back as none.
    remaining: z.preprocess(
      (v) => (Array.isArray(v) ? v : undefined),
      z.array(z.object({ id: z.string(), userId: z.string().optional() })).optional(),
    ),
  }),
]) as z.ZodType<PartOutcome>;

/** Parts bounded for storage: reasons and names cut, at most 50 remaining token ids per part, 20 parts. */
export function boundParts(parts: readonly PartOutcome[]): PartOutcome[] {
  return parts.slice(0, 20).map((p): PartOutcome => {
    const part = truncateGraphemes(p.part, 200);
    if (p.outcome === 'verified') return { ...p, part };
    if (p.outcome === 'unverifiable') return { ...p, part, why: truncateGraphemes(p.why, 1000) };
    const { remaining, ...rest } = p;
    return {
      ...rest,
      part,
      why: truncateGraphemes(p.why, 1000),
      ...(remaining && remaining.length > 0 ? { remaining: remaining.slice(0, 50) } : {}),
    };
  });
}

/**
 * The parts in words when they say more than the state does (several parts, or one that is not verified
 * under a name of its own); undefined otherwise, so a one-part outcome reads as before ("verified" alone
 * says that everything it covers was observed; the stored parts and the audit keep the part's name).
 */
export function informativeParts(parts: readonly PartOutcome[] | undefined): string | undefined {
  if (!parts || parts.length === 0) return undefined;
  const [only] = parts;
  if (parts.length === 1 && (only!.part === DEFAULT_PART || only!.outcome === 'verified')) return undefined;
  return describeParts(parts);
}
