import { type RequestHandler, Router } from 'express';
import type { Logger } from '../log.ts';

/** A readiness check: resolves when the dependency is usable, rejects (or hangs) when not. */
export type ReadinessCheck = () => Promise<void>;

export interface HealthOptions {
  /** Named checks run by `GET /readyz`, e.g. `{ redis, idp }`. Default: none (always ready). */
  readiness?: Record<string, ReadinessCheck>;
  /** How long each check may take before it counts as failed. Default 2000 ms. */
  readinessTimeoutMs?: number;
  /**
   * `/readyz` answers from a cached result; a request finding it older than this starts one background
   * refresh (at most one at a time, at most one per interval, however many callers). Default 5000 ms.
   */
  readinessRefreshMs?: number;
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
 * Runs `check`, at most once at a time: a dependency that hangs past the timeout costs one pending
 * promise, not one per refresh.
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

type Results = Array<[string, CheckStatus]>;

/**
 * The readiness checks' last result, refreshed in the background. A request never runs a check itself:
 * anonymous `/readyz` callers, however many, cost one refresh per interval (each check's IdP calls draw
 * from the budget's probe lane, see IdpBudget), so they cannot take IdP permits from revocations.
 * Only the very first request (nothing cached yet), or one after a long quiet spell (older than 4
 * intervals), waits for the refresh it started — and shares it with every other caller.
 */
class ReadinessCache {
  private last: { at: number; results: Results } | undefined;
  private inFlight: Promise<Results> | undefined;

  constructor(
    private readonly checks: ReadonlyArray<readonly [string, ReadinessCheck]>,
    private readonly timeoutMs: number,
    private readonly refreshMs: number,
    private readonly logger: Logger,
  ) {}

  async results(): Promise<Results> {
    const age = this.last ? Date.now() - this.last.at : Number.POSITIVE_INFINITY;
    if (age < this.refreshMs && this.last) return this.last.results;
    const refresh = this.refresh();
    if (this.last && age < 4 * this.refreshMs) return this.last.results;
    return refresh;
  }

  private refresh(): Promise<Results> {
    this.inFlight ??= this.run().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async run(): Promise<Results> {
    const results = await Promise.all(
      this.checks.map(async ([name, check]): Promise<[string, CheckStatus]> => {
        try {
          await withTimeout(check(), this.timeoutMs);
          return [name, 'ok'];
        } catch (err) {
          const timedOut = err instanceof CheckTimeout;
          this.logger.warn(
            { check: name, ...(timedOut ? { timeoutMs: this.timeoutMs } : { err }) },
            'readiness check failed',
          );
          return [name, timedOut ? 'timeout' : 'error'];
        }
      }),
    );
    // Stamped when the refresh ends: a slow check does not make the next refresh start at once.
    this.last = { at: Date.now(), results };
    return results;
  }
}

/** `GET /healthz` (liveness: no I/O) and `GET /readyz` (the readiness checks' cached result). */
export function healthRouter(options: HealthOptions): Router {
  const cache = new ReadinessCache(
    Object.entries(options.readiness ?? {}).map(([name, check]) => [name, coalesce(check)] as const),
    options.readinessTimeoutMs ?? 2000,
    options.readinessRefreshMs ?? 5000,
    options.logger,
  );
  const router = Router();

  const healthz: RequestHandler = (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.status(200).json({ status: 'ok' });
  };

  const readyz: RequestHandler = async (_req, res) => {
    const results = await cache.results();
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
