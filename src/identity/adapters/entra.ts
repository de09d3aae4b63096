// Types only: the library itself is loaded on first use, so processes that run another IdP never pay for it.

import type { AuthenticationError, ClientSecretCredentialOptions, TokenCredential } from '@azure/identity';
import type { AxiosInstance, AxiosResponse } from 'axios';
import { z } from 'zod';
import { ConflictError } from '../../domain/errors.ts';
import type { Target } from '../../domain/target.ts';
import {
  type IdpError,
  IdpNotFoundError,
  IdpTransientError,
  IdpUnauthorizedError,
  IdpUnsupportedError,
} from '../errors.ts';
import { createIdpHttpClient, parseResponse } from '../http-client.ts';
import { probePermission } from '../permission-probe.ts';
import type {
  Capabilities,
  IdentityProvider,
  IdpApplication,
  IdpResourceServer,
  IdpUser,
  PartOutcome,
  PermissionProbe,
  RevocationPlan,
  RevokeResult,
  TokenInfo,
  TokenRef,
  VerifyContext,
  VerifyResult,
} from '../port.ts';
import { budgetPermit } from './budget-permit.ts';
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
  /**
   * Tolerance when comparing Entra's cut-off time with this revocation's start, both on Entra's clock (ours
   * is translated through the `Date` header of Graph's answer, which has one-second resolution, as has
   * `signInSessionsValidFromDateTime`). Default: 2 000 ms.
   */
  clockSkewMs?: number;
  /**
   * Called before each request to Entra's token endpoint (MSAL's own HTTP calls), so token fetches draw from
   * the shared IdP budget like every Graph call. Default: takes a permit from the budget of the call being
   * made (`BudgetedIdentityProvider`), none outside one.
   */
  tokenFetchPermit?: () => Promise<void>;
}

