import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { Catalog } from '../directory/catalog.ts';
import type { UserDirectory } from '../directory/user-directory.ts';

const ROUTE = /^\/resources\/([^/]+)\/whoami$/;

/**
 * A tiny protected resource per resource server: UserInfo refuses audience-bound tokens, so this is
 * where a resource-server token's liveness is seen. 200 `{sub, scope}` only for an active token of
 * this audience whose grant and user still exist; 401 otherwise.
 */
export function whoamiRoute(provider: Provider, catalog: Catalog, users: UserDirectory): Middleware {
  return async (ctx, next) => {
    const match = ROUTE.exec(ctx.path);
    if (!match || ctx.method !== 'GET') return next();
    const rs = catalog.resourceServer(decodeURIComponent(match[1]!));
    if (!rs) {
      ctx.status = 404;
      ctx.body = { error: 'not_found', message: `no resource server ${match[1]}` };
      return;
    }
    const header = ctx.get('authorization');
    if (header === '') {
      // RFC 6750 §3.1: a request without any authentication information gets no error code.
      ctx.status = 401;
      ctx.set('www-authenticate', `Bearer realm="${rs.id}"`);
      ctx.body = { error: 'unauthorized', message: 'a bearer access token is required' };
      return;
    }
    const value = /^Bearer ([\x21-\x7e]+)$/i.exec(header)?.[1];
    const token = value ? await provider.AccessToken.find(value) : undefined;
    const grant = token?.grantId ? await provider.Grant.find(token.grantId) : undefined;
    const user = token?.accountId ? users.find(token.accountId) : undefined;
    const ok =
      token !== undefined &&
      !token.isExpired &&
      token.aud === rs.audience &&
      grant !== undefined &&
      grant.accountId === token.accountId &&
      // The consent this token rested on must still include this resource server.
      grant.resources?.[rs.audience] !== undefined &&
      user?.state === 'active';
    if (!ok) {
      ctx.status = 401;
      ctx.set('www-authenticate', `Bearer realm="${rs.id}", error="invalid_token"`);
      ctx.body = {
        error: 'invalid_token',
        message: 'the access token is not active for this resource server',
      };
      return;
    }
    ctx.body = { sub: token.accountId, scope: token.scope ?? '' };
  };
}
