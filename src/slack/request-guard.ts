import { createHmac, timingSafeEqual } from 'node:crypto';
import { parse as parseQuery } from 'node:querystring';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { RefusalRecorder } from '../audit/refusal-log.ts';
import type { AuditLog } from '../audit/types.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';

/** Slack's window for `X-Slack-Request-Timestamp`, either way (replays and clock skew). */
export const SIGNATURE_WINDOW_SECONDS = 5 * 60;
/** Largest Slack request we read (modal states are the biggest; well under this). */
export const SLACK_BODY_LIMIT = '1mb';

const INTERACTIVE_TYPES = new Set([
  'block_actions',
  'block_suggestion',
  'view_submission',
  'view_closed',
  'shortcut',
  'message_action',
  'interactive_message',
  'dialog_submission',
  'dialog_suggestion',
]);
const EVENT_TYPES = new Set(['event_callback', 'url_verification', 'app_rate_limited']);

export type SlackRequestProblem = 'signature_invalid' | 'signature_stale' | 'malformed';

/** Slack's v0 scheme: hex HMAC-SHA256 of `v0:{timestamp}:{raw body}`, compared in constant time. */
export function checkSlackSignature(input: {
  signingSecret: string;
  rawBody: string;
  timestamp: string | undefined;
  signature: string | undefined;
  nowMs?: number;
}): SlackRequestProblem | undefined {
  const { timestamp, signature } = input;
  if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return 'signature_invalid';
  const now = Math.floor((input.nowMs ?? Date.now()) / 1000);
  if (Math.abs(now - Number(timestamp)) > SIGNATURE_WINDOW_SECONDS) return 'signature_stale';
  const expected = `v0=${createHmac('sha256', input.signingSecret).update(`v0:${timestamp}:${input.rawBody}`).digest('hex')}`;
  const a = Buffer.from(expected);
  const b = Buffer.from(signature);
  return a.length === b.length && timingSafeEqual(a, b) ? undefined : 'signature_invalid';
}

/** Is this a request shape Slack sends? (slash command form, `payload=` JSON, or Events API JSON). */
export function checkSlackShape(rawBody: string, contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  try {
    if (type === 'application/x-www-form-urlencoded') {
      const form = parseQuery(rawBody);
      if (typeof form.payload === 'string') {
        const payload: unknown = JSON.parse(form.payload);
        if (typeof payload !== 'object' || payload === null) return false;
        const kind = String((payload as { type?: unknown }).type);
        if (!INTERACTIVE_TYPES.has(kind)) return false;
        // A view submission or closure names its view (Bolt reads view.callback_id and answers 500 without it).
        if (kind === 'view_submission' || kind === 'view_closed') {
          const view = (payload as { view?: { id?: unknown; callback_id?: unknown } }).view;
          return typeof view?.id === 'string' && typeof view.callback_id === 'string';
        }
        return true;
      }
      if (form.ssl_check !== undefined) return true;
      return (
        typeof form.command === 'string' && form.command.startsWith('/') && typeof form.user_id === 'string'
      );
    }
    if (type === 'application/json') {
      const body: unknown = JSON.parse(rawBody);
      if (typeof body !== 'object' || body === null) return false;
      return EVENT_TYPES.has(String((body as { type?: unknown }).type)) || 'ssl_check' in body;
    }
  } catch {
    return false;
  }
  return false;
}

/**
 * Runs before Bolt on `POST /slack/events`: forged or missing signature → 401, outside the 5-minute
 * window (either way) → 401, anything not shaped like a Slack request → 400. Bolt alone would answer
 * a well-signed but unknown shape with a 3-second wait and a 404. Passes the raw body on as
 * `req.rawBody`, which Bolt's ExpressReceiver reads instead of the (consumed) stream.
 */
export function slackRequestGuard(options: {
  signingSecret: string;
  logger: Logger;
  metrics?: Metrics;
  /** Every refusal is appended as `slack.rejected` (reason only: never the body or the signature). */
  audit?: AuditLog;
  /** When given, refusals are counted per minute instead (one audit entry per reason and minute). */
  refusals?: RefusalRecorder;
}): RequestHandler[] {
  const raw = express.raw({ type: () => true, limit: SLACK_BODY_LIMIT });
  const guard = (req: Request, res: Response, next: NextFunction): void => {
    const rawBody = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    const reject = (status: number, problem: SlackRequestProblem) => {
      options.metrics?.rejections.inc({ source: 'slack', reason: problem });
      options.logger.warn({ problem, status }, 'slack: request rejected');
      res.status(status).json({ ok: false, error: problem });
      if (options.refusals) {
        options.refusals.record({
          action: 'slack.rejected',
          actor: { source: 'slack', id: 'unverified' },
          reason: problem,
        });
        return;
      }
      // After the answer: an audit write must not slow a refusal, nor fail it.
      void options.audit
        ?.append({
          action: 'slack.rejected',
          actor: { source: 'slack', id: 'unverified' },
          detail: { reason: problem, status },
        })
        .catch((err: unknown) =>
          options.logger.warn({ err: String(err) }, 'slack: could not audit a rejection'),
        );
    };
    const problem = checkSlackSignature({
      signingSecret: options.signingSecret,
      rawBody,
      timestamp: req.get('x-slack-request-timestamp'),
      signature: req.get('x-slack-signature'),
    });
    if (problem) {
      reject(401, problem);
      return;
    }
    if (!checkSlackShape(rawBody, req.get('content-type'))) {
      reject(400, 'malformed');
      return;
    }
    // Bolt compares the content type exactly; Slack sends it bare, some proxies add a charset.
    const ct = (req.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    req.headers['content-type'] = ct;
    (req as Request & { rawBody?: Buffer }).rawBody = Buffer.from(rawBody, 'utf8');
    next();
  };
  return [raw, guard];
}
