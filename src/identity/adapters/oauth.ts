import type { AxiosInstance } from 'axios';
import { z } from 'zod';
import type { Target } from '../../domain/target.ts';
import { IdpNotFoundError, IdpUnsupportedError } from '../errors.ts';
import { createIdpHttpClient, parseResponse } from '../http-client.ts';
import type {
  Capabilities,
  IdentityProvider,
  IdpApplication,
  IdpResourceServer,
  IdpUser,
  RevocationPlan,
  RevokeResult,
  TokenInfo,
  VerifyResult,
} from '../port.ts';
import { unsupported } from './support.ts';

export interface OAuthIdentityProviderOptions {
  /** The issuer; metadata comes from its discovery document. */
  issuer: string;
  /** A client allowed to revoke (RFC 7009) and introspect (RFC 7662), authenticated with client_secret_basic. */
  clientId: string;
  clientSecret: string;
  /** Per-call timeout. Default: 10 000 ms. */
  timeoutMs?: number;
}

const MetadataSchema = z.object({
  issuer: z.string(),
  revocation_endpoint: z.string().optional(),
  introspection_endpoint: z.string().optional(),
});
type Metadata = z.infer<typeof MetadataSchema>;

/** RFC 7662 §2.2: only `active` is required. */
const IntrospectionSchema = z.looseObject({
  active: z.boolean(),
  sub: z.string().optional(),
  client_id: z.string().optional(),
  exp: z.number().optional(),
});
export type Introspection = z.infer<typeof IntrospectionSchema>;

const NO_DIRECTORY = 'A plain OAuth server (RFC 7009) has no directory API to look users, apps or APIs up.';

/**
 * Any RFC 7009/7662 authorization server. It can revoke a token only by its value, and Revoker never puts a token
 * value in a queued job or a log, so no scope is offered for queued requests; `revokeTokenValue` and
 * `introspect` serve synchronous callers (the CLI, the demo) that hold a token in hand.
 */
export class OAuthIdentityProvider implements IdentityProvider {
  readonly name = 'oauth';
  readonly capabilities: Capabilities = {
    scopes: { token: false, user: false, application: false, resourceServer: false },
    unsupportedReasons: {
      token:
        'This OAuth server can revoke a token only by its value, and Revoker never queues token values; revoke it where the token is held.',
      user: 'A plain OAuth server (RFC 7009) cannot find or revoke all of a user’s tokens.',
      application: 'A plain OAuth server (RFC 7009) cannot revoke all tokens issued to an application.',
      resourceServer: 'A plain OAuth server (RFC 7009) cannot revoke all tokens issued to a resource server.',
    },
    listTokens: false,
    search: false,
  };
  private readonly http: AxiosInstance;
  private readonly issuer: string;
  private readonly basic: string;
  private metadata: Promise<Metadata> | undefined;

  constructor(options: OAuthIdentityProviderOptions) {
    this.issuer = options.issuer.replace(/\/+$/, '');
    // RFC 6749 §2.3.1: form-encode id and secret before base64.
    const form = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
    this.basic = `Basic ${Buffer.from(`${form(options.clientId)}:${form(options.clientSecret)}`).toString('base64')}`;
    this.http = createIdpHttpClient({
      baseURL: this.issuer,
      idpName: 'OAuth server',
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
  }

  /** RFC 7009 revocation of a token value. Succeeds for an already invalid token, as the RFC says. */
  async revokeTokenValue(token: string, hint?: 'access_token' | 'refresh_token'): Promise<void> {
    const endpoint = (await this.discover()).revocation_endpoint;
    if (!endpoint) throw new IdpUnsupportedError('this OAuth server publishes no revocation_endpoint');
    await this.http.post(
      endpoint,
      new URLSearchParams({ token, ...(hint ? { token_type_hint: hint } : {}) }),
      {
        headers: { Authorization: this.basic, 'Content-Type': 'application/x-www-form-urlencoded' },
      },
    );
  }

  /** RFC 7662 introspection of a token value. */
  async introspect(token: string, hint?: 'access_token' | 'refresh_token'): Promise<Introspection> {
    const endpoint = (await this.discover()).introspection_endpoint;
    if (!endpoint) throw new IdpUnsupportedError('this OAuth server publishes no introspection_endpoint');
    const res = await this.http.post(
      endpoint,
      new URLSearchParams({ token, ...(hint ? { token_type_hint: hint } : {}) }),
      { headers: { Authorization: this.basic, 'Content-Type': 'application/x-www-form-urlencoded' } },
    );
    return parseResponse(IntrospectionSchema, res.data, 'OAuth introspection');
  }

  async searchUsers(): Promise<IdpUser[]> {
    return [];
  }
  async getUser(): Promise<IdpUser> {
    throw new IdpUnsupportedError(NO_DIRECTORY);
  }
  async findUserByEmail(): Promise<IdpUser | undefined> {
    return undefined;
  }
  async searchApplications(): Promise<IdpApplication[]> {
    return [];
  }
  async getApplication(): Promise<IdpApplication> {
    throw new IdpUnsupportedError(NO_DIRECTORY);
  }
  async searchResourceServers(): Promise<IdpResourceServer[]> {
    return [];
  }
  async getResourceServer(): Promise<IdpResourceServer> {
    throw new IdpUnsupportedError(NO_DIRECTORY);
  }
  async listUserTokens(): Promise<TokenInfo[]> {
    throw unsupported(this.capabilities, 'user', 'OAuth');
  }
  async plan(target: Target): Promise<RevocationPlan> {
    throw unsupported(this.capabilities, target.kind, 'OAuth');
  }
  async revoke(step: Target): Promise<RevokeResult> {
    throw unsupported(this.capabilities, step.kind, 'OAuth');
  }
  async verify(target: Target): Promise<VerifyResult> {
    throw unsupported(this.capabilities, target.kind, 'OAuth');
  }

  async ping(): Promise<void> {
    this.metadata = undefined; // a readiness probe should see the server as it is now
    await this.discover();
  }

  /** OpenID discovery, else RFC 8414 metadata (well-known path inserted before the issuer's path). */
  private discover(): Promise<Metadata> {
    this.metadata ??= (async () => {
      const url = new URL(this.issuer);
      const path = url.pathname === '/' ? '' : url.pathname;
      const candidates = [
        `${this.issuer}/.well-known/openid-configuration`,
        `${url.origin}/.well-known/oauth-authorization-server${path}`,
      ];
      for (const [i, candidate] of candidates.entries()) {
        try {
          const res = await this.http.get(candidate);
          return parseResponse(MetadataSchema, res.data, 'OAuth server metadata');
        } catch (err) {
          if (!(err instanceof IdpNotFoundError) || i === candidates.length - 1) throw err;
        }
      }
      throw new IdpNotFoundError('no authorization server metadata found');
    })().catch((err: unknown) => {
      this.metadata = undefined; // retry discovery next time
      throw err;
    });
    return this.metadata;
  }
}
