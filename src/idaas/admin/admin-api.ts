import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import type { Logger } from '../../log.ts';
import { ADMIN_PREFIX } from '../admin-contract.ts';
import { BodyTooLargeError, readBody } from '../http/read-body.ts';
import { AdminHttpError, invalidRequest } from './admin-http-error.ts';
import type { FaultSwitch } from './fault-switch.ts';
import { type AdminRoute, type RouteContext, routes } from './routes.ts';

const BODY_LIMIT = 64 * 1024;

export interface AdminApiOptions {
  adminToken: string;
  faults: FaultSwitch;
  context: Omit<RouteContext, 'faults'>;
  logger: Logger;
}

/**
 * The console's admin API on plain node:http (it is benchmarked, so no framework in the way).
 * Order: bearer → route → fault switches → body → handler: without the token nothing is learnt, not
 * even which routes exist. /faults and /stats bypass the switches so a test can always turn them off
 * and read the counters.
 */
export class AdminApi {
  readonly #tokenDigest: Buffer;
  readonly #routes: AdminRoute[] = routes;

  constructor(private readonly options: AdminApiOptions) {
    this.#tokenDigest = digest(options.adminToken);
  }

  matches(path: string): boolean {
    return path === ADMIN_PREFIX || path.startsWith(`${ADMIN_PREFIX}/`);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let headers: Record<string, string> = {};
    try {
      const url = new URL(req.url ?? '/', 'http://idaas.invalid');
      const path = url.pathname.slice(ADMIN_PREFIX.length);
      this.#authorize(req);
      const found = this.#route(req.method ?? 'GET', path);
      if (!found.route.bypassFaults) headers = this.options.faults.admit();
      const body = found.route.body ? await this.#body(req, found.route.body) : undefined;
      const result = await found.route.handler({
        ctx: { ...this.options.context, faults: this.options.faults },
        params: found.params,
        query: url.searchParams,
        body,
      });
      send(res, 200, result, headers);
    } catch (err) {
      if (err instanceof AdminHttpError) {
        send(res, err.status, { error: err.error, message: err.message }, { ...headers, ...err.headers });
        return;
      }
      this.options.logger.error({ err }, 'admin API failure');
      send(res, 500, { error: 'server_error', message: 'internal error' }, headers);
    }
  }

  #route(method: string, path: string) {
    let pathMatched = false;
    for (const route of this.#routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (route.method === method) {
        const params = (m.slice(1) as string[]).map(decodePathSegment);
        return { route, params };
      }
    }
    if (pathMatched) throw new AdminHttpError(405, 'method_not_allowed', `${method} is not allowed here`);
    throw new AdminHttpError(404, 'not_found', `no admin route ${method} ${ADMIN_PREFIX}${path}`);
  }

  #authorize(req: IncomingMessage) {
    const header = req.headers.authorization ?? '';
    const presented = /^Bearer (.+)$/i.exec(header)?.[1];
    // Compare digests: constant time regardless of the presented token's length.
    if (presented === undefined || !timingSafeEqual(digest(presented), this.#tokenDigest)) {
      throw new AdminHttpError(401, 'unauthorized', 'missing or invalid admin bearer token', {
        'www-authenticate': 'Bearer realm="idaas-admin"',
      });
    }
  }

  async #body(req: IncomingMessage, schema: z.ZodType): Promise<unknown> {
    let raw: Buffer;
    try {
      raw = await readBody(req, BODY_LIMIT);
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        throw new AdminHttpError(413, 'payload_too_large', `request body exceeds ${BODY_LIMIT} bytes`);
      }
      throw err;
    }
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      throw invalidRequest('request body is not valid JSON');
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw invalidRequest(
        parsed.error.issues
          .map((i) =>
            i.code === 'unrecognized_keys'
              ? `unknown field(s): ${i.keys.join(', ')}`
              : `${i.path.join('.') || 'body'}: ${i.message}`,
          )
          .join('; '),
      );
    }
    return parsed.data;
  }
}

/** A %-encoded path segment; malformed encoding is the caller's mistake (400), not ours. */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw invalidRequest('the path has malformed percent-encoding');
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>) {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
    'cache-control': 'no-store',
  });
  res.end(json);
}
