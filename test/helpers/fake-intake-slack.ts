import type { Target } from '../../src/domain/target.ts';
import { IdpNotFoundError } from '../../src/identity/errors.ts';
import type {
  Capabilities,
  IdentityProvider,
  IdpApplication,
  IdpResourceServer,
  IdpUser,
  RevocationPlan,
  TokenInfo,
} from '../../src/identity/port.ts';

/** A small IdP for Slack tests: searchable users, apps and APIs, listable tokens, configurable capabilities. */
export class FakeSlackIdp implements IdentityProvider {
  readonly name = 'fake';
  capabilities: Capabilities = {
    scopes: { token: true, user: true, application: true, resourceServer: true },
    unsupportedReasons: {},
    listTokens: true,
    search: true,
  };
  users: IdpUser[] = [
    {
      id: 'usr_alice',
      userName: 'alice',
      email: 'alice@example.com',
      displayName: 'Alice Liddell',
      active: true,
    },
    {
      id: 'usr_alfred',
      userName: 'alfred',
      email: 'alfred@example.com',
      displayName: 'Alfred',
      active: true,
    },
    { id: 'usr_bob', userName: 'bob', email: 'bob@example.com', displayName: 'Bob <!channel>', active: true },
  ];
  apps: IdpApplication[] = [
    { id: 'app_crm', name: 'CRM' },
    { id: 'app_wiki', name: 'Wiki' },
  ];
  apis: IdpResourceServer[] = [
    { id: 'rs_billing', name: 'Billing API', audience: 'https://api.example.com/billing' },
  ];
  tokens: TokenInfo[] = [
    {
      id: 'tok_a1',
      userId: 'usr_alice',
      type: 'access_token',
      applicationId: 'app_crm',
      resourceServerId: 'rs_billing',
      scopes: ['openid', 'billing:read'],
      issuedAt: '2026-01-01T00:00:00Z',
      expiresAt: '2026-01-01T01:00:00Z',
    },
    {
      id: 'tok_a2',
      userId: 'usr_alice',
      type: 'refresh_token',
      applicationId: 'app_wiki',
      scopes: ['openid'],
    },
  ];
  /** Makes every look-up slower (to exercise the loading modal path). */
  delayMs = 0;

  private async wait(): Promise<void> {
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
  }
  async searchUsers(q: string): Promise<IdpUser[]> {
    await this.wait();
    const s = q.toLowerCase();
    return this.users.filter((u) =>
      [u.id, u.userName, u.email ?? '', u.displayName ?? ''].some((v) => v.toLowerCase().includes(s)),
    );
  }
  async getUser(id: string): Promise<IdpUser> {
    await this.wait();
    const u = this.users.find((x) => x.id === id);
    if (!u) throw new IdpNotFoundError(`no user ${id}`, { status: 404 });
    return u;
  }
  async findUserByEmail(email: string): Promise<IdpUser | undefined> {
    await this.wait();
    return this.users.find((u) => u.email === email);
  }
  async searchApplications(q: string): Promise<IdpApplication[]> {
    return this.apps.filter((a) => `${a.id} ${a.name}`.toLowerCase().includes(q.toLowerCase()));
  }
  async getApplication(id: string): Promise<IdpApplication> {
    const a = this.apps.find((x) => x.id === id);
    if (!a) throw new IdpNotFoundError(`no app ${id}`, { status: 404 });
    return a;
  }
  async searchResourceServers(q: string): Promise<IdpResourceServer[]> {
    return this.apis.filter((a) => `${a.id} ${a.name} ${a.audience}`.toLowerCase().includes(q.toLowerCase()));
  }
  async getResourceServer(id: string): Promise<IdpResourceServer> {
    const a = this.apis.find((x) => x.id === id);
    if (!a) throw new IdpNotFoundError(`no api ${id}`, { status: 404 });
    return a;
  }
  async listUserTokens(userId: string): Promise<TokenInfo[]> {
    return this.tokens.filter((t) => t.userId === userId);
  }
  async plan(target: Target): Promise<RevocationPlan> {
    const tokens = this.tokens.filter((t) =>
      target.kind === 'token'
        ? t.id === target.tokenId
        : target.kind === 'user'
          ? t.userId === target.userId
          : target.kind === 'application'
            ? t.applicationId === target.applicationId
            : t.resourceServerId === target.resourceServerId,
    );
    return {
      target,
      steps: [target],
      tokens: tokens.map((t) => ({ id: t.id, userId: t.userId })),
      userCount: new Set(tokens.map((t) => t.userId)).size,
      tokenCount: tokens.length,
    };
  }
  async revoke(): Promise<{ revoked: [] }> {
    return { revoked: [] };
  }
  async verify(): Promise<{ ok: true; remaining: []; method: 'list' }> {
    return { ok: true, remaining: [], method: 'list' };
  }
  async ping(): Promise<void> {}
}
