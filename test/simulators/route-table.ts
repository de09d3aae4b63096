import { type HttpHandler, http } from 'msw';
import type { CallMatch, SimCall, SimFault } from './types.ts';

/** What a route handler gets: the request, its URL, the path below the base and the pattern's groups. */
export interface SimRequest {
  request: Request;
  url: URL;
  /** Path below the base, percent-decoded: `/users/alice@contoso.com/revokeSignInSessions`. */
  path: string;
  groups: string[];
}

export interface SimRoute {
  method: string;
  /** Matched against `path` (anchored by the caller's pattern). */
  pattern: RegExp;
  handle: (req: SimRequest) => Response | Promise<Response>;
}

/** How the vendor answers a fault: its 503 and its rate-limit answer (with its reset header). */
export interface VendorFaultAnswers {
  unavailable: () => Response;
  rateLimited: () => Response;
}

/**
 * Routing, call recording and one-shot faults shared by the Entra and Google simulators: one msw handler per
 * base URL, routes matched in order, anything else answered as the vendor answers an unknown path (404).
 */
export class SimRouter {
  readonly calls: SimCall[] = [];
  private faults: { match: CallMatch; fault: SimFault | (() => Response) }[] = [];
  private hung = new Set<() => void>();

  constructor(private readonly answers: VendorFaultAnswers) {}

  failOnce(match: CallMatch, fault: SimFault): void {
    this.faults.push({ match, fault });
  }

  /** Answers the next call matching `match` once with `answer` (another documented failure), no effect. */
  answerOnce(match: CallMatch, answer: () => Response): void {
    this.faults.push({ match, fault: answer });
  }

  reset(): void {
    this.calls.length = 0;
    this.faults = [];
    for (const release of this.hung) release();
    this.hung.clear();
  }

  /** One msw handler serving `routes` below `base`; `notFound` answers an unknown path. */
  handler(base: string, routes: SimRoute[], notFound: (req: SimRequest) => Response): HttpHandler {
    const root = base.replace(/\/+$/, '');
    const escaped = root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return http.all(new RegExp(`^${escaped}(/.*)?$`), async ({ request }) => {
      const url = new URL(request.url);
      const basePath = new URL(root).pathname.replace(/\/+$/, '');
      const path = decodeURIComponent(url.pathname.slice(basePath.length)) || '/';
      // MSAL's `client-request-id` is a fresh correlation id per request: left out of the recorded call, like
      // every generated id, so one run's calls can be matched in the next.
      const query = new URLSearchParams(url.search);
      query.delete('client-request-id');
      const search = query.size > 0 ? `?${decodeURIComponent(query.toString()).replace(/\+/g, ' ')}` : '';
      const sent = `${path}${search}`;
      const call: SimCall = { method: request.method, url: sent, status: 0 };
      this.calls.push(call);
      const fault = this.takeFault(request.method, sent);
      if (typeof fault === 'function' || fault === '503' || fault === '429') {
        const res =
          typeof fault === 'function'
            ? fault()
            : fault === '503'
              ? this.answers.unavailable()
              : this.answers.rateLimited();
        call.status = res.status;
        return res;
      }
      const route = routes.find((r) => r.method === request.method && r.pattern.test(path));
      const groups = route ? (route.pattern.exec(path)?.slice(1) ?? []) : [];
      const req: SimRequest = { request, url, path, groups };
      const res = route ? await route.handle(req) : notFound(req);
      call.status = res.status;
      if (fault === 'timeout-after-commit') {
        // The effect is applied; the answer never comes: the client's timeout fires.
        await new Promise<void>((resolve) => {
          const release = () => resolve();
          this.hung.add(release);
          request.signal.addEventListener('abort', release, { once: true });
          setTimeout(release, 60_000).unref();
        });
        call.status = 0;
        return Response.error();
      }
      return res;
    });
  }

  private takeFault(method: string, url: string): SimFault | (() => Response) | undefined {
    const i = this.faults.findIndex((f) => f.match.method === method && f.match.url.test(url));
    if (i < 0) return undefined;
    const [f] = this.faults.splice(i, 1);
    return f?.fault;
  }
}

/** Parses `application/x-www-form-urlencoded` bodies (token endpoints). */
export async function formBody(request: Request): Promise<URLSearchParams> {
  return new URLSearchParams(await request.text());
}
