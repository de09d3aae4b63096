import { type HttpHandler, HttpResponse, http } from 'msw';
import type { CallMatch, SimCall, SimFault } from './types.ts';

/** One request as a simulator route sees it. */
export interface SimRequest {
  method: string;
  /** Path below the simulator's origin, e.g. `/api/v2/users/auth0%7C1/sessions`. */
  path: string;
  query: URLSearchParams;
  headers: Headers;
  /** Parsed JSON body, the form fields of a form body, or undefined. */
  body: unknown;
  /** `{name}` segments of the route's pattern, decoded. */
  params: Record<string, string>;
}

export interface SimRoute {
  method: string;
  /** `{name}` matches one path segment: `/api/v2/users/{id}/sessions`. */
  pattern: string;
  handle: (req: SimRequest) => Response | Promise<Response>;
}

export interface SimRouterOptions {
  /** Origin the simulator serves, e.g. `https://acme.auth0.sim`. */
  origin: string;
  routes: SimRoute[];
  /** The vendor's rate-limit answer (status 429 with its reset headers). */
  rateLimited: () => Response;
  /** Headers the vendor puts on every answer (Keycloak: `Date`). Default none. */
  commonHeaders?: () => Record<string, string>;
}

/**
 * The part every stateful vendor simulator shares: one msw handler for the vendor's origin, a router over
 * documented paths (an undocumented one answers 404, as the vendor's gateway would), the call log and the
 * one-shot faults of `VendorSimulator.failOnce`. Vendor rules live in each simulator's routes.
 */
export class SimRouter {
  readonly calls: SimCall[] = [];
  private faults: { match: CallMatch; fault: SimFault }[] = [];

  constructor(private readonly o: SimRouterOptions) {}

  get handlers(): HttpHandler[] {
    return [http.all(`${this.o.origin}/*`, ({ request }) => this.dispatch(request))];
  }

  failOnce(match: CallMatch, fault: SimFault): void {
    this.faults.push({ match, fault });
  }

  reset(): void {
    this.calls.length = 0;
    this.faults = [];
  }

  private async dispatch(request: Request): Promise<Response> {
    const u = new URL(request.url);
    const url = `${u.pathname}${u.search}`;
    const method = request.method;
    const i = this.faults.findIndex((f) => f.match.method === method && f.match.url.test(url));
    const fault = i >= 0 ? this.faults.splice(i, 1)[0]!.fault : undefined;
    if (fault === '503') return this.answer(method, url, new Response(null, { status: 503 }));
    if (fault === '429') return this.answer(method, url, this.o.rateLimited());
    const res = await this.route(method, u, request);
    if (fault === 'timeout-after-commit') {
      // The effect is applied; the answer never comes (the client's own timeout fires).
      this.calls.push({ method, url, status: 0 });
      return new Promise<Response>(() => {});
    }
    return this.answer(method, url, res);
  }

  private answer(method: string, url: string, res: Response): Response {
    this.calls.push({ method, url, status: res.status });
    const extra = this.o.commonHeaders?.() ?? {};
    for (const [k, v] of Object.entries(extra)) if (!res.headers.has(k)) res.headers.set(k, v);
    return res;
  }

  private async route(method: string, u: URL, request: Request): Promise<Response> {
    const segments = u.pathname.split('/');
    for (const r of this.o.routes) {
      if (r.method !== method) continue;
      const parts = r.pattern.split('/');
      if (parts.length !== segments.length) continue;
      const params: Record<string, string> = {};
      const ok = parts.every((p, k) => {
        const m = /^\{(.+)\}$/.exec(p);
        if (m) {
          if (segments[k] === '') return false;
          params[m[1]!] = decodeURIComponent(segments[k]!);
          return true;
        }
        return p === segments[k];
      });
      if (!ok) continue;
      return r.handle({
        method,
        path: u.pathname,
        query: u.searchParams,
        headers: request.headers,
        body: await readBody(request),
        params,
      });
    }
    return HttpResponse.json({ statusCode: 404, error: 'Not Found', message: 'Not Found' }, { status: 404 });
  }
}

async function readBody(request: Request): Promise<unknown> {
  const text = await request.text();
  if (text === '') return undefined;
  const type = request.headers.get('content-type') ?? '';
  if (type.includes('application/x-www-form-urlencoded'))
    return Object.fromEntries(new URLSearchParams(text));
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
