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
  TokenRef,
  VerifyResult,
} from '../../src/identity/port.ts';

/**
 * A zero-latency, in-memory IdP behind the real port: for pipeline tests that are about the queue, not
 * the IdP, and for the pipeline benchmark. `failNext` injects errors; `calls` counts revoke calls.
 */
export class MemoryIdp implements IdentityProvider {
  readonly name: string = 'memory';
  readonly capabilities: Capabilities = {
    scopes: { token: true, user: true, application: true, resourceServer: true },
    unsupportedReasons: {},
    listTokens: true,
    search: true,
  };
  readonly users = new Map<string, IdpUser>();
  readonly tokens = new Map<string, TokenInfo>();
  revokeCalls = 0;
  planCalls = 0;
  /** Errors thrown by the next revoke calls, in order. */
  readonly failNext: Error[] = [];

  addUser(id: string, email = `${id}@example.com`): IdpUser {
    const user = { id, userName: id, email, active: true };
    this.users.set(id, user);
    return user;
  }

  addToken(userId: string, applicationId: string, resourceServerId?: string): TokenInfo {
    const id = `tok_${this.tokens.size + 1}_${userId}`;
    const token: TokenInfo = {
      id,
      userId,
      type: 'access_token',
      applicationId,
      ...(resourceServerId ? { resourceServerId } : {}),
      scopes: ['openid'],
    };
    this.tokens.set(id, token);
    return token;
  }

  private inScope(target: Target): TokenInfo[] {
    const matches = (t: TokenInfo): boolean => {
      switch (target.kind) {
        case 'token':
          return t.id === target.tokenId && t.userId === target.userId;
        case 'user':
          return t.userId === target.userId;
        case 'application':
          return t.applicationId === target.applicationId;
        case 'resourceServer':
          return t.resourceServerId === target.resourceServerId;
      }
    };
    return [...this.tokens.values()].filter(matches);
  }

  async searchUsers(query: string): Promise<IdpUser[]> {
    return [...this.users.values()].filter((u) => u.id.includes(query) || u.email?.includes(query));
  }
  async getUser(userId: string): Promise<IdpUser> {
    const u = this.users.get(userId);
    if (!u) throw new IdpNotFoundError(`no user ${userId}`, { status: 404 });
    return u;
  }
  async findUserByEmail(email: string): Promise<IdpUser | undefined> {
    return [...this.users.values()].find((u) => u.email === email);
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
  async listUserTokens(userId: string): Promise<TokenInfo[]> {
    return this.inScope({ kind: 'user', userId });
  }
  async plan(target: Target): Promise<RevocationPlan> {
    this.planCalls++;
    const tokens = this.inScope(target);
    return {
      target,
      steps: tokens.map((t) => ({ kind: 'token', userId: t.userId, tokenId: t.id })),
      ...(target.kind === 'token' ? {} : { sweep: target }),
      tokens: tokens.map((t) => ({ id: t.id, userId: t.userId })),
      userCount: new Set(tokens.map((t) => t.userId)).size,
      tokenCount: tokens.length,
    };
  }
  async revoke(step: Target): Promise<RevokeResult> {
    this.revokeCalls++;
    const failure = this.failNext.shift();
    if (failure) throw failure;
    const tokens = this.inScope(step);
    if (step.kind === 'token' && tokens.length === 0)
      throw new IdpNotFoundError('no such token', { status: 404 });
    const revoked: TokenRef[] = tokens.map((t) => ({ id: t.id, userId: t.userId }));
    for (const t of tokens) this.tokens.delete(t.id);
    return { revoked };
  }
  async verify(target: Target): Promise<VerifyResult> {
    const remaining = this.inScope(target).map((t) => ({ id: t.id, userId: t.userId }));
    return { ok: remaining.length === 0, remaining, method: 'list' };
  }
  async ping(): Promise<void> {}
}
