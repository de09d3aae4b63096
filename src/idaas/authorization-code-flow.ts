import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { CookieJar } from './cookie-jar.ts';
import { discover, tokenRequest } from './oidc-discovery.ts';

export interface IssueTokensOptions {
  issuerUrl: string;
  /** User id or email, typed into the login form. */
  user: string;
  password: string;
  clientId: string;
  /** Omitted for public clients. */
  clientSecret?: string;
  redirectUri: string;
  /** Resource indicator (the API's audience URI) for audience-bound, opaque access tokens. */
  resource?: string;
  /** Default `openid offline_access profile email`; with a resource, pass the API's scopes too. */
  scope?: string;
}

export const TokenResponseSchema = z.object({
  access_token: z.string(),
  refresh_token: z.string().optional(),
  id_token: z.string().optional(),
  expires_in: z.number(),
  scope: z.string().default(''),
  token_type: z.string(),
});
export type TokenResponse = z.infer<typeof TokenResponseSchema>;

export class AuthorizationFlowError extends Error {}

/**
 * Obtains tokens through the real authorization-code flow with PKCE (S256): authorization request,
 * login form, consent form, code exchange, over HTTP with manual redirects, as a browser would.
 */
export async function issueTokens(o: IssueTokensOptions): Promise<TokenResponse> {
  const meta = await discover(o.issuerUrl);
  const jar = new CookieJar();
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomBytes(12).toString('base64url');
  const auth = new URL(meta.authorization_endpoint);
  auth.search = new URLSearchParams({
    client_id: o.clientId,
    response_type: 'code',
    redirect_uri: o.redirectUri,
    scope: o.scope ?? 'openid offline_access profile email',
    state,
    nonce: randomBytes(12).toString('base64url'),
    code_challenge: challenge,
    code_challenge_method: 'S256',
    // offline_access is only honoured together with an explicit consent prompt.
    prompt: 'consent',
    ...(o.resource ? { resource: o.resource } : {}),
  }).toString();

  const request = async (url: string, init: RequestInit = {}) => {
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), cookie: jar.header() },
    });
    jar.store(res);
    return res;
  };
  const post = (url: string, form: Record<string, string>) =>
    request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form),
    });

  let res = await request(auth.toString());
  for (let hop = 0; hop < 20; hop++) {
    if (res.status >= 300 && res.status < 400) {
      const location = new URL(res.headers.get('location') ?? '', res.url || meta.authorization_endpoint);
      if (location.href.startsWith(o.redirectUri))
        return exchange(location, state, verifier, o, meta.token_endpoint);
      await res.arrayBuffer(); // drain: cancel() never settles under interceptors such as msw
      res = await request(location.href);
      continue;
    }
    const html = await res.text();
    if (!res.ok) throw new AuthorizationFlowError(`${res.status} at ${res.url}: ${pageError(html)}`);
    const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
    if (!action) throw new AuthorizationFlowError(`unexpected page at ${res.url}: ${pageError(html)}`);
    const target = new URL(action.replaceAll('&amp;', '&'), res.url).href;
    res = action.endsWith('/login')
      ? await post(target, { login: o.user, password: o.password })
      : await post(target, {});
  }
  throw new AuthorizationFlowError('too many redirects in the authorization flow');
}

async function exchange(
  callback: URL,
  state: string,
  verifier: string,
  o: IssueTokensOptions,
  tokenEndpoint: string,
): Promise<TokenResponse> {
  const error = callback.searchParams.get('error');
  if (error) {
    throw new AuthorizationFlowError(`${error}: ${callback.searchParams.get('error_description') ?? ''}`);
  }
  if (callback.searchParams.get('state') !== state) throw new AuthorizationFlowError('state mismatch');
  const code = callback.searchParams.get('code');
  if (!code) throw new AuthorizationFlowError('no code in the callback');
  const res = await tokenRequest(
    tokenEndpoint,
    { clientId: o.clientId, clientSecret: o.clientSecret },
    { grant_type: 'authorization_code', code, redirect_uri: o.redirectUri, code_verifier: verifier },
  );
  const body = (await res.json()) as unknown;
  if (!res.ok)
    throw new AuthorizationFlowError(`token endpoint answered ${res.status}: ${JSON.stringify(body)}`);
  return TokenResponseSchema.parse(body);
}

function pageError(html: string): string {
  const m = /class="error"[^>]*>([^<]*)</.exec(html) ?? /<h1>([^<]*)</.exec(html) ?? /<p>([^<]*)</.exec(html);
  return (m?.[1] ?? html.slice(0, 200)).trim();
}
