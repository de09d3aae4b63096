import type Provider from 'oidc-provider';
import { NotFoundError, ValidationError } from '../domain/errors.ts';
import type { Catalog } from './directory/catalog.ts';
import type { UserDirectory } from './directory/user-directory.ts';
import { ACCESS_TOKEN_TTL_S } from './provider/create-provider.ts';
import { tokenRef } from './store/token-store.ts';

export interface MintOptions {
  /** Internal id, user id or email. */
  user: string;
  /** client_id or application name. */
  application: string;
  /** Resource server id, name or audience; omitted ⇒ OIDC tokens valid at UserInfo. */
  resourceServer?: string;
  /** Default: `openid offline_access profile email`, or `openid offline_access <all API scopes>`. */
  scope?: string;
  /** How many independent grants (each with its tokens) to mint; default 1. */
  count?: number;
}

/** What the token endpoint would have answered, plus the admin references of the tokens. */
export interface IssuedTokens {
  access_token: string;
  refresh_token?: string;
  expires_in: number;
  scope: string;
  token_type: 'Bearer';
  /** `tok_…` of the access token, as the admin API lists it. */
  accessTokenId: string;
  refreshTokenId?: string;
  userId: string;
  applicationId: string;
  resourceServerId: string | null;
}

/**
 * Creates grants and tokens through the provider's own models, exactly as the code exchange does
 * (same payloads, same adapter), but without the HTTP login: tests need thousands of real tokens.
 */
export async function mintTokens(
  provider: Provider,
  users: UserDirectory,
  catalog: Catalog,
  o: MintOptions,
): Promise<IssuedTokens[]> {
  const user = users.find(o.user);
  if (!user) throw new NotFoundError(`no user ${o.user}`);
  const app = catalog.application(o.application);
  if (!app) throw new NotFoundError(`no application ${o.application}`);
  const rs = o.resourceServer === undefined ? undefined : catalog.resourceServer(o.resourceServer);
  if (o.resourceServer !== undefined && !rs)
    throw new NotFoundError(`no resource server ${o.resourceServer}`);
  const count = o.count ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > 100_000) {
    throw new ValidationError('count must be an integer from 1 to 100000');
  }
  const client = await provider.Client.find(app.client_id);
  if (!client) throw new NotFoundError(`no client ${app.client_id}`);

  const requested = (o.scope ?? `openid offline_access ${rs ? rs.scopes.join(' ') : 'profile email'}`)
    .split(' ')
    .filter(Boolean);
  const oidcScope = requested.filter((s) => ['openid', 'offline_access', 'profile', 'email'].includes(s));
  const rsScope = rs ? requested.filter((s) => rs.scopes.includes(s)) : [];
  const withRefresh = app.grant_types.includes('refresh_token');
  // oidc-provider exposes its ResourceServer class at runtime; the typings do not declare it.
  const ResourceServer = (provider as unknown as { ResourceServer: new (id: string, info: object) => never })
    .ResourceServer;

  const mintOne = async (): Promise<IssuedTokens> => {
    const grant = new provider.Grant({ accountId: user.id, clientId: app.client_id });
    if (oidcScope.length > 0) grant.addOIDCScope(oidcScope.join(' '));
    if (rs) grant.addResourceScope(rs.audience, rsScope.join(' '));
    const grantId = await grant.save();

    const at = new provider.AccessToken({
      accountId: user.id,
      client,
      grantId,
      gty: 'authorization_code',
      scope: (rs ? rsScope : oidcScope).join(' '),
      // Setting resourceServer makes the token audience-bound and opaque, as in the code exchange.
      ...(rs
        ? {
            resourceServer: new ResourceServer(rs.audience, {
              scope: rs.scopes.join(' '),
              audience: rs.audience,
              accessTokenFormat: 'opaque',
              accessTokenTTL: ACCESS_TOKEN_TTL_S,
            }),
          }
        : {}),
    });
    const accessToken = await at.save();

    let refreshToken: string | undefined;
    if (withRefresh) {
      const rt = new provider.RefreshToken({
        accountId: user.id,
        client,
        grantId,
        gty: 'authorization_code',
        scope: requested.join(' '),
        rotations: 0,
        authTime: Math.floor(Date.now() / 1000),
        ...(rs ? { resource: rs.audience } : {}),
      });
      refreshToken = await rt.save();
    }
    return {
      access_token: accessToken,
      ...(refreshToken ? { refresh_token: refreshToken, refreshTokenId: tokenRef(refreshToken) } : {}),
      expires_in: ACCESS_TOKEN_TTL_S,
      scope: at.scope ?? '',
      token_type: 'Bearer',
      accessTokenId: tokenRef(accessToken),
      userId: user.id,
      applicationId: app.client_id,
      resourceServerId: rs?.id ?? null,
    };
  };

  // Bounded concurrency: enough to keep Redis busy, not so much that 10,000 promises pile up.
  const out: IssuedTokens[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      out[i] = await mintOne();
    }
  };
  await Promise.all(Array.from({ length: Math.min(count, 32) }, worker));
  return out;
}
