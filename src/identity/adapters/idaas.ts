import type { AxiosInstance } from 'axios';
import type { z } from 'zod';
import type { Target } from '../../domain/target.ts';
import {
  ADMIN_PREFIX,
  AdminApplicationListSchema,
  AdminApplicationSchema,
  AdminResourceServerListSchema,
  AdminResourceServerSchema,
  AdminRevokedSchema,
  type AdminToken,
  AdminTokenListSchema,
  type AdminUser,
  AdminUserListSchema,
  AdminUserSchema,
} from '../../idaas/admin-contract.ts';
import { IdpNotFoundError } from '../errors.ts';
import { createIdpHttpClient, parseResponse } from '../http-client.ts';
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
  TokenRef,
  TokenValueRevocation,
  VerifyContext,
  VerifyResult,
} from '../port.ts';
import { bulkPlan } from './support.ts';

export interface IdaasIdentityProviderOptions {
  /** Where the IDaaS runs (its origin; the admin API is under `/admin/v1`). */
  baseUrl: string;
  /** Bearer token of the admin API (`IDAAS_ADMIN_TOKEN`). */
  adminToken: string;
  /** Per-call timeout. Default: 10 000 ms. */
  timeoutMs?: number;
  /**
   * The leaked-token path: the IDaaS is an RFC 7009/7662 server too, so a token value is revoked there
   * exactly as at any OAuth server, with the owning application's credentials. Absent: not offered.
   */
  tokenValues?: TokenValueRevocation;
}

const e = encodeURIComponent;

/** The embedded IDaaS through its admin API (DESIGN §6): all four scopes native, listing and search. */
export class IdaasIdentityProvider implements IdentityProvider {
  readonly name = 'idaas';
  readonly capabilities: Capabilities = {
    scopes: { token: true, user: true, application: true, resourceServer: true },
    unsupportedReasons: {},
    listTokens: true,
    search: true,
  };
  readonly tokenValues?: TokenValueRevocation;
  private readonly http: AxiosInstance;

