import type { AxiosInstance } from 'axios';
import type { Target } from '../../domain/target.ts';
import {
  IdpBadResponseError,
  IdpError,
  IdpNotFoundError,
  IdpTransientError,
  IdpUnauthorizedError,
  IdpUnsupportedError,
} from '../errors.ts';
import { createIdpHttpClient } from '../http-client.ts';
import type {
  Capabilities,
  IdentityProvider,
  IdpApplication,
  IdpResourceServer,
  IdpUser,
  PartOutcome,
  RevocationPlan,
  RevokeResult,
  TokenInfo,
  VerifyResult,
} from '../port.ts';
import type { GtrAppConfig } from './gtr-apps-config.ts';
import { GtrAuthenticator } from './gtr-authenticator.ts';
import { GtrEndpointResolver } from './gtr-endpoint-resolver.ts';
import { GtrNoAccountError } from './gtr-no-account-error.ts';
import { describeSubject, type SubjectIdentifier } from './subject-identifier.ts';

/** What one Global Token Revocation call came to, when the app answered 204 or 404. */
export type GtrCallResult =
  /** 204: "revocation … has begun" (§3.4.1); nobody can observe it, so the part is `unverifiable`. */
  | { app: string; noAccount: false; part: Extract<PartOutcome, { outcome: 'unverifiable' }> }
  /** 404 "User Not Found" (§3.4.2), or no id known for the person at the app: done, nothing to revoke. */
  | { app: string; noAccount: true; part: Extract<PartOutcome, { outcome: 'unverifiable' }> };

export interface GtrAppIdentityProviderOptions {
  app: GtrAppConfig;
  /**
   * For `subject_format: iss_sub`: the person's issuer and subject at the identity provider they sign in
   * with, asked for by email. Default: none (then `revoke` refuses iss_sub; `revokeSubject` takes it given).
   */
  issSubOf?: (email: string) => Promise<{ iss: string; sub: string } | undefined>;
  /** Per-call timeout. Default 10,000 ms. */
  timeoutMs?: number;
}

const SCOPES_REASON =
  'a Global Token Revocation app takes one request: all tokens of a person (draft-parecki-oauth-global-token-revocation-06 §3)';

/**
 * An app that accepts Global Token Revocation (draft-parecki-oauth-global-token-revocation-06) as an
 * identity connection: it offers the user scope only, knows people by email (a synthetic user whose id is
 * the email), and revokes with one authenticated `POST {"sub_id": …}`. Answers, as the draft defines them
 * (§3.4): 204 ⇒ accepted, not observable (`unverifiable`); 404 ⇒ no account (`GtrNoAccountError` from
 * `revoke`, a `noAccount` result from `revokeSubject`); 422 and 5xx ⇒ transient (retried, then failed);
 * 429 ⇒ the shared budget waits; 401/403 ⇒ permanent, naming the fix; 400 ⇒ permanent.
 */
export class GtrAppIdentityProvider implements IdentityProvider {
  readonly name: string;
  readonly capabilities: Capabilities = {
    scopes: { token: false, user: true, application: false, resourceServer: false },
    unsupportedReasons: { token: SCOPES_REASON, application: SCOPES_REASON, resourceServer: SCOPES_REASON },
    notes: {
      user: 'the app answers 204 when revocation has begun; nobody can observe its result (unverifiable)',
    },
    listTokens: false,
    search: false,
  };
  private readonly http: AxiosInstance;
  private readonly resolver: GtrEndpointResolver;
  private readonly authn: GtrAuthenticator;

  constructor(private readonly o: GtrAppIdentityProviderOptions) {
    const app = o.app;
    this.name = `gtr:${app.name}`;
    this.resolver = new GtrEndpointResolver({
      appName: app.name,
      ...(app.endpoint ? { endpoint: app.endpoint } : {}),
      ...(app.issuer ? { issuer: app.issuer } : {}),
      ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
    });
    this.authn = new GtrAuthenticator(app.name, app.auth);
    this.http = createIdpHttpClient({
      baseURL: app.endpoint ?? app.issuer!,
      timeoutMs: o.timeoutMs ?? 10_000,
      idpName: `GTR app ${app.name}`,
      auth: async () => this.authn.bearer(await this.resolver.resolve()),
      // Only a cached access token can be stale; a JWT or a fixed bearer would only fail the same way again.
      ...(app.auth.method === 'client_credentials' ? { invalidateAuth: () => this.authn.invalidate() } : {}),
    });
  }

  /** The app's name as configured (`GTR_APPS[].name`). */
  get appName(): string {
    return this.o.app.name;
  }

  /**
   * One Global Token Revocation request for `subject`: `POST`, `Content-Type: application/json`, body
   * `{"sub_id": subject}` (§3.2). Resolves for 204 and 404; throws an `IdpError` for every other answer.
   */
  async revokeSubject(subject: SubjectIdentifier): Promise<GtrCallResult> {
    const app = this.o.app.name;
    const info = await this.resolver.resolve();
    this.authn.checkAdvertised(info);
    try {
      const res = await this.http.post(
        info.endpoint,
        { sub_id: subject },
        { headers: { 'Content-Type': 'application/json' } },
      );
      if (res.status !== 204) {
        // §3.4.1 defines success as 204 only: a 200 is more likely a page than an accepted revocation.
        throw new IdpBadResponseError(
          `GTR app ${app} answered ${res.status}, not 204 (draft §3.4.1): not counted as accepted`,
          { status: res.status },
        );
      }
      return {
        app,
        noAccount: false,
        part: {
          part: `tokens at ${app}`,
          outcome: 'unverifiable',
          why: `accepted by ${app}, not observable: the app answered 204 (revocation has begun) and offers no way to check it`,
        },
      };
    } catch (err) {
      if (err instanceof IdpNotFoundError && err.status === 404) {
        const e = new GtrNoAccountError(
          app,
          `the app answered 404 User Not Found for ${describeSubject(subject)}`,
          {
            status: 404,
            cause: err,
          },
        );
        return { app, noAccount: true, part: e.part as GtrCallResult['part'] };
      }
      throw mapAnswer(app, err);
    }
  }

