// Types only: the library itself is loaded on first use, so processes that run another IdP never pay for it.
import type { AuthenticationError, TokenCredential } from '@azure/identity';
import type { AxiosInstance, AxiosResponse } from 'axios';
import { z } from 'zod';
import type { Target } from '../../domain/target.ts';
import { type IdpError, IdpNotFoundError, IdpTransientError, IdpUnauthorizedError } from '../errors.ts';
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
  TokenRef,
  VerifyContext,
  VerifyResult,
} from '../port.ts';
import { enc, MAX_PAGES, odata, singleStepPlan, unlessNotFound, unsupported } from './support.ts';

export interface EntraIdentityProviderOptions {
  tenantId: string;
  clientId: string;
  /** The app registration's client secret; or give `certificatePath`. */
  clientSecret?: string;
  /** A PEM file holding the app's certificate and private key (Microsoft's recommended credential). */
  certificatePath?: string;
  /** Microsoft Graph base. Default: `https://graph.microsoft.com/v1.0`. */
  graphUrl?: string;
  /** Identity platform base; the token comes from `{loginUrl}/{tenant}/oauth2/v2.0/token`. Default: `https://login.microsoftonline.com`. */
  loginUrl?: string;
  /** Per-call timeout. Default: 10 000 ms. */
  timeoutMs?: number;
  /** Clock skew tolerated when comparing Entra's cut-off time with ours. Default: 60 000 ms. */
  clockSkewMs?: number;
}

// Microsoft Graph v1.0 shapes: user, servicePrincipal, oauth2PermissionGrant, collections with @odata.nextLink.
const GraphUserSchema = z.object({
  id: z.string(),
  displayName: z.string().nullish(),
  userPrincipalName: z.string(),
  mail: z.string().nullish(),
  accountEnabled: z.boolean().nullish(),
});
const SignInValidFromSchema = z.object({
  id: z.string(),
  signInSessionsValidFromDateTime: z.iso.datetime({ offset: true }).nullish(),
});
const ServicePrincipalSchema = z.object({
  id: z.string(),
  appId: z.string().nullish(),
  displayName: z.string().nullish(),
  servicePrincipalNames: z.array(z.string()).nullish(),
  oauth2PermissionScopes: z.array(z.object({ value: z.string().nullish() })).nullish(),
});
const GrantSchema = z.object({
  id: z.string(),
  clientId: z.string(),
  consentType: z.string().nullish(),
  principalId: z.string().nullish(),
  resourceId: z.string(),
  scope: z.string().nullish(),
});
type Grant = z.infer<typeof GrantSchema>;
const collection = <T extends z.ZodType>(item: T) =>
  z.object({ value: z.array(item), '@odata.nextLink': z.string().optional() });

const USER_FIELDS = 'id,displayName,userPrincipalName,mail,accountEnabled';
const SP_FIELDS = 'id,appId,displayName,servicePrincipalNames,oauth2PermissionScopes';
/**
 * Entra's own authority hosts (`AzureAuthorityHosts` of @azure/identity: public, US Gov, China), which
 * instance discovery knows; any other host (a private cloud, a local stand-in) skips discovery.
 */
const KNOWN_AUTHORITIES = new Set([
  'login.microsoftonline.com',
  'login.microsoftonline.us',
  'login.chinacloudapi.cn',
]);
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * App-only Graph access asks for `{Graph root}/.default` of the tenant's cloud: `https://graph.microsoft.us`
 * (US Gov L4), `https://dod-graph.microsoft.us` (L5), `https://microsoftgraph.chinacloudapi.cn` (21Vianet).
 * Source: https://learn.microsoft.com/graph/deployments#app-registration-and-token-service-root-endpoints
 */
export function graphScope(graphUrl: string): string {
  return `${new URL(graphUrl).origin}/.default`;
}

/**
 * Microsoft Entra ID through Microsoft Graph (app-only). Entra has no per-token revocation: a user's sessions
 * and refresh tokens are invalidated with `revokeSignInSessions`; an application's or an API's access is cut by
 * deleting its delegated permission grants (`oauth2PermissionGrants`), after which refreshes fail.
 */
