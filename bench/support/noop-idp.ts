import type { Target } from '../../src/domain/target.ts';
import { IdpNotFoundError } from '../../src/identity/errors.ts';
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
} from '../../src/identity/port.ts';

/**
 * A zero-latency IdP that keeps nothing: user `u_<n>` has `tokensPerUser` tokens `tok_<n>_<i>`, every
 * revoke succeeds, every verify finds nothing left. For the worker-memory bench, so the worker's RSS is
 * the worker's, not a token table's.
 */
export class NoopIdp implements IdentityProvider {
  readonly name = 'noop';
  readonly capabilities: Capabilities = {
    scopes: { token: true, user: true, application: true, resourceServer: true },
    unsupportedReasons: {},
    listTokens: true,
    search: true,
  };
  revokeCalls = 0;

  constructor(private readonly tokensPerUser: number) {}

  async searchUsers(): Promise<IdpUser[]> {
    return [];
  }
  async getUser(userId: string): Promise<IdpUser> {
    return { id: userId, userName: userId, active: true };
  }
  async findUserByEmail(): Promise<IdpUser | undefined> {
    return undefined;
  }
  async searchApplications(): Promise<IdpApplication[]> {
    return [];
  }
  async getApplication(applicationId: string): Promise<IdpApplication> {
    return { id: applicationId, name: applicationId };
  }
  async searchResourceServers(): Promise<IdpResourceServer[]> {
    return [];
  }
  async getResourceServer(resourceServerId: string): Promise<IdpResourceServer> {
    return { id: resourceServerId, name: resourceServerId };
  }
  async listUserTokens(): Promise<TokenInfo[]> {
    return [];
  }
  async plan(target: Target): Promise<RevocationPlan> {
    if (target.kind !== 'user') throw new IdpNotFoundError('the noop IdP plans users only', { status: 404 });
    const n = target.userId.replace(/^u_/, '');
    const tokens = Array.from({ length: this.tokensPerUser }, (_, i) => ({
      id: `tok_${n}_${i}`,
      userId: target.userId,
    }));
    return {
      target,
      steps: tokens.map((t) => ({ kind: 'token', userId: t.userId, tokenId: t.id })),
      tokens,
      userCount: 1,
      tokenCount: tokens.length,
    };
  }
  async revoke(step: Target): Promise<RevokeResult> {
    this.revokeCalls++;
    return { revoked: step.kind === 'token' ? [{ id: step.tokenId, userId: step.userId }] : [] };
  }
  async verify(): Promise<VerifyResult> {
    return { ok: true, remaining: [], method: 'list' };
  }
  async ping(): Promise<void> {}
}