  /** The RFC 9493 subject the configured `subject_format` sends for a person known by `email`. */
  async subjectFor(email: string): Promise<SubjectIdentifier> {
    const app = this.o.app;
    const e = email.trim().toLowerCase();
    if (app.subject_format === 'email') return { format: 'email', email: e };
    if (app.subject_format === 'opaque') {
      const id = app.opaque_ids?.[e];
      if (!id) throw new GtrNoAccountError(app.name, `no opaque id is mapped for ${e} in GTR_APPS`);
      return { format: 'opaque', id };
    }
    const given = this.o.issSubOf ? await this.o.issSubOf(e) : undefined;
    if (!given) {
      throw new IdpUnsupportedError(
        `GTR app ${app.name} takes iss_sub: the person's issuer and subject come from the identity connection, which gave none for ${e}`,
      );
    }
    return { format: 'iss_sub', iss: given.iss, sub: given.sub };
  }

  // --- IdentityProvider ---

  async searchUsers(query: string): Promise<IdpUser[]> {
    const q = query.trim().toLowerCase();
    return isEmail(q) ? [synthetic(q)] : [];
  }
  async getUser(userId: string): Promise<IdpUser> {
    if (!isEmail(userId)) throw new IdpNotFoundError(`GTR app ${this.appName} knows people by email only`);
    return synthetic(userId.toLowerCase());
  }
  /** The app cannot be asked who exists: a synthetic user whose id is the email (the 404 tells later). */
  async findUserByEmail(email: string): Promise<IdpUser | undefined> {
    return isEmail(email) ? synthetic(email.trim().toLowerCase()) : undefined;
  }
  async searchApplications(): Promise<IdpApplication[]> {
    return [];
  }
  async getApplication(): Promise<IdpApplication> {
    throw new IdpUnsupportedError(SCOPES_REASON);
  }
  async searchResourceServers(): Promise<IdpResourceServer[]> {
    return [];
  }
  async getResourceServer(): Promise<IdpResourceServer> {
    throw new IdpUnsupportedError(SCOPES_REASON);
  }
  async listUserTokens(): Promise<TokenInfo[]> {
    return [];
  }
  async plan(target: Target): Promise<RevocationPlan> {
    this.userOnly(target);
    return { target, steps: [target], tokens: [], userCount: 1, tokenCount: undefined };
  }
  /** One call; a 404 throws `GtrNoAccountError` (`noAccount: true`, code `idp_not_found`). */
  async revoke(step: Target): Promise<RevokeResult> {
    const userId = this.userOnly(step);
    const result = await this.revokeSubject(await this.subjectFor(userId));
    if (result.noAccount) {
      throw new GtrNoAccountError(this.appName, 'the app answered 404 User Not Found (draft §3.4.2)', {
        status: 404,
      });
    }
    return { revoked: [] };
  }
  /** Nothing to observe: the draft defines no read-back (§3.4.1: 204 means revocation "has begun"). */
  async verify(target: Target): Promise<VerifyResult> {
    this.userOnly(target);
    const why = `accepted by ${this.appName}, not observable: Global Token Revocation has no way to check the result`;
    return {
      ok: true,
      remaining: [],
      method: 'none',
      unverifiable: why,
      parts: [{ part: `tokens at ${this.appName}`, outcome: 'unverifiable', why }],
    };
  }
  /** Reachability without revoking anything: the endpoint resolves and Revoker can authenticate. */
  async ping(): Promise<void> {
    const info = await this.resolver.resolve();
    this.authn.checkAdvertised(info);
    await this.authn.bearer(info);
  }

  private userOnly(target: Target): string {
    if (target.kind !== 'user') throw new IdpUnsupportedError(SCOPES_REASON);
    return target.userId;
  }
}

/** §3.4.2's answers, as Revoker acts on them. */
function mapAnswer(app: string, err: unknown): unknown {
  if (!(err instanceof IdpError)) return err;
  const status = err.status;
  const opts = { ...(status !== undefined ? { status } : {}), cause: err };
  if (status === 422) {
    // "Unable to log out the user": the app could not now; tried again with backoff, then failed.
    return new IdpTransientError(
      `GTR app ${app} answered 422: unable to log out the user (draft §3.4.2)`,
      opts,
    );
  }
  if (status === 401) {
    return new IdpUnauthorizedError(
      `GTR app ${app} answered 401: it refused Revoker's authentication (draft §3.4.2); fix "auth" in GTR_APPS (key and kid registered at the app, token or client secret)`,
      opts,
    );
  }
  if (status === 403) {
    return new IdpUnauthorizedError(
      `GTR app ${app} answered 403: insufficient authorization (draft §3.4.2); grant Revoker's credential the app's global token revocation permission (scope)`,
      opts,
    );
  }
  if (status === 400) {
    return new IdpBadResponseError(
      `GTR app ${app} answered 400: request malformed or subject format unsupported (draft §3.4.2); set "subject_format" in GTR_APPS to one the app accepts`,
      opts,
    );
  }
  return err;
}

function isEmail(s: string): boolean {
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(s.trim());
}

function synthetic(email: string): IdpUser {
  return { id: email, userName: email, email, active: true };
}
