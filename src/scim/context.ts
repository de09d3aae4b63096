import type { NextFunction, Request, Response } from 'express';
import type { RefusalRecorder } from '../audit/refusal-log.ts';
import type { AuditLog } from '../audit/types.ts';
import { ErrorCode, isCodedError } from '../domain/errors.ts';
import { sanitizeOutsideText } from '../domain/outside-text.ts';
import { IdpNotFoundError, isIdpError } from '../identity/errors.ts';
import type { IdentityProvider } from '../identity/port.ts';
import type { Intake } from '../intake/types.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { ScimDeactivationStore } from './deactivation-store.ts';
import { sendScimError } from './scim-error.ts';
import { ScimRequestError } from './scim-request-error.ts';

/** What every SCIM endpoint handler needs. */
export interface ScimContext {
  idp: IdentityProvider;
  intake: Intake;
  audit: AuditLog;
  /** When given, refusals are counted per minute (one audit entry per reason and minute). */
  refusals?: RefusalRecorder;
  store: ScimDeactivationStore;
  metrics?: Pick<Metrics, 'webhooks' | 'rejections'>;
  logger?: Logger;
  /** Id of the SCIM client in audit entries and requests. */
  clientId: string;
}

export type ScimHandler = (req: Request, res: Response, next: NextFunction) => Promise<void>;

/** The public base of the SCIM API as the client reached it (for `meta.location`). */
export function baseUrlOf(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}${req.baseUrl}`;
}

/** Audits and counts a refused SCIM call, then answers in SCIM's error format. */
export async function rejectScim(
  ctx: Pick<ScimContext, 'audit' | 'refusals' | 'metrics' | 'logger'>,
  res: Response,
  status: number,
  reason: string,
  detail: string,
  scimType?: Parameters<typeof sendScimError>[3],
): Promise<void> {
  ctx.metrics?.webhooks.inc({ source: 'scim', outcome: 'rejected' });
  ctx.metrics?.rejections.inc({ source: 'scim', reason });
  if (ctx.refusals) {
    ctx.refusals.record({ action: 'scim.rejected', actor: { source: 'scim', id: 'scim-client' }, reason });
    return sendScimError(res, status, detail, scimType);
  }
  try {
    await ctx.audit.append({
      action: 'scim.rejected',
      actor: { source: 'scim', id: 'scim-client' },
      detail: { reason, status, detail: detail.slice(0, 300) },
    });
  } catch (err) {
    ctx.logger?.error({ err: (err as Error).message }, 'audit append failed for a rejected SCIM call');
  }
  sendScimError(res, status, detail, scimType);
}

/** Maps what a handler threw to a SCIM error: IdP 404 ⇒ 404, IdP transient ⇒ 503, validation ⇒ 400. */
export async function handleScimError(ctx: ScimContext, res: Response, err: unknown): Promise<void> {
  if (err instanceof IdpNotFoundError) return rejectScim(ctx, res, 404, 'not_found', 'User not found');
  if (isIdpError(err)) {
    ctx.logger?.warn({ code: err.code }, 'SCIM: IdP call failed');
    return sendScimError(res, err.retryable ? 503 : 502, 'identity provider unavailable, retry later');
  }
  if (isCodedError(err) && err.code === ErrorCode.RedisNotReplicated) {
    return sendScimError(res, 503, 'not yet durable, retry later');
  }
  if (err instanceof ScimRequestError) {
    const detail = [err.message, ...err.issues].join('; ');
    const reason = err.scimType.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    return rejectScim(ctx, res, 400, reason, detail, err.scimType);
  }
  if (isCodedError(err) && err.code === ErrorCode.ValidationError) {
    return rejectScim(ctx, res, 400, 'invalid_value', err.message, 'invalidValue');
  }
  if (isCodedError(err) && err.code === ErrorCode.Forbidden) {
    return rejectScim(ctx, res, 403, 'forbidden', err.message);
  }
  ctx.logger?.error({ err: (err as Error).message }, 'SCIM handler failed');
  return sendScimError(res, 500, 'internal error');
}

/**
 * The SCIM boundary for outside text that names a user (the `{id}` of /Users/{id}, a filter's values):
 * text that sanitizeOutsideText would change (a lone surrogate, a bidi override, a control character) is
 * refused with 400 invalidValue rather than cleaned, since a cleaned identifier could name another user.
 * Other user attributes a client sends are read for `active` only and never stored or shown.
 */
export function cleanScimText(value: string, what: string): string {
  if (sanitizeOutsideText(value) !== value) {
    throw new ScimRequestError('invalidValue', `${what} carries a control, bidi or lone-surrogate character`);
  }
  return value;
}
