import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import type { RefusalRecorder } from '../audit/refusal-log.ts';
import { ErrorCode, isCodedError } from '../domain/errors.ts';
import { IdpNotFoundError, isIdpError } from '../identity/errors.ts';
import { parseSubjectIdentifier, type SubjectIdentifier } from '../identity/gtr/subject-identifier.ts';
import type { IdentityProvider, IdpUser } from '../identity/port.ts';
import type { Intake } from '../intake/types.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';

export interface GlobalTokenRevocationRouterDeps {
  /** `GTR_TOKEN`: the bearer the caller (an upstream IdP, a security tool) must present. */
  token: string;
  idp: IdentityProvider;
  intake: Intake;
  /** Refusals, counted per minute into one audit entry per reason (src/audit/refusal-log.ts). */
  refusals: RefusalRecorder;
  metrics?: Pick<Metrics, 'webhooks' | 'rejections'>;
  /** Default: no logging. */
  logger?: Logger;
  /** Requests for one user within this window collapse into one (a retried delivery). Default 60,000 ms. */
  dedupeWindowMs?: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

/** RFC 9493 formats Revoker resolves: `email` (the IdP's email look-up) and `opaque` (the IdP's user id). */
const SUPPORTED: readonly SubjectIdentifier['format'][] = ['email', 'opaque'];
const ACTOR = { source: 'gtr', id: 'gtr-client' } as const;

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/**
 * `POST /global-token-revocation` (draft-parecki-oauth-global-token-revocation-06 §3): an upstream IdP or
 * a security tool asks once, with `Authorization: Bearer <GTR_TOKEN>` and `{"sub_id": …}`, and Revoker
 * revokes all that person's tokens as a request of source `gtr` under the workflows (like SCIM). Answers
 * (§3.4): 204 once the request is durably accepted (enqueued or scheduled; revocation "has begun"), 400
 * malformed or an unsupported format, 401 without valid credentials, 403 when the workflows refuse it,
 * 404 user not found, 503 while the IdP or Redis cannot answer (try again).
 */
export function createGlobalTokenRevocationRouter(deps: GlobalTokenRevocationRouterDeps): express.Router {
  const expected = digest(deps.token);
  const now = deps.now ?? Date.now;
  const windowMs = deps.dedupeWindowMs ?? 60_000;
  const router = express.Router();

  const refuse = (res: Response, status: number, reason: string, excerpt?: string): void => {
    deps.metrics?.webhooks.inc({ source: 'gtr', outcome: 'rejected' });
    deps.metrics?.rejections.inc({ source: 'gtr', reason });
    deps.refusals.record({ action: 'gtr.rejected', actor: ACTOR, reason, ...(excerpt ? { excerpt } : {}) });
    if (status === 401) res.set('WWW-Authenticate', 'Bearer realm="revoker-gtr"');
    // The draft defines no error body (§3.4); a short JSON error helps whoever reads the caller's log.
    res.status(status).json({ error: reason });
  };

  // §3.2: "The request MUST also be authenticated" — constant-time compare of digests (no length leak).
  router.use((req, res, next) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    if (m && timingSafeEqual(digest(m[1]!), expected)) return next();
    refuse(res, 401, m ? 'invalid_token' : 'no_credentials');
  });

  const raw = express.raw({ type: () => true, limit: '16kb' });
  router.post('/', (req, res, next) =>
    raw(req, res, (err?: unknown) => {
      if (!err) return next();
      const tooLarge = (err as { type?: string }).type === 'entity.too.large';
      refuse(res, tooLarge ? 413 : 400, tooLarge ? 'payload_too_large' : 'unreadable_body');
    }),
  );
  router.post('/', async (req: Request, res: Response) => {
    // §3.1: the body is `application/json`.
    if (!/^application\/json\b/i.test(req.get('content-type') ?? '')) return refuse(res, 400, 'not_json');
    let body: unknown;
    try {
      body = JSON.parse((Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)).toString('utf8'));
    } catch {
      return refuse(res, 400, 'not_json');
    }
    const parsed = parseSubjectIdentifier(body, SUPPORTED);
    if (!parsed.ok) {
      // §3.4.2: 400 for "an unrecognized or unsupported type of subject identifier".
      const format = (body as { sub_id?: { format?: unknown } } | null)?.sub_id?.format;
      return refuse(res, 400, parsed.reason, typeof format === 'string' ? format : undefined);
    }
    try {
      const user = await resolve(deps.idp, parsed.subject);
      // §3.4.2: 404 "The user indicated by the subject identifier was not found".
      if (!user) return refuse(res, 404, 'user_not_found');
      const { duplicate } = await deps.intake.submit({
        target: { kind: 'user', userId: user.id },
        source: 'gtr',
        requestedBy: ACTOR,
        reason:
          'Global Token Revocation: an upstream identity provider or security tool asked to revoke all tokens',
        // A caller retrying within the window (a lost 204) gets the same request, not a second one.
        idempotencyKey: `gtr.${user.id}.${Math.floor(now() / windowMs)}`,
        targetName: user.email ?? user.userName,
        ...(user.email ? { targetEmail: user.email } : {}),
      });
      deps.metrics?.webhooks.inc({ source: 'gtr', outcome: duplicate ? 'duplicate' : 'accepted' });
      // §3.4.1: 204 once revocation has begun: the request is durably recorded and enqueued.
      res.status(204).end();
    } catch (err) {
      if (err instanceof IdpNotFoundError) return refuse(res, 404, 'user_not_found');
      if (isIdpError(err) || (isCodedError(err) && err.code === ErrorCode.RedisNotReplicated)) {
        deps.logger?.warn({ code: (err as { code?: string }).code }, 'GTR: not accepted, try again');
        res.set('Retry-After', '5').status(503).json({ error: 'temporarily_unavailable' });
        return;
      }
      if (isCodedError(err) && err.code === ErrorCode.ValidationError)
        return refuse(res, 400, 'invalid_value');
      if (isCodedError(err) && err.code === ErrorCode.Forbidden) return refuse(res, 403, 'forbidden');
      deps.logger?.error({ err: (err as Error).message }, 'GTR handler failed');
      res.status(500).json({ error: 'server_error' });
    }
  });
  router.all('/', (_req, res) => {
    res.set('Allow', 'POST').status(405).json({ error: 'method_not_allowed' });
  });
  return router;
}

async function resolve(idp: IdentityProvider, s: SubjectIdentifier): Promise<IdpUser | undefined> {
  if (s.format === 'email') return idp.findUserByEmail(s.email.toLowerCase());
  if (s.format === 'opaque') return idp.getUser(s.id);
  return undefined;
}
