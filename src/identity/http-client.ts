import http from 'node:http';
import https from 'node:https';
import axios, {
  type AxiosError,
  type AxiosInstance,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';
import type { z } from 'zod';
import {
  IdpBadResponseError,
  type IdpError,
  IdpNotFoundError,
  IdpRateLimitedError,
  IdpTransientError,
  IdpUnauthorizedError,
} from './errors.ts';
import { currentIdpCall } from './idp-call-context.ts';

export interface IdpHttpClientOptions {
  /** Base URL every relative path is resolved against (absolute URLs, e.g. `@odata.nextLink`, pass through). */
  baseURL: string;
  /** Headers sent on every request (e.g. Okta's `Authorization: SSWS …`). Default: none. */
  headers?: Record<string, string>;
  /** Per-request timeout; a timeout becomes `IdpTransientError`. Default: 10 000 ms. */
  timeoutMs?: number;
  /** Bearer-token provider (e.g. a cached client-credentials token), asked before each request. Default: none. */
  auth?: () => Promise<string>;
  /**
   * Called on a 401 when `auth` is set, so a revoked or rotated cached token is dropped; the request is then
   * retried once with a fresh token. Default: none (a 401 is final).
   */
  invalidateAuth?: () => void;
  /** Name used in error messages ("Okta GET /api/v1/users answered 404"). Default: `IdP`. */
  idpName?: string;
  /** Wait assumed for a 429 (or Google rate-limit 403) that names no reset time. Default: 1 000 ms. */
  defaultRetryAfterMs?: number;
  /** Clock, for tests. Default: `Date.now`. */
  now?: () => number;
}

/** Network failures that say nothing about the request itself: retry later. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'ERR_NETWORK',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

/** Google signals rate limits as 403 with one of these reasons (Directory API "Standard errors"). */
const GOOGLE_RATE_LIMIT_REASONS = new Set(['userRateLimitExceeded', 'rateLimitExceeded']);
/** Google 403 reasons documented as "retry with exponential backoff" rather than a wait it names. */
const GOOGLE_BACKOFF_REASONS = new Set(['quotaExceeded']);

interface RetriableConfig extends InternalAxiosRequestConfig {
  _revokerAuthRetried?: boolean;
  /** Times this call waited out a 429 / 503-with-wait in the shared budget. */
  _revokerWaits?: number;
}

/** A call that keeps answering 429 after this many waits fails as rate-limited (its job retries later). */
const MAX_BUDGET_WAITS = 10;
/** A person waits in a Slack dialog that times out after 3 s: a longer wait fails fast instead. */
const INTERACTIVE_MAX_WAIT_MS = 2500;

/**
 * An axios instance whose failures are typed `IdpError`s (rate-limited / transient / unauthorized / not found /
 * bad response), with keep-alive agents since workers make thousands of calls to the same host.
 */
export function createIdpHttpClient(options: IdpHttpClientOptions): AxiosInstance {
  const idpName = options.idpName ?? 'IdP';
  const now = options.now ?? Date.now;
  const defaultRetryAfterMs = options.defaultRetryAfterMs ?? 1000;
  const client = axios.create({
    baseURL: options.baseURL,
    timeout: options.timeoutMs ?? 10_000,
    headers: { Accept: 'application/json', ...options.headers },
    httpAgent: new http.Agent({ keepAlive: true }),
    httpsAgent: new https.Agent({ keepAlive: true }),
    // Error mapping is ours: every non-2xx goes through the response interceptor below.
    validateStatus: (status) => status >= 200 && status < 300,
    // Never follow redirects to another host with our credentials.
    maxRedirects: 0,
  });
  // Every call, on every path, takes a permit from the shared budget when the caller runs under one
  // (BudgetedIdentityProvider). Registered first, so it runs after the auth interceptor (axios runs request
  // interceptors last-registered first): a token fetch is itself a budgeted call.
  client.interceptors.request.use(async (config) => {
    const call = currentIdpCall();
    if (call?.budget) await call.budget.acquire(call.lane);
    return config;
  });
  const auth = options.auth;
  if (auth) {
    client.interceptors.request.use(async (config) => {
      config.headers.set('Authorization', `Bearer ${await auth()}`);
      return config;
    });
  }
  client.interceptors.response.use(
    async (response) => {
      // The IdP says how much quota is left: slow down before the 429 rather than after it.
      const budget = currentIdpCall()?.budget;
      const quota = budget ? quotaFromHeaders(response, now) : undefined;
      if (
        budget &&
        quota &&
        (quota.remaining <= 0 || budget.shouldSlow(quota.remaining, quota.resetInMs, quota.limit))
      ) {
        await budget.observe(quota.remaining, quota.resetInMs, quota.limit);
      }
      return response;
    },
    async (err: unknown) => {
      const axiosErr = axios.isAxiosError(err) ? err : undefined;
      const config = axiosErr?.config as RetriableConfig | undefined;
      if (
        axiosErr?.response?.status === 401 &&
        auth &&
        options.invalidateAuth &&
        config &&
        !config._revokerAuthRetried
      ) {
        options.invalidateAuth();
        config._revokerAuthRetried = true;
        return client.request(config);
      }
      const mapped = toIdpError(err, { idpName, now, defaultRetryAfterMs });
      const call = currentIdpCall();
      const wait = waitNamedBy(mapped);
      if (call?.budget && config && wait !== undefined) {
        // Every process stops for exactly the time the IdP named; this call then goes again, as the same
        // attempt of its job.
        await call.budget.pause(wait);
        const waits = (config._revokerWaits ?? 0) + 1;
        if (waits <= MAX_BUDGET_WAITS && (call.lane !== 'interactive' || wait <= INTERACTIVE_MAX_WAIT_MS)) {
          config._revokerWaits = waits;
          return client.request(config);
        }
      }
      throw mapped;
    },
  );
  return client;
}

/** Maps any failure of an axios call to an `IdpError`. Messages name the call, never headers or bodies sent. */
export function toIdpError(
  err: unknown,
  options: { idpName?: string; now?: () => number; defaultRetryAfterMs?: number } = {},
): IdpError {
  const idpName = options.idpName ?? 'IdP';
  const now = options.now ?? Date.now;
  const defaultRetryAfterMs = options.defaultRetryAfterMs ?? 1000;
  if (!axios.isAxiosError(err)) {
    if (err instanceof Error && 'retryable' in err) return err as IdpError;
    return new IdpTransientError(
      `${idpName} call failed: ${err instanceof Error ? err.message : 'unknown'}`,
      {
        cause: err,
      },
    );
  }
  const call = describeCall(err);
  const response = err.response;
  if (!response) {
    const code = err.code ?? 'unknown';
    if (TRANSIENT_CODES.has(code) || /timeout/i.test(err.message)) {
      return new IdpTransientError(`${idpName} ${call} failed: ${code}`, { cause: err });
    }
    return new IdpBadResponseError(`${idpName} ${call} failed: ${code}`, { cause: err });
  }
  const status = response.status;
  const detail = errorDetail(response.data);
  const message = `${idpName} ${call} answered ${status}${detail ? ` (${detail})` : ''}`;
  if (status === 429) {
    const retryAfterMs = retryAfterFromHeaders(response, now) ?? defaultRetryAfterMs;
    return new IdpRateLimitedError(message, { status, retryAfterMs, cause: err });
  }
  if (status === 403 && googleRateLimitReason(response.data)) {
    const retryAfterMs = retryAfterFromHeaders(response, now) ?? defaultRetryAfterMs;
    return new IdpRateLimitedError(message, { status, retryAfterMs, cause: err });
  }
  // Google's 403 quotaExceeded: "retry using exponential back-off" (Directory API "Limits and quotas",
  // https://developers.google.com/workspace/admin/directory/v1/limits): transient, not a permission error.
  if (status === 403 && googleErrorReason(response.data, GOOGLE_BACKOFF_REASONS)) {
    const retryAfterMs = retryAfterOnly(response, now);
    return new IdpTransientError(message, {
      status,
      cause: err,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  if (status >= 500 || status === 408) {
    // Only `Retry-After` names a wait here. Okta sends `X-Rate-Limit-Reset` on every answer, 503s included:
    // it is the end of the current rate window, not a wait the IdP asked for (developer.okta.com/docs/
    // reference/rl-best-practices/: the headers are "returned with every request"), so reading it on a 503
    // would stall the whole shared budget until the window resets (issue 18 item 13).
    const retryAfterMs = retryAfterOnly(response, now);
    return new IdpTransientError(message, {
      status,
      cause: err,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  if (status === 401 || status === 403) return new IdpUnauthorizedError(message, { status, cause: err });
  if (status === 404) return new IdpNotFoundError(message, { status, cause: err });
  return new IdpBadResponseError(message, { status, cause: err });
}

/**
 * How long the IdP asked us to wait, in ms: `Retry-After` (delta-seconds or HTTP-date), else Okta's
 * `X-Rate-Limit-Reset` / Auth0's `X-RateLimit-Reset` (epoch seconds). Epoch resets are measured against the
 * response's `Date` header when present (as Okta advises), so our clock's skew does not matter.
 */
export function retryAfterFromHeaders(
  response: Pick<AxiosResponse, 'headers'>,
  now: () => number = Date.now,
): number | undefined {
  const retryAfter = header(response, 'retry-after');
  if (retryAfter) {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) return Math.round(Number(retryAfter) * 1000);
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.max(0, at - serverNow(response, now));
  }
  return resetFromHeaders(response, now);
}

/** The `Retry-After` header alone (delta-seconds or HTTP-date), in ms: the one header that names a wait on any status. */
function retryAfterOnly(response: Pick<AxiosResponse, 'headers'>, now: () => number): number | undefined {
  const retryAfter = header(response, 'retry-after');
  if (!retryAfter) return undefined;
  if (/^\d+(\.\d+)?$/.test(retryAfter)) return Math.round(Number(retryAfter) * 1000);
  const at = Date.parse(retryAfter);
  return Number.isNaN(at) ? undefined : Math.max(0, at - serverNow(response, now));
}

/** `X-Rate-Limit-Reset` (Okta) / `X-RateLimit-Reset` (Auth0, IDaaS): epoch seconds, against the answer's `Date`. */
function resetFromHeaders(response: Pick<AxiosResponse, 'headers'>, now: () => number): number | undefined {
  const reset = header(response, 'x-rate-limit-reset') ?? header(response, 'x-ratelimit-reset');
  if (reset && /^\d+$/.test(reset)) return Math.max(0, Number(reset) * 1000 - serverNow(response, now));
  return undefined;
}

function header(response: Pick<AxiosResponse, 'headers'>, name: string): string | undefined {
  const value = (response.headers as Record<string, unknown>)[name];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** The IdP's clock from its `Date` header, so our clock's skew does not matter; ours when absent. */
function serverNow(response: Pick<AxiosResponse, 'headers'>, now: () => number): number {
  const date = header(response, 'date');
  const parsed = date ? Date.parse(date) : Number.NaN;
  return Number.isNaN(parsed) ? now() : parsed;
}

/** The wait a 429 (or a 503 / Google rate-limit 403 with `Retry-After`) named, if any. */
function waitNamedBy(err: IdpError): number | undefined {
  if (err instanceof IdpRateLimitedError) return err.retryAfterMs;
  if (err instanceof IdpTransientError) return err.retryAfterMs;
  return undefined;
}

/**
 * The quota an answer reports: Okta `X-Rate-Limit-Remaining` / `-Limit` / `-Reset` (developer.okta.com/docs/
 * reference/rl-best-practices: "the number of requests left for the current rate-limit window", reset in
 * UTC epoch seconds), Auth0 and the embedded IDaaS `X-RateLimit-*` (auth0.com/docs/troubleshoot/customer-
 * support/operational-policies/rate-limit-policy). Undefined when the IdP reports nothing usable.
 */
export function quotaFromHeaders(
  response: Pick<AxiosResponse, 'headers'>,
  now: () => number = Date.now,
): { remaining: number; resetInMs: number; limit?: number } | undefined {
  const headers = response.headers as Record<string, unknown>;
  const int = (...names: string[]): number | undefined => {
    for (const name of names) {
      const v = headers[name];
      if (typeof v === 'string' && /^\d+$/.test(v.trim())) return Number(v.trim());
    }
    return undefined;
  };
  const remaining = int('x-rate-limit-remaining', 'x-ratelimit-remaining');
  if (remaining === undefined) return undefined;
  const resetInMs = resetFromHeaders(response, now);
  if (resetInMs === undefined) return undefined;
  const limit = int('x-rate-limit-limit', 'x-ratelimit-limit');
  return { remaining, resetInMs, ...(limit === undefined ? {} : { limit }) };
}

/**
 * Validates an IdP answer. A mismatch becomes `IdpBadResponseError` naming the field (never its value), so a
 * changed vendor API fails loudly instead of revoking the wrong thing.
 */
export function parseResponse<S extends z.ZodType>(schema: S, data: unknown, what: string): z.output<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
  throw new IdpBadResponseError(`${what}: unexpected answer at ${path}: ${issue?.message ?? 'invalid'}`);
}

/** `GET /api/v1/users`: method and path only; query strings may carry search terms we need not repeat. */
function describeCall(err: AxiosError): string {
  const method = (err.config?.method ?? 'get').toUpperCase();
  const url = err.config?.url ?? '';
  let path = url;
  try {
    path = new URL(url, err.config?.baseURL ?? 'http://idp.invalid').pathname;
  } catch {
    path = url.split('?')[0] ?? '';
  }
  return `${method} ${path}`;
}

/** A vendor's error code, short (Okta errorCode, Graph error.code, Auth0 errorCode, RFC 6749 error). */
function errorDetail(data: unknown): string | undefined {
  if (!data || typeof data !== 'object') return undefined;
  const d = data as Record<string, unknown>;
  const pick = (v: unknown): string | undefined =>
    typeof v === 'string' && /^[\w.:-]{1,64}$/.test(v) ? v : undefined;
  const nested = d.error && typeof d.error === 'object' ? (d.error as Record<string, unknown>) : undefined;
  return (
    pick(d.errorCode) ??
    pick(nested?.code) ??
    pick(nested?.status) ??
    pick(d.error) ??
    pick(d.code) ??
    googleErrorReason(data, GOOGLE_RATE_LIMIT_REASONS) ??
    googleErrorReason(data, GOOGLE_BACKOFF_REASONS)
  );
}

function googleRateLimitReason(data: unknown): string | undefined {
  return googleErrorReason(data, GOOGLE_RATE_LIMIT_REASONS);
}

function googleErrorReason(data: unknown, reasons: ReadonlySet<string>): string | undefined {
  if (!data || typeof data !== 'object') return undefined;
  const error = (data as { error?: unknown }).error;
  if (!error || typeof error !== 'object') return undefined;
  const errors = (error as { errors?: unknown }).errors;
  if (!Array.isArray(errors)) return undefined;
  for (const e of errors) {
    const reason = e && typeof e === 'object' ? (e as { reason?: unknown }).reason : undefined;
    if (typeof reason === 'string' && reasons.has(reason)) return reason;
  }
  return undefined;
}
