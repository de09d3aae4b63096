import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { BoardHooks } from '@bull-board/api/typings/app';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import { type RequestHandler, Router } from 'express';
import type { RefusalRecorder } from '../audit/refusal-log.ts';
import { basicAuth } from './basic-auth.ts';
import { jsonError } from './errors.ts';
import { LoginThrottle, type LoginThrottleOptions } from './login-throttle.ts';
import { maskSecrets, maskString, scrubStrings } from './mask.ts';

export interface DashboardOptions {
  /** Queues shown on the board. */
  queues: Queue[];
  /** Basic-auth credentials (ADMIN_USER / ADMIN_PASSWORD). */
  user: string;
  password: string;
  /**
   * Refuse every change (retry, clean, pause, add, …) from the board. Default true. When false, only
   * retrying failed jobs and removing a job are allowed; every other write answers 403.
   */
  readOnly?: boolean;
  /** Where the board is mounted; bull-board needs it for its asset URLs. Default `/admin/queues`. */
  basePath?: string;
  /** Lockout after failed logins per client address, counted in Redis; default 5 failures ⇒ 15 minutes. */
  lockout: LoginThrottleOptions;
  /** Failed logins are counted here per minute (`dashboard.rejected`). */
  refusals?: RefusalRecorder;
}

export const DEFAULT_DASHBOARD_PATH = '/admin/queues';

/** Second line of defence behind bull-board's own `readOnlyMode`: no method but GET/HEAD gets through. */
const refuseWrites: RequestHandler = (req, res, next) => {
  if (req.method === 'GET' || req.method === 'HEAD') {
    next();
    return;
  }
  res.setHeader('Allow', 'GET, HEAD');
  jsonError(res, 405, 'read_only', 'the dashboard is read-only');
};

/**
 * Write mode (ADMIN_DASHBOARD_WRITE) is "retry and remove jobs", nothing more: retrying failed jobs
 * (all of a queue's, or one) and removing one job. Adding a job, editing its data, promoting, cleaning,
 * emptying, obliterating, pausing and the rest answer 403: a job added or edited by hand would run work
 * no request planned (the workers' step guard refuses that too; this keeps it from being queued at all).
 */
const WRITE_ALLOWED = [
  /^\/api\/queues\/[^/]+\/retry\/failed$/,
  /^\/api\/queues\/[^/]+\/[^/]+\/retry$/,
  /^\/api\/queues\/[^/]+\/[^/]+\/clean$/,
];

function limitWrites(refusals: RefusalRecorder | undefined): RequestHandler {
  return (req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD') {
      next();
      return;
    }
    if (req.method === 'PUT' && WRITE_ALLOWED.some((re) => re.test(req.path))) {
      next();
      return;
    }
    refusals?.record({
      action: 'dashboard.rejected',
      actor: { source: 'dashboard', id: 'admin' },
      reason: 'write_not_allowed',
      excerpt: `${req.method} ${req.path}`,
    });
    jsonError(res, 403, 'write_not_allowed', 'the dashboard may only retry and remove jobs');
  };
}

const noStore: RequestHandler = (_req, res, next) => {
  // Job data is sensitive even masked; keep it out of browser and proxy caches.
  res.setHeader('Cache-Control', 'no-store');
  next();
};

/**
 * Bull-board hook scrubbing emails and token values out of every API answer: job data and return
 * values are masked by the adapters' formatters, but failure reasons, stack traces and job logs are not.
 */
const scrubResponses: BoardHooks = {
  after: (_context, result) => ({ ...result, body: scrubStrings(result.body) as typeof result.body }),
};

function adapterFor(queue: Queue, readOnly: boolean): BullMQAdapter {
  const adapter = new BullMQAdapter(queue, { readOnlyMode: readOnly, allowRetries: !readOnly });
  adapter.setFormatter('data', (data: unknown) => maskSecrets(data));
  adapter.setFormatter('returnValue', (value: unknown) => maskSecrets(value));
  adapter.setFormatter('progress', (value: unknown) => maskSecrets(value));
  adapter.setFormatter('name', (job: { name?: unknown }) => maskString(String(job.name ?? '')));
  return adapter;
}

/** What the dashboard's authentication needs: its credentials, its lockout, where refusals are counted. */
export type DashboardAuthOptions = Pick<DashboardOptions, 'user' | 'password' | 'lockout' | 'refusals'>;

/**
 * The dashboard's basic auth with its Redis-backed lockout: one realm and one failure count for every
 * admin page (the queues and the report), so guessing on one page locks the other too.
 */
export function dashboardAuth(options: DashboardAuthOptions): RequestHandler {
  return basicAuth({
    user: options.user,
    password: options.password,
    realm: 'revoker-admin',
    throttle: new LoginThrottle(options.lockout),
    ...(options.refusals ? { refusals: options.refusals } : {}),
  });
}

/**
 * The queue dashboard (bull-board) behind basic auth, read-only by default, with job payloads masked.
 * Mount the returned router at `basePath`.
 */
export function dashboardRouter(options: DashboardOptions): Router {
  const basePath = options.basePath ?? DEFAULT_DASHBOARD_PATH;
  const readOnly = options.readOnly ?? true;
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: options.queues.map((queue) => adapterFor(queue, readOnly)),
    // @bull-board/express pins its own copy of @bull-board/api (9.10.1 vs 9.10.2): identical at runtime,
    // but the private fields make the two BaseAdapter declarations nominally distinct to TypeScript.
    serverAdapter: serverAdapter as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
    options: { uiConfig: { boardTitle: 'Revoker queues' }, handlerHooks: scrubResponses },
  });
  const router = Router();
  router.use(dashboardAuth(options), noStore);
  router.use(readOnly ? refuseWrites : limitWrites(options.refusals));
  // bull-board's adapter is an express app typed loosely (`any`) by the package; it is a RequestHandler.
  router.use(serverAdapter.getRouter() as RequestHandler);
  return router;
}