export class EntraIdentityProvider implements IdentityProvider {
  readonly name = 'entra';
  readonly capabilities: Capabilities = {
    scopes: { token: false, user: true, application: true, resourceServer: true },
    unsupportedReasons: {
      token: "Microsoft Entra ID cannot revoke a single token; revoke all of the user's sessions instead.",
    },
    notes: {
      user: 'Entra invalidates refresh tokens and sessions; access tokens already issued stay valid until they expire (about an hour).',
      application:
        "Removes the app's delegated permission grants (consents): refresh tokens stop working; issued access tokens live until they expire.",
      resourceServer:
        'Removes every delegated permission grant to this API: refresh tokens for it stop working; issued access tokens live until they expire.',
    },
    listTokens: false,
    search: true,
  };
  private readonly http: AxiosInstance;
  private readonly clockSkewMs: number;

  constructor(options: EntraIdentityProviderOptions) {
    const loginUrl = (options.loginUrl ?? 'https://login.microsoftonline.com').replace(/\/+$/, '');
    const graphUrl = (options.graphUrl ?? 'https://graph.microsoft.com/v1.0').replace(/\/+$/, '');
    let credential: Promise<TokenCredential> | undefined;
    const scope = graphScope(graphUrl);
    this.clockSkewMs = options.clockSkewMs ?? 60_000;
    this.http = createIdpHttpClient({
      baseURL: graphUrl,
      // MSAL (inside @azure/identity) caches the token and renews it shortly before it expires.
      auth: async () => {
        credential ??= entraCredential(options, loginUrl);
        const token = await (await credential).getToken(scope).catch((err: unknown) => {
          throw tokenError(err);
        });
        if (!token) throw new IdpUnauthorizedError('Entra returned no token for Microsoft Graph');
        return token.token;
      },
      idpName: 'Microsoft Graph',
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
  }

  async searchUsers(query: string, limit = 20): Promise<IdpUser[]> {
    const q = odata(query);
    const $filter = `startswith(displayName,${q}) or startswith(userPrincipalName,${q}) or startswith(mail,${q})`;
    const res = await this.http.get('/users', { params: { $filter, $top: limit, $select: USER_FIELDS } });
    return parseResponse(collection(GraphUserSchema), res.data, 'Graph user search')
      .value.slice(0, limit)
      .map(toUser);
  }

  async getUser(userId: string): Promise<IdpUser> {
    const res = await this.http.get(`/users/${enc(userId)}`, { params: { $select: USER_FIELDS } });
    return toUser(parseResponse(GraphUserSchema, res.data, 'Graph user'));
  }

  async findUserByEmail(email: string): Promise<IdpUser | undefined> {
    const $filter = `mail eq ${odata(email)} or userPrincipalName eq ${odata(email)}`;
    const res = await this.http.get('/users', { params: { $filter, $top: 1, $select: USER_FIELDS } });
    const user = parseResponse(collection(GraphUserSchema), res.data, 'Graph user search').value[0];
    return user ? toUser(user) : undefined;
  }

  async searchApplications(query: string, limit = 20): Promise<IdpApplication[]> {
    return (await this.searchServicePrincipals(query, limit)).map(toApplication);
  }

  async getApplication(applicationId: string): Promise<IdpApplication> {
    return toApplication(await this.servicePrincipal(applicationId));
  }

  async searchResourceServers(query: string, limit = 20): Promise<IdpResourceServer[]> {
    return (await this.searchServicePrincipals(query, limit)).map(toResourceServer);
  }

  async getResourceServer(resourceServerId: string): Promise<IdpResourceServer> {
    return toResourceServer(await this.servicePrincipal(resourceServerId));
  }

  async listUserTokens(_userId: string): Promise<TokenInfo[]> {
    throw unsupported(
      {
        ...this.capabilities,
        unsupportedReasons: { token: 'Microsoft Entra ID does not list the tokens it has issued.' },
      },
      'token',
      'Entra',
    );
  }

  async plan(target: Target): Promise<RevocationPlan> {
    switch (target.kind) {
      case 'token':
        throw unsupported(this.capabilities, 'token', 'Entra');
      case 'user':
        await this.getUser(target.userId); // fail at planning on an unknown user
        return singleStepPlan(target, 1);
      case 'application':
      case 'resourceServer': {
        const grants = await this.grants(target);
        // An admin consent (`AllPrincipals`) has no principalId: it covers every user of the tenant.
        if (grants.some((g) => g.consentType === 'AllPrincipals')) {
          return singleStepPlan(target, await this.tenantUserCount());
        }
        const principals = new Set(grants.map((g) => g.principalId).filter(Boolean));
        return singleStepPlan(target, principals.size);
      }
    }
  }

  async revoke(step: Target): Promise<RevokeResult> {
    switch (step.kind) {
      case 'token':
        throw unsupported(this.capabilities, 'token', 'Entra');
      case 'user': {
        const res = await this.http.post(`/users/${enc(step.userId)}/revokeSignInSessions`);
        parseResponse(z.object({ value: z.boolean() }), res.data, 'Graph revokeSignInSessions');
        return { revoked: [] };
      }
      case 'application':
      case 'resourceServer':
        for (const g of await this.grants(step)) {
          // Already deleted by an earlier attempt of this step: nothing to do.
          await unlessNotFound(() => this.http.delete(`/oauth2PermissionGrants/${enc(g.id)}`), undefined);
        }
        return { revoked: [] };
    }
  }

  async verify(target: Target, context?: VerifyContext): Promise<VerifyResult> {
    switch (target.kind) {
      case 'token':
        throw unsupported(this.capabilities, 'token', 'Entra');
      case 'user': {
        // Graph lists no refresh tokens, but revokeSignInSessions moves the user's
        // signInSessionsValidFromDateTime to now: tokens issued before it are refused. Read it back.
        const res = await this.http.get(`/users/${enc(target.userId)}`, {
          params: { $select: 'id,signInSessionsValidFromDateTime' },
        });
        const user = parseResponse(SignInValidFromSchema, res.data, 'Graph user');
        const validFrom = user.signInSessionsValidFromDateTime
          ? Date.parse(user.signInSessionsValidFromDateTime)
          : 0;
        const cutoff = (context?.since?.getTime() ?? 0) - this.clockSkewMs;
        const ok = context?.since ? validFrom >= cutoff : validFrom > 0;
        return {
          ok,
          remaining: ok ? [] : [{ id: 'sign-in-sessions', userId: target.userId }],
          method: 'not-before',
        };
      }
      case 'application':
      case 'resourceServer': {
        const remaining: TokenRef[] = (await this.grants(target)).map((g) => ({
          id: g.id,
          ...(g.principalId ? { userId: g.principalId } : {}),
        }));
        return { ok: remaining.length === 0, remaining, method: 'list' };
      }
    }
  }

  async ping(): Promise<void> {
    const res = await this.http.get('/users', { params: { $top: 1, $select: 'id' } });
    parseResponse(collection(z.object({ id: z.string() })), res.data, 'Graph ping');
  }

  /**
   * Delegated permission grants of a client (application) or to a resource (API) service principal. Graph's
   * `clientId`/`resourceId` are service-principal object ids: the id is first resolved to an existing service
   * principal (an appId is accepted and translated), so a typo fails instead of finding zero grants.
   */
  private async grants(
    target: Extract<Target, { kind: 'application' | 'resourceServer' }>,
  ): Promise<Grant[]> {
    const sp = await this.servicePrincipal(
      target.kind === 'application' ? target.applicationId : target.resourceServerId,
    );
    const $filter =
      target.kind === 'application' ? `clientId eq ${odata(sp.id)}` : `resourceId eq ${odata(sp.id)}`;
    const out: Grant[] = [];
    let url: string | undefined = '/oauth2PermissionGrants';
    let params: Record<string, string> | undefined = { $filter };
    for (let page = 0; url && page < MAX_PAGES; page++) {
      const res: AxiosResponse<unknown> = await this.http.get(url, params ? { params } : {});
      const body = parseResponse(collection(GrantSchema), res.data, 'Graph oauth2PermissionGrants');
      out.push(...body.value);
      url = body['@odata.nextLink'];
      params = undefined; // nextLink is absolute and carries its query
    }
    return out;
  }

  private async searchServicePrincipals(query: string, limit: number) {
    const res = await this.http.get('/servicePrincipals', {
      params: { $filter: `startswith(displayName,${odata(query)})`, $top: limit, $select: SP_FIELDS },
    });
    return parseResponse(
      collection(ServicePrincipalSchema),
      res.data,
      'Graph service principal search',
    ).value.slice(0, limit);
  }

  /**
   * A service principal by object id, else by appId (Graph's alternate key `servicePrincipals(appId='…')`).
   * Neither exists ⇒ `IdpNotFoundError` naming the id.
   */
  private async servicePrincipal(id: string) {
    const params = { params: { $select: SP_FIELDS } };
    try {
      const res = await this.http.get(`/servicePrincipals/${enc(id)}`, params);
      return parseResponse(ServicePrincipalSchema, res.data, 'Graph service principal');
    } catch (err) {
      if (!(err instanceof IdpNotFoundError) || !GUID.test(id)) throw notFound(err, id);
    }
    try {
      const res = await this.http.get(`/servicePrincipals(appId=${odata(id)})`, params);
      return parseResponse(ServicePrincipalSchema, res.data, 'Graph service principal');
    } catch (err) {
      throw notFound(err, id);
    }
  }

  /** Users in the tenant (Graph `$count`, which needs `ConsistencyLevel: eventual`). */
  private async tenantUserCount(): Promise<number> {
    const res = await this.http.get('/users/$count', {
      headers: { ConsistencyLevel: 'eventual', Accept: 'text/plain' },
      responseType: 'text',
    });
    return parseResponse(z.coerce.number().int().nonnegative(), res.data, 'Graph user count');
  }
}

function toUser(u: z.infer<typeof GraphUserSchema>): IdpUser {
  return {
    id: u.id,
    userName: u.userPrincipalName,
    ...(u.mail ? { email: u.mail } : {}),
    ...(u.displayName ? { displayName: u.displayName } : {}),
    active: u.accountEnabled !== false,
  };
}

function toApplication(sp: z.infer<typeof ServicePrincipalSchema>): IdpApplication {
  return { id: sp.id, name: sp.displayName ?? sp.appId ?? sp.id };
}

function toResourceServer(sp: z.infer<typeof ServicePrincipalSchema>): IdpResourceServer {
  const audience = sp.servicePrincipalNames?.[0];
  const scopes = (sp.oauth2PermissionScopes ?? []).flatMap((s) => (s.value ? [s.value] : []));
  return { id: sp.id, name: sp.displayName ?? sp.id, ...(audience ? { audience } : {}), scopes };
}

function notFound(err: unknown, id: string): unknown {
  if (!(err instanceof IdpNotFoundError)) return err;
  return new IdpNotFoundError(`Entra has no service principal with object id or appId "${id}"`, {
    status: 404,
    cause: err,
  });
}

/** A secret or certificate credential against the tenant's cloud (`authorityHost`). */
async function entraCredential(
  options: EntraIdentityProviderOptions,
  loginUrl: string,
): Promise<TokenCredential> {
  const { ClientCertificateCredential, ClientSecretCredential } = await import('@azure/identity');
  const common = {
    authorityHost: loginUrl,
    // Instance discovery only knows Microsoft's own clouds; a private or stand-in authority skips it.
    disableInstanceDiscovery: !KNOWN_AUTHORITIES.has(new URL(loginUrl).host),
  };
  if (options.certificatePath) {
    return new ClientCertificateCredential(
      options.tenantId,
      options.clientId,
      { certificatePath: options.certificatePath },
      common,
    );
  }
  if (!options.clientSecret) throw new IdpUnauthorizedError('Entra needs a client secret or a certificate');
  return new ClientSecretCredential(options.tenantId, options.clientId, options.clientSecret, common);
}

/** Entra's token endpoint refusing us (4xx) is permanent; anything else (network, 5xx) is worth a retry. */
function tokenError(err: unknown): IdpError {
  const auth =
    (err as { name?: unknown } | undefined)?.name === 'AuthenticationError'
      ? (err as AuthenticationError)
      : undefined;
  const status = auth?.statusCode;
  if (status !== undefined && status >= 400 && status < 500 && status !== 429) {
    return new IdpUnauthorizedError(
      `Entra refused our app credentials (${auth?.errorResponse.error ?? 'error'})`,
      { status, cause: err },
    );
  }
  return new IdpTransientError('Entra token request failed', { ...(status ? { status } : {}), cause: err });
}