  constructor(options: IdaasIdentityProviderOptions) {
    if (options.tokenValues) this.tokenValues = options.tokenValues;
    this.http = createIdpHttpClient({
      baseURL: `${options.baseUrl.replace(/\/+$/, '')}${ADMIN_PREFIX}`,
      headers: { Authorization: `Bearer ${options.adminToken}` },
      idpName: 'IDaaS',
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
  }

  async searchUsers(query: string, limit = 20): Promise<IdpUser[]> {
    const body = await this.get(AdminUserListSchema, '/users', 'user search', { q: query });
    return body.users.slice(0, limit).map(toUser);
  }

  async getUser(userId: string): Promise<IdpUser> {
    return toUser(await this.get(AdminUserSchema, `/users/${e(userId)}`, 'user'));
  }

  async findUserByEmail(email: string): Promise<IdpUser | undefined> {
    // The admin API resolves `{id}` by internal id, user id or email; check it really matched the email.
    try {
      const user = await this.getUser(email);
      return user.email?.toLowerCase() === email.toLowerCase() ? user : undefined;
    } catch (err) {
      if (err instanceof IdpNotFoundError) return undefined;
      throw err;
    }
  }

  async searchApplications(query: string, limit = 20): Promise<IdpApplication[]> {
    const body = await this.get(AdminApplicationListSchema, '/applications', 'application search', {
      q: query,
    });
    return body.applications.slice(0, limit);
  }

  async getApplication(applicationId: string): Promise<IdpApplication> {
    return this.get(AdminApplicationSchema, `/applications/${e(applicationId)}`, 'application');
  }

  async searchResourceServers(query: string, limit = 20): Promise<IdpResourceServer[]> {
    const body = await this.get(
      AdminResourceServerListSchema,
      '/resource-servers',
      'resource server search',
      {
        q: query,
      },
    );
    return body.resourceServers.slice(0, limit);
  }

  async getResourceServer(resourceServerId: string): Promise<IdpResourceServer> {
    return this.get(AdminResourceServerSchema, `/resource-servers/${e(resourceServerId)}`, 'resource server');
  }

  async listUserTokens(userId: string): Promise<TokenInfo[]> {
    return (await this.listTokens({ kind: 'user', userId })).map(toTokenInfo);
  }

  async plan(target: Target): Promise<RevocationPlan> {
    if (target.kind === 'token') {
      return {
        target,
        steps: [target],
        tokens: [{ id: target.tokenId, userId: target.userId }],
        userCount: 1,
        tokenCount: 1,
      };
    }
    // The widest native call: one DELETE …/tokens revokes all of the user, application or resource
    // server and answers which tokens it revoked. The listing is the request's record.
    const tokens = await this.listTokens(target);
    return bulkPlan(
      target,
      tokens.map((t) => ({ id: t.id, userId: t.userId })),
    );
  }

  async revoke(step: Target): Promise<RevokeResult> {
    if (step.kind === 'token') {
      try {
        return await this.delete(`/users/${e(step.userId)}/tokens/${e(step.tokenId)}`);
      } catch (err) {
        // A retried step whose first attempt succeeded finds the token gone: that is success, as long as the
        // user exists (an unknown user stays a permanent error).
        if (err instanceof IdpNotFoundError) {
          await this.getUser(step.userId);
          return { revoked: [] };
        }
        throw err;
      }
    }
    return this.delete(this.tokensPath(step));
  }

  /**
   * Lists again what is in scope. With `since`, only tokens issued before it count: a user who signs in
   * again mid-request gets tokens this request never covered (issue 18 item 15), and the part says so.
   */
  async verify(target: Target, context: VerifyContext = {}): Promise<VerifyResult> {
    const cutoff = context.since?.getTime();
    const before = (t: AdminToken) => cutoff === undefined || Date.parse(t.issuedAt) < cutoff;
    let remaining: TokenRef[];
    if (target.kind === 'token') {
      const tokens = await this.listTokens({ kind: 'user', userId: target.userId });
      remaining = tokens.filter((t) => t.id === target.tokenId).map((t) => ({ id: t.id, userId: t.userId }));
    } else {
      remaining = (await this.listTokens(target)).filter(before).map((t) => ({ id: t.id, userId: t.userId }));
    }
    const part =
      target.kind === 'token' ? 'token' : cutoff === undefined ? 'tokens' : 'tokens issued before the start';
    const parts: PartOutcome[] = [
      remaining.length === 0
        ? { part, outcome: 'verified', method: 'list' }
        : { part, outcome: 'failed', why: `${remaining.length} still work after revocation`, remaining },
    ];
    return { ok: remaining.length === 0, remaining, method: 'list', parts };
  }

  async ping(): Promise<void> {
    await this.get(AdminApplicationListSchema, '/applications', 'ping');
    // Ready means the leaked-token path works too: its clients' credentials are accepted.
    await this.tokenValues?.ping();
  }

  private tokensPath(target: Exclude<Target, { kind: 'token' }>): string {
    switch (target.kind) {
      case 'user':
        return `/users/${e(target.userId)}/tokens`;
      case 'application':
        return `/applications/${e(target.applicationId)}/tokens`;
      case 'resourceServer':
        return `/resource-servers/${e(target.resourceServerId)}/tokens`;
    }
  }

  private async listTokens(target: Exclude<Target, { kind: 'token' }>): Promise<AdminToken[]> {
    return (await this.get(AdminTokenListSchema, this.tokensPath(target), 'token list')).tokens;
  }

  private async delete(path: string): Promise<RevokeResult> {
    const res = await this.http.delete(path);
    return { revoked: parseResponse(AdminRevokedSchema, res.data, 'IDaaS revoke').revoked };
  }

  private async get<S extends z.ZodType>(
    schema: S,
    path: string,
    what: string,
    params?: Record<string, string>,
  ): Promise<z.output<S>> {
    const res = await this.http.get(path, params ? { params } : {});
    return parseResponse(schema, res.data, `IDaaS ${what}`);
  }
}

function toUser(u: AdminUser): IdpUser {
  return {
    id: u.id,
    userName: u.userId,
    email: u.email,
    displayName: u.name,
    active: u.state === 'active',
    groups: u.groups ?? [],
  };
}

function toTokenInfo(t: AdminToken): TokenInfo {
  return {
    id: t.id,
    userId: t.userId,
    type: t.type,
    applicationId: t.applicationId,
    ...(t.resourceServerId === null ? {} : { resourceServerId: t.resourceServerId }),
    scopes: t.scopes,
    issuedAt: t.issuedAt,
    ...(t.expiresAt === null ? {} : { expiresAt: t.expiresAt }),
  };
}
