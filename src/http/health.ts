import { type RequestHandler, Router } from 'express';
import type { Logger } from '../log.ts';

/** A readiness check: resolves when the dependency is usable, rejects (or hangs) when not. */
export type ReadinessCheck = () => Promise<void>;

export interface HealthOptions {
  /** Named checks run by `GET /readyz`, e.g. `{ redis, idp }`. Default: none (always ready). */
  readiness?: Record<string, ReadinessCheck>;
  /** How long each check may take before it counts as failed. Default 2000 ms. */
  readinessTimeoutMs?: number;
  /** Returns true once the server is shutting down, so load balancers stop routing here. Default: never. */
  isDraining?: () => boolean;
  logger: Logger;
}

export type CheckStatus = 'ok' | 'error' | 'timeout';

export interface ReadinessBody {
  status: 'ready' | 'unready';
  checks: Record<string, CheckStatus>;
  /** Names of the failing checks (and `shutdown` while draining); absent when ready. */
  failing?: string[];
}

class CheckTimeout extends Error {}

/**
 * Runs `check`, at most once at a time: concurrent probes share the in-flight attempt, so a dependency
 * that hangs costs one pending promise, not one per probe.
 */
function coalesce(check: ReadinessCheck): ReadinessCheck {
  let inFlight: Promise<void> | undefined;
  return () => {
    inFlight ??= Promise.resolve()
      .then(check)
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckTimeout()), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** `GET /healthz` (liveness: no I/O) and `GET /readyz` (every readiness check, each time-bounded). */
export function healthRouter(options: HealthOptions): Router {
  const timeoutMs = options.readinessTimeoutMs ?? 2000;
  const checks = Object.entries(options.readiness ?? {}).map(
    ([name, check]) => [name, coalesce(check)] as const,
  );
  const router = Router();

  const healthz: RequestHandler = (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.status(200).json({ status: 'ok' });
  };

  const readyz: RequestHandler = async (_req, res) => {
    const log: Logger = res.locals.log ?? options.logger;
    const results = await Promise.all(
      checks.map(async ([name, check]): Promise<[string, CheckStatus]> => {
        try {
          await withTimeout(check(), timeoutMs);
          return [name, 'ok'];
        } catch (err) {
          const timedOut = err instanceof CheckTimeout;
          log.warn({ check: name, ...(timedOut ? { timeoutMs } : { err }) }, 'readiness check failed');
          return [name, timedOut ? 'timeout' : 'error'];
        }
      }),
    );
    const body: ReadinessBody = { status: 'ready', checks: Object.fromEntries(results) };
    const failing = results.filter(([, status]) => status !== 'ok').map(([name]) => name);
    if (options.isDraining?.()) failing.push('shutdown');
    res.setHeader('Cache-Control', 'no-store');
    if (failing.length === 0) {
      res.status(200).json(body);
      return;
    }
    // Only names and statuses go out: error messages can carry hosts or credentials from connection URLs.
    res.status(503).json({ ...body, status: 'unready', failing } satisfies ReadinessBody);
  };

  router.get('/healthz', healthz);
  router.get('/readyz', readyz);
  return router;
}
