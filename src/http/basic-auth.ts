import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { RefusalRecorder } from '../audit/refusal-log.ts';
import { jsonError } from './errors.ts';
import type { LoginThrottle } from './login-throttle.ts';

export interface BasicAuthOptions {
  user: string;
  password: string;
  /** Realm sent in `WWW-Authenticate`. Default `revoker`. */
  realm?: string;
  /** Locks a client address out after repeated failures (429 + Retry-After). Default: no lockout. */
  throttle?: LoginThrottle;
  /** Failures are counted here per minute (`dashboard.rejected`). Default: logged only. */
  refusals?: RefusalRecorder;
}

/** Hashing first gives equal-length inputs, so neither the length nor the content leaks through timing. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Parses `Authorization: Basic base64(user:password)`; undefined when absent or malformed. */
export function parseBasicAuth(header: string | undefined): { user: string; password: string } | undefined {
  if (!header) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** HTTP basic authentication with a constant-time comparison of both user and password. */
export function basicAuth(options: BasicAuthOptions): RequestHandler {
  const expectedUser = digest(options.user);
  const expectedPassword = digest(options.password);
  const challenge = `Basic realm="${options.realm ?? 'revoker'}", charset="UTF-8"`;
  // Express 5 passes a rejection (Redis unreachable) to the error handler: the dashboard answers 5xx then,
  // never lets a request through unchecked.
  return async (req, res, next) => {
    // `req.ip`: the TCP peer, or the client a trusted proxy names (TRUST_PROXY); never an untrusted header.
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const wait = (await options.throttle?.retryAfter(address)) ?? 0;
    if (wait > 0) {
      // Locked out: the password is not even compared, so guessing on is pointless.
      options.refusals?.record({
        action: 'dashboard.rejected',
        actor: { source: 'dashboard', id: 'unverified' },
        reason: 'locked_out',
        excerpt: address,
      });
      res.setHeader('Retry-After', String(wait));
      jsonError(res, 429, 'too_many_attempts', 'too many failed logins; try again later');
      return;
    }
    const given = parseBasicAuth(req.headers.authorization);
    // Both comparisons always run (no short-circuit), so a right user name is not detectable by timing.
    const userOk = timingSafeEqual(digest(given?.user ?? ''), expectedUser);
    const passwordOk = timingSafeEqual(digest(given?.password ?? ''), expectedPassword);
    if (given && userOk && passwordOk) {
      await options.throttle?.succeed(address);
      next();
      return;
    }
    res.locals.log?.warn({ credentials: given ? 'wrong' : 'missing' }, 'dashboard authentication refused');
    // A browser's first request carries no credentials (it waits for the challenge): not a guess.
    if (given) {
      await options.throttle?.fail(address);
      options.refusals?.record({
        action: 'dashboard.rejected',
        actor: { source: 'dashboard', id: 'unverified' },
        reason: 'wrong_credentials',
        excerpt: address,
      });
    }
    res.setHeader('WWW-Authenticate', challenge);
    jsonError(res, 401, 'unauthorized', 'authentication required');
  };
}
