import { z } from 'zod';
import { basicAuth, discover, tokenRequest } from './oidc-discovery.ts';

export interface ProbeOptions {
  issuerUrl: string;
  /** The application the tokens were issued to (refresh must be made by it; it also introspects). */
  clientId: string;
  clientSecret: string;
  accessToken: string;
  refreshToken?: string;
  /** Set for resource-server tokens: liveness is checked at /resources/{id}/whoami instead of /me. */
  resourceServerId?: string;
}

export interface ProbeResult {
  /** HTTP status at UserInfo (/me), or at /resources/{id}/whoami for resource-server tokens. */
  userinfo: number;
  introspection: { active: boolean };
  /** Present when a refresh token was given. Rotation is on: keep using `refreshToken` after 'ok'. */
  refresh?: { result: 'ok' | 'invalid_grant' | string; refreshToken?: string; accessToken?: string };
}

const IntrospectionSchema = z.object({ active: z.boolean() });
const RefreshSchema = z.object({ access_token: z.string(), refresh_token: z.string().optional() });
const ErrorSchema = z.object({ error: z.string() });

/** Checks whether tokens still work, the three ways a client or resource server would notice. */
export async function probeTokens(o: ProbeOptions): Promise<ProbeResult> {
  const meta = await discover(o.issuerUrl);
  const base = o.issuerUrl.replace(/\/+$/, '');
  const userinfoUrl = o.resourceServerId
    ? `${base}/resources/${encodeURIComponent(o.resourceServerId)}/whoami`
    : meta.userinfo_endpoint;

  const [userinfo, introspection, refresh] = await Promise.all([
    fetch(userinfoUrl, { headers: { authorization: `Bearer ${o.accessToken}` } }).then(async (r) => {
      // Drain rather than cancel: cancel() never settles under request interceptors such as msw.
      await r.arrayBuffer();
      return r.status;
    }),
    introspect(meta.introspection_endpoint, o),
    o.refreshToken === undefined ? undefined : refreshOnce(meta.token_endpoint, o, o.refreshToken),
  ]);
  return { userinfo, introspection, ...(refresh ? { refresh } : {}) };
}

async function introspect(endpoint: string, o: ProbeOptions): Promise<{ active: boolean }> {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      authorization: basicAuth(o.clientId, o.clientSecret),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token: o.accessToken, token_type_hint: 'access_token' }),
  });
  if (!res.ok) throw new Error(`introspection answered ${res.status}`);
  return { active: IntrospectionSchema.parse(await res.json()).active };
}

async function refreshOnce(
  endpoint: string,
  o: ProbeOptions,
  refreshToken: string,
): Promise<NonNullable<ProbeResult['refresh']>> {
  const res = await tokenRequest(
    endpoint,
    { clientId: o.clientId, clientSecret: o.clientSecret },
    { grant_type: 'refresh_token', refresh_token: refreshToken },
  );
  const body = (await res.json()) as unknown;
  if (res.ok) {
    const ok = RefreshSchema.parse(body);
    return {
      result: 'ok',
      accessToken: ok.access_token,
      ...(ok.refresh_token ? { refreshToken: ok.refresh_token } : {}),
    };
  }
  const err = ErrorSchema.safeParse(body);
  return { result: err.success ? err.data.error : `http_${res.status}` };
}