// Microsoft Graph v1.0 shapes: user, servicePrincipal, oauth2PermissionGrant, collections with @odata.nextLink.
const GraphUserSchema = z.object({
  id: z.string(),
  displayName: z.string().nullish(),
  userPrincipalName: z.string(),
  mail: z.string().nullish(),
  accountEnabled: z.boolean().nullish(),
  userType: z.string().nullish(),
});
type GraphUser = z.infer<typeof GraphUserSchema>;
const SignInValidFromSchema = z.object({
  id: z.string(),
  userPrincipalName: z.string().nullish(),
  userType: z.string().nullish(),
  signInSessionsValidFromDateTime: z.iso.datetime({ offset: true }).nullish(),
});
// appRoleAssignment (learn.microsoft.com/graph/api/resources/approleassignment).
const AppRoleAssignmentSchema = z.object({
  id: z.string(),
  principalId: z.string(),
  principalType: z.string().nullish(),
  resourceId: z.string(),
});
type AppRoleAssignment = z.infer<typeof AppRoleAssignmentSchema>;
// application.api.preAuthorizedApplications (learn.microsoft.com/graph/api/resources/apiapplication).
const ApplicationApiSchema = z.object({
  api: z
    .object({
      preAuthorizedApplications: z.array(z.object({ appId: z.string() })).nullish(),
    })
    .nullish(),
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
type ServicePrincipal = z.infer<typeof ServicePrincipalSchema>;
const collection = <T extends z.ZodType>(item: T) =>
  z.object({ value: z.array(item), '@odata.nextLink': z.string().optional() });

const USER_FIELDS = 'id,displayName,userPrincipalName,mail,accountEnabled,userType';
/** An object id no directory object has: the doctor's write probes address it, so nothing is changed. */
const PROBE_ID = '00000000-0000-0000-0000-000000000000';
/** Candidates a look-up by email reads (Graph users `$top`: 1–999); more than one enabled is refused anyway. */
const EMAIL_CANDIDATES = 10;
/**
 * revokeSignInSessions "doesn't revoke sign-in sessions for external users, because external users sign in
 * through their home tenant" (learn.microsoft.com/graph/api/user-revokesigninsessions).
 */
const EXTERNAL_USERS_NOTE =
  "Entra's revokeSignInSessions doesn't revoke sign-in sessions for external users, because external users sign in through their home tenant (learn.microsoft.com/graph/api/user-revokesigninsessions)";
/** Entra access tokens: "a random value ranging between 60-90 minutes" (learn.microsoft.com/entra/identity-platform/access-tokens#token-lifetime). */
const ACCESS_TOKEN_LIFETIME = '60–90 minutes';
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
      user: `Entra invalidates refresh tokens and browser sessions issued before the revocation (external/guest users are refused: revokeSignInSessions does not reach them); access tokens already issued stay valid until they expire (${ACCESS_TOKEN_LIFETIME}).`,
      application: `Removes the app's delegated permission grants (consents) and its application permissions (app-role assignments): refresh tokens and new app-only tokens stop working. APIs that pre-authorize this app still issue it delegated tokens without a grant (Graph cannot list them by client): reported unverifiable. Issued access tokens live until they expire (${ACCESS_TOKEN_LIFETIME}).`,
      resourceServer: `Removes every delegated permission grant to this API and every app-role assignment of its roles to an application: refresh tokens and new app-only tokens for it stop working. Pre-authorized clients (Expose an API) are not removed: they are reported as still working. Issued access tokens live until they expire (${ACCESS_TOKEN_LIFETIME}).`,
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
    this.clockSkewMs = options.clockSkewMs ?? 2_000;
    const permit = options.tokenFetchPermit ?? budgetPermit;
    this.http = createIdpHttpClient({
      baseURL: graphUrl,
      // MSAL (inside @azure/identity) caches the token and renews it shortly before it expires.
      auth: async () => {
        credential ??= entraCredential(options, loginUrl, permit, options.timeoutMs ?? 10_000);
        const token = await (await credential).getToken(scope).catch((err: unknown) => {
          // A failed token request drops the credential: MSAL would otherwise refuse every token request
          // for 60 s after one 5xx or 429 without Retry-After (its throttling cache), while the job's own
          // backoff and the shared budget already pace the retry.
          credential = undefined;
          throw tokenError(err);
        });
        if (!token) throw new IdpUnauthorizedError('Entra returned no token for Microsoft Graph');
        return token.token;
      },
      // A 401 from Graph: the cached token is no longer accepted; the retry fetches a new one.
      invalidateAuth: () => {
        credential = undefined;
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

  /**
   * The one enabled account whose mail or user principal name is `email`. `mail` is not unique in Entra
   * (two accounts may carry one address, and a disabled leaver's account keeps it): several enabled matches,
   * or only disabled ones, are refused with a `ConflictError` naming the candidates' ids, never a pick.
   */
  async findUserByEmail(email: string): Promise<IdpUser | undefined> {
    const $filter = `mail eq ${odata(email)} or userPrincipalName eq ${odata(email)}`;
    const res = await this.http.get('/users', {
      params: { $filter, $top: EMAIL_CANDIDATES, $select: USER_FIELDS },
    });
    const found = parseResponse(collection(GraphUserSchema), res.data, 'Graph user search').value;
    if (found.length === 0) return undefined;
    const enabled = found.filter((u) => u.accountEnabled !== false);
    const ids = (users: GraphUser[]) => users.map((u) => u.id).join(', ');
    if (enabled.length > 1) {
      throw new ConflictError(
        `${enabled.length} enabled Entra users have the email ${email} (${ids(enabled)}); name the user by id`,
      );
    }
    if (enabled.length === 0) {
      throw new ConflictError(
        `only disabled Entra accounts have the email ${email} (${ids(found)}); name the user by id`,
      );
    }
    return toUser(enabled[0]!);
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
      case 'user': {
        // Fails at planning on an unknown user, and refuses an external one (nothing would be revoked).
        const res = await this.http.get(`/users/${enc(target.userId)}`, { params: { $select: USER_FIELDS } });
        const user = parseResponse(GraphUserSchema, res.data, 'Graph user');
        if (isExternal(user)) {
          throw new IdpUnsupportedError(
            `${user.userPrincipalName} (${user.id}) is an external (guest) user: ${EXTERNAL_USERS_NOTE}. Revoke in the user's home tenant, or block or remove the guest account here.`,
          );
        }
        return singleStepPlan(target, 1);
      }
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
        // "If successful, this method returns a 2xx series response code" (Graph reference); copies show 204
        // without a body and 200 `{value: true}`: any 2xx is success, only an explicit `value: false` is not.
        const res = await this.http.post(`/users/${enc(step.userId)}/revokeSignInSessions`);
        const body = RevokeAnswerSchema.safeParse(res.data);
        if (body.success && body.data?.value === false) {
          throw new IdpTransientError(
            `Entra answered revokeSignInSessions for ${step.userId} with value false`,
            {
              status: res.status,
            },
          );
        }
        return { revoked: [] };
      }
      case 'application':
      case 'resourceServer': {
        const sp = await this.targetServicePrincipal(step);
        for (const g of await this.grants(step, sp)) {
          // Already deleted by an earlier attempt of this step: nothing to do.
          await unlessNotFound(() => this.http.delete(`/oauth2PermissionGrants/${enc(g.id)}`), undefined);
        }
        for (const a of await this.appRoleAssignments(step, sp)) {
          // The application's own permissions (appRoleAssignments), or the API's roles given to applications
          // (appRoleAssignedTo): both are deleted on the service principal that lists them.
          const path =
            step.kind === 'application'
              ? `/servicePrincipals/${enc(sp.id)}/appRoleAssignments/${enc(a.id)}`
              : `/servicePrincipals/${enc(sp.id)}/appRoleAssignedTo/${enc(a.id)}`;
          await unlessNotFound(() => this.http.delete(path), undefined);
        }
        return { revoked: [] };
      }
    }
  }

  async verify(target: Target, context?: VerifyContext): Promise<VerifyResult> {
    switch (target.kind) {
      case 'token':
        throw unsupported(this.capabilities, 'token', 'Entra');
      case 'user':
        return verified(await this.verifyUser(target.userId, context), 'not-before');
      case 'application':
      case 'resourceServer': {
        const sp = await this.targetServicePrincipal(target);
        const grants = (await this.grants(target, sp)).map((g) => ({
          id: g.id,
          ...(g.principalId ? { userId: g.principalId } : {}),
        }));
        const roles = (await this.appRoleAssignments(target, sp)).map((a) => ({
          id: a.id,
          userId: a.principalId,
        }));
        const parts: PartOutcome[] = [
          listed('delegated permission grants', grants),
          listed(
            target.kind === 'application'
              ? 'application permissions (app-role assignments)'
              : 'app roles assigned to applications',
            roles,
          ),
          target.kind === 'application'
            ? {
                part: 'pre-authorized access',
                outcome: 'unverifiable',
                why: 'APIs that list this app as a pre-authorized client (Expose an API) issue it delegated tokens without any grant; Graph cannot query applications by pre-authorized client',
              }
            : await this.preAuthorizedPart(sp.appId ?? undefined),
        ];
        return verified(parts, 'list');
      }
    }
  }

  /**
   * Reads `signInSessionsValidFromDateTime` back: revokeSignInSessions moves it to "now", and refresh tokens
   * and sessions issued before it are refused. Only a cut-off at or after THIS revocation's start (`since`,
   * translated to Entra's clock through the answer's `Date` header) shows that this revocation took effect;
   * without `since` an earlier revocation's cut-off cannot be told apart, so it is not taken as done.
   */
  private async verifyUser(userId: string, context: VerifyContext | undefined): Promise<PartOutcome[]> {
    const part = 'refresh tokens and sign-in sessions issued before the revocation';
    const asked = Date.now();
    const res = await this.http.get(`/users/${enc(userId)}`, {
      params: { $select: 'id,userPrincipalName,userType,signInSessionsValidFromDateTime' },
    });
    const answered = Date.now();
    const user = parseResponse(SignInValidFromSchema, res.data, 'Graph user');
    if (isExternal(user)) return [{ part, outcome: 'unverifiable', why: EXTERNAL_USERS_NOTE }];
    if (!context?.since) {
      return [
        {
          part,
          outcome: 'failed',
          why: "without this revocation's start time, an earlier revocation's cut-off cannot be told apart",
        },
      ];
    }
    const validFrom = user.signInSessionsValidFromDateTime
      ? Date.parse(user.signInSessionsValidFromDateTime)
      : Number.NEGATIVE_INFINITY;
    // Entra's clock minus ours, from the answer's Date header (midpoint of the round trip); 0 without one.
    const serverDate = Date.parse(String(res.headers.date ?? ''));
    const offset = Number.isNaN(serverDate) ? 0 : serverDate - (asked + answered) / 2;
    const cutoff = context.since.getTime() + offset - this.clockSkewMs;
    if (validFrom >= cutoff) return [{ part, outcome: 'verified', method: 'not-before' }];
    return [
      {
        part,
        outcome: 'failed',
        why: `signInSessionsValidFromDateTime (${user.signInSessionsValidFromDateTime ?? 'never set'}) is before this revocation`,
        remaining: [{ id: 'sign-in-sessions', userId }],
      },
    ];
  }

  /** An API's pre-authorized clients (its application object's `api.preAuthorizedApplications`). */
  private async preAuthorizedPart(appId: string | undefined): Promise<PartOutcome> {
    const part = 'pre-authorized clients';
    if (!appId) return { part, outcome: 'unverifiable', why: 'the service principal names no appId' };
    const app = await unlessNotFound(async () => {
      const res = await this.http.get(`/applications(appId=${odata(appId)})`, { params: { $select: 'api' } });
      return parseResponse(ApplicationApiSchema, res.data, 'Graph application');
    }, undefined);
    if (!app) {
      return {
        part,
        outcome: 'unverifiable',
        why: "the API's app registration is in another tenant: its pre-authorized clients cannot be read here",
      };
    }
    const clients = (app.api?.preAuthorizedApplications ?? []).map((p) => ({ id: p.appId }));
    if (clients.length === 0) return { part, outcome: 'verified', method: 'list' };
    return {
      part,
      outcome: 'failed',
      why: `${clients.length} pre-authorized client(s) (${clients.map((c) => c.id).join(', ')}) still get delegated tokens for this API without a grant; Revoker does not edit app registrations: remove them under Expose an API → Authorized client applications`,
      remaining: clients,
    };
  }

  /**
   * For `revoker doctor`: each permission the declared scopes need, the write ones probed by a call on an
   * object id that does not exist (404 when the permission is held, 403 Authorization_RequestDenied when
   * not), so nothing is revoked. Names are Graph's application permissions (each operation's
   * "Permissions" table in learn.microsoft.com/graph/api/…).
   */
  async probePermissions(): Promise<PermissionProbe[]> {
    const probe = (scope: PermissionProbe['scope'], permission: string, call: () => Promise<unknown>) =>
      probePermission(scope, permission, call, (err) =>
        err.status === 403 ? `Graph answered 403: grant ${permission} (admin consent)` : err.message,
      );
    return [
      await probe('lookup', 'User.Read.All', () =>
        this.http.get('/users', { params: { $top: 1, $select: 'id' } }),
      ),
      await probe('lookup', 'Application.Read.All', () =>
        this.http.get('/servicePrincipals', { params: { $top: 1, $select: 'id' } }),
      ),
      await probe('user', 'User.RevokeSessions.All', () =>
        this.http.post(`/users/${PROBE_ID}/revokeSignInSessions`),
      ),
      await probe('application', 'DelegatedPermissionGrant.ReadWrite.All', () =>
        this.http.delete(`/oauth2PermissionGrants/${PROBE_ID}`),
      ),
      await probe('application', 'AppRoleAssignment.ReadWrite.All', () =>
        this.http.delete(`/servicePrincipals/${PROBE_ID}/appRoleAssignments/${PROBE_ID}`),
      ),
      await probe('resourceServer', 'DelegatedPermissionGrant.ReadWrite.All', () =>
        this.http.delete(`/oauth2PermissionGrants/${PROBE_ID}`),
      ),
      await probe('resourceServer', 'AppRoleAssignment.ReadWrite.All', () =>
        this.http.delete(`/servicePrincipals/${PROBE_ID}/appRoleAssignedTo/${PROBE_ID}`),
      ),
    ];
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
    resolved?: ServicePrincipal,
  ): Promise<Grant[]> {
    const sp = resolved ?? (await this.targetServicePrincipal(target));
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

  /**
   * App-role assignments in scope: an application's own (`appRoleAssignments`: the application permissions
   * it was granted, which need no delegated grant), or an API's roles assigned to applications
   * (`appRoleAssignedTo`, principalType `ServicePrincipal`: app-only access to the API). Users' and groups'
   * role assignments are authorisation, not credentials: they are left as they are.
   */
  private async appRoleAssignments(
    target: Extract<Target, { kind: 'application' | 'resourceServer' }>,
    sp: ServicePrincipal,
  ): Promise<AppRoleAssignment[]> {
    const out: AppRoleAssignment[] = [];
    let url: string | undefined =
      target.kind === 'application'
        ? `/servicePrincipals/${enc(sp.id)}/appRoleAssignments`
        : `/servicePrincipals/${enc(sp.id)}/appRoleAssignedTo`;
    for (let page = 0; url && page < MAX_PAGES; page++) {
      const res: AxiosResponse<unknown> = await this.http.get(url);
      const body = parseResponse(collection(AppRoleAssignmentSchema), res.data, 'Graph appRoleAssignments');
      out.push(...body.value);
      url = body['@odata.nextLink'];
    }
    return target.kind === 'application' ? out : out.filter((a) => a.principalType === 'ServicePrincipal');
  }

  private targetServicePrincipal(
    target: Extract<Target, { kind: 'application' | 'resourceServer' }>,
  ): Promise<ServicePrincipal> {
    return this.servicePrincipal(
      target.kind === 'application' ? target.applicationId : target.resourceServerId,
    );
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

// revokeSignInSessions: no body (204) or `{value: true}` (200); anything else in a 2xx is not read.
const RevokeAnswerSchema = z.object({ value: z.boolean().optional() }).nullish();

/**
 * An external user: a B2B guest (`userType: Guest`) or an account whose user principal name carries
 * `#EXT#` (invited from another tenant, member or guest): they sign in through their home tenant.
 */
function isExternal(u: {
  userType?: string | null | undefined;
  userPrincipalName?: string | null | undefined;
}) {
  return u.userType === 'Guest' || (u.userPrincipalName ?? '').includes('#EXT#');
}

/** A listing part: verified when empty, else failed naming what remains. */
function listed(part: string, remaining: TokenRef[]): PartOutcome {
  if (remaining.length === 0) return { part, outcome: 'verified', method: 'list' };
  return { part, outcome: 'failed', why: `${remaining.length} still present after revocation`, remaining };
}

/** A verify result from its parts: ok unless a part failed (unverifiable parts are told by `parts`). */
function verified(parts: PartOutcome[], method: 'list' | 'not-before'): VerifyResult {
  const remaining = parts.flatMap((p) => (p.outcome === 'failed' ? (p.remaining ?? []) : []));
  return { ok: !parts.some((p) => p.outcome === 'failed'), remaining, method, parts };
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
  permit: () => Promise<void>,
  timeoutMs: number,
): Promise<TokenCredential> {
  const { ClientCertificateCredential, ClientSecretCredential } = await import('@azure/identity');
  const budgetPolicy: NonNullable<ClientSecretCredentialOptions['additionalPolicies']>[number] = {
    position: 'perRetry',
    policy: {
      name: 'revokerIdpBudget',
      sendRequest: async (request, next) => {
        await permit();
        request.timeout = timeoutMs;
        return next(request);
      },
    },
  };
  const common = {
    authorityHost: loginUrl,
    // Instance discovery only knows Microsoft's own clouds; a private or stand-in authority skips it.
    disableInstanceDiscovery: !KNOWN_AUTHORITIES.has(new URL(loginUrl).host),
    // Every HTTP request MSAL makes (metadata, token) goes through @azure/core-rest-pipeline: a policy
    // run on each attempt takes a budget permit first, so token fetches count against the IdP's limits
    // too, and bounds the attempt by the adapter's call timeout (the pipeline's default is none).
    additionalPolicies: [budgetPolicy],
    // Retries are the job's, paced by the shared budget: the pipeline's own (3, up to ~6 s inside one call)
    // would hide Entra's answer and outlast the call timeout.
    retryOptions: { maxRetries: 0 },
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
