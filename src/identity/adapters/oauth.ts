import type { Target } from '../../domain/target.ts';
import { IdpUnsupportedError } from '../errors.ts';
import type { OAuthClient } from '../oauth-clients.ts';
import { OAuthTokenValues } from '../oauth-token-values.ts';
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
  /** The issuer, exactly as its discovery document names it (RFC 8414 §3.3). */
  issuer: string;
  /**
   * `OAUTH_CLIENTS`: one entry per application whose tokens Revoker must revoke (RFC 7009 §2.1 lets only
   * the owning client revoke), authenticated with client_secret_basic.
   */
  clients: readonly OAuthClient[];
  /** Per-call timeout. Default: 10 000 ms. */
  timeoutMs?: number;
}

const NO_DIRECTORY = 'A plain OAuth server (RFC 7009) has no directory API to look users, apps or APIs up.';

/**
 * Any RFC 7009/7662 authorization server, built around the one thing such a server lets a client do:
 * revoke a token it holds the value of. So the leaked-token path (`tokenValues`: introspect to learn
 * owner and client, revoke with that client's credentials, verify) is its purpose; the four console
 * scopes need listing or bulk calls a plain OAuth server does not have, and are not offered.
 */
export class OAuthIdentityProvider implements IdentityProvider {
  readonly name = 'oauth';
  readonly capabilities: Capabilities = {
    scopes: { token: false, user: false, application: false, resourceServer: false },
    unsupportedReasons: {
      token:
        'A plain OAuth server revokes a token only by its value: use "A leaked token (paste it)" (`revoker revoke leaked`).',
      user: 'A plain OAuth server (RFC 7009) cannot find or revoke all of a user’s tokens.',
      application: 'A plain OAuth server (RFC 7009) cannot revoke all tokens issued to an application.',
      resourceServer: 'A plain OAuth server (RFC 7009) cannot revoke all tokens issued to a resource server.',
    },
    listTokens: false,
    search: false,
  };
  readonly tokenValues: OAuthTokenValues;

  constructor(options: OAuthIdentityProviderOptions) {
    this.tokenValues = new OAuthTokenValues({
      issuer: options.issuer,
      clients: options.clients,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
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

  /** Ready only when discovery names our issuer and every configured client authenticates. */
  ping(): Promise<void> {
    return this.tokenValues.ping();
  }
}
