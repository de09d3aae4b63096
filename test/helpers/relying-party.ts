import * as oidc from 'openid-client';
import type { Landing, OidcBrowser } from './oidc-browser.ts';

export interface AppCredentials {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

export interface Authorization {
  /** RFC 8707 resource indicator(s); with several, `exchangeResource` picks the code's token audience. */
  resource?: string | string[];
  exchangeResource?: string;
  scope?: string;
  prompt?: 'none' | 'consent' | 'login';
}

/** What a silent or interactive authorization came to, as the relying party sees it. */
export type AuthorizationOutcome =
  | {
      ok: true;
      tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
      askedPassword: boolean;
    }
  | { ok: false; error: string; landing?: Landing };

/**
 * An outside relying party built on openid-client (an independent, certified RP library): discovery,
 * authorization code + PKCE (S256) with state and nonce, ID token validation, UserInfo, refresh,
 * introspection (RFC 7662) and revocation (RFC 7009), each exactly as the library does it.
 */
export class RelyingParty {
  private constructor(
    readonly config: oidc.Configuration,
    readonly app: AppCredentials,
  ) {}

  static async discover(
    issuer: string,
    app: AppCredentials,
    algorithm: 'oidc' | 'oauth2' = 'oidc',
  ): Promise<RelyingParty> {
    const config = await oidc.discovery(
      new URL(issuer),
      app.clientId,
      { client_secret: app.clientSecret, redirect_uris: [app.redirectUri] },
      oidc.ClientSecretBasic(app.clientSecret),
      { execute: [oidc.allowInsecureRequests], algorithm },
    );
    return new RelyingParty(config, app);
  }

  /**
   * Runs one authorization in `browser`. With `credentials`, a login page is answered (and recorded
   * as `askedPassword`) and a consent page accepted; without, any page is an outcome of its own.
   */
  async authorize(
    browser: OidcBrowser,
    a: Authorization,
    credentials?: { login: string; password: string },
  ): Promise<AuthorizationOutcome> {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const params = new URLSearchParams({
      redirect_uri: this.app.redirectUri,
      scope: a.scope ?? 'openid offline_access profile email',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      // offline_access is honoured only with an explicit consent prompt (OIDC Core §11).
      prompt: a.prompt ?? 'consent',
    });
    for (const r of [a.resource ?? []].flat()) params.append('resource', r);
    const url = oidc.buildAuthorizationUrl(this.config, params);
    let landing = await browser.open(url.href, this.app.redirectUri);
    let askedPassword = false;
    if (credentials && landing.kind === 'login') {
      askedPassword = true;
      landing = await browser.login(landing, credentials.login, credentials.password, this.app.redirectUri);
    }
    if (credentials && landing.kind === 'consent')
      landing = await browser.consent(landing, this.app.redirectUri);
    if (landing.kind !== 'callback') return { ok: false, error: `${landing.kind}_page`, landing };
    try {
      const tokens = await oidc.authorizationCodeGrant(
        this.config,
        landing.url,
        { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true },
        a.exchangeResource ? { resource: a.exchangeResource } : undefined,
      );
      return { ok: true, tokens, askedPassword };
    } catch (err) {
      if (err instanceof oidc.AuthorizationResponseError) return { ok: false, error: err.error, landing };
      throw err;
    }
  }

  /** UserInfo: 'ok' or the `error` of the Bearer challenge (RFC 6750 §3). */
  async userinfo(accessToken: string, sub: string): Promise<string> {
    try {
      await oidc.fetchUserInfo(this.config, accessToken, sub);
      return 'ok';
    } catch (err) {
      return challengeError(err);
    }
  }

  /** A protected resource (the resource server's whoami): 'ok' or the Bearer challenge's `error`. */
  async resource(accessToken: string, url: string): Promise<string> {
    try {
      const res = await oidc.fetchProtectedResource(this.config, accessToken, new URL(url), 'GET');
      await res.arrayBuffer();
      return res.ok ? 'ok' : `http_${res.status}`;
    } catch (err) {
      return challengeError(err);
    }
  }

  /** Refresh: 'ok' (with the rotated tokens) or the token endpoint's `error`. */
  async refresh(
    refreshToken: string,
    parameters?: Record<string, string>,
  ): Promise<{ result: string; tokens?: oidc.TokenEndpointResponse }> {
    try {
      return { result: 'ok', tokens: await oidc.refreshTokenGrant(this.config, refreshToken, parameters) };
    } catch (err) {
      if (err instanceof oidc.ResponseBodyError) return { result: err.error };
      throw err;
    }
  }

  async introspect(token: string): Promise<oidc.IntrospectionResponse> {
    return oidc.tokenIntrospection(this.config, token);
  }

  revoke(token: string): Promise<void> {
    return oidc.tokenRevocation(this.config, token);
  }
}

function challengeError(err: unknown): string {
  if (err instanceof oidc.WWWAuthenticateChallengeError) {
    const bearer = err.cause.find((c) => c.scheme === 'bearer');
    return String(bearer?.parameters.error ?? `http_${err.status}_no_error_code`);
  }
  if (err instanceof oidc.ResponseBodyError) return err.error;
  throw err;
}
