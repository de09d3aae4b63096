import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { RefusalRecorder } from '../../audit/refusal-log.ts';
import type { LoginThrottle } from '../../http/login-throttle.ts';
import type { UserDirectory } from '../directory/user-directory.ts';
import { readBody } from '../http/read-body.ts';
import { consentPage, loginPage } from './pages.ts';

const ROUTE = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm|abort))?$/;
const FORM_LIMIT = 16 * 1024;

/**
 * Password sign-in throttles: failures counted in Redis per client address and per account (the login
 * as typed, lower-cased), each locking out after too many (src/http/login-throttle.ts, as the
 * dashboard), and refusals counted in the audit log (`idaas.login_rejected`).
 */
export interface SignInThrottle {
  byAddress: LoginThrottle;
  byAccount: LoginThrottle;
  refusals?: RefusalRecorder;
}

/** Koa middleware for the login and consent pages (`/interaction/:uid[/login|/confirm|/abort]`). */
export function interactionRoutes(
  provider: Provider,
  users: UserDirectory,
  throttle?: SignInThrottle,
): Middleware {
  return async (ctx, next) => {
    const match = ROUTE.exec(ctx.path);
    if (!match) return next();
    const action = match[2];
    ctx.set('cache-control', 'no-store');
    // The Allow button must not be framed by another site (clickjacking): CSP Level 2 frame-ancestors,
    // and X-Frame-Options for browsers without it (RFC 7034).
    ctx.set('content-security-policy', "frame-ancestors 'none'");
    ctx.set('x-frame-options', 'DENY');
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const client = await provider.Client.find(String(details.params.client_id));
    const clientName = client?.clientName ?? String(details.params.client_id);

    if (ctx.method === 'GET' && action === undefined) {
      ctx.type = 'html';
      ctx.body =
        details.prompt.name === 'login'
          ? loginPage({ uid: details.uid, clientName })
          : consentPage({ uid: details.uid, clientName, scopes: requestedScopes(details.prompt.details) });
      return;
    }
    if (ctx.method !== 'POST') return next();

    let result: Parameters<Provider['interactionResult']>[2];
    if (action === 'login') {
      const form = new URLSearchParams((await readBody(ctx.req, FORM_LIMIT)).toString('utf8'));
      const login = form.get('login') ?? '';
      const address = ctx.req.socket.remoteAddress ?? 'unknown';
      const account = login.trim().toLowerCase();
      if (throttle) {
        const wait = Math.max(
          await throttle.byAddress.retryAfter(address),
          await throttle.byAccount.retryAfter(account),
        );
        if (wait > 0) {
          // Locked out: the password is not even compared, so guessing on is pointless.
          throttle.refusals?.record({
            action: 'idaas.login_rejected',
            actor: { source: 'idaas', id: 'unverified' },
            reason: 'locked_out',
            excerpt: address,
          });
          ctx.status = 429;
          ctx.set('retry-after', String(wait));
          ctx.type = 'html';
          ctx.body = loginPage({
            uid: details.uid,
            clientName,
            login,
            error: `Too many failed sign-ins. Try again in ${Math.ceil(wait / 60)} minute(s).`,
          });
          return;
        }
      }
      const auth = await users.authenticate(login, form.get('password') ?? '');
      if (throttle) {
        if (auth.ok) {
          await Promise.all([throttle.byAddress.succeed(address), throttle.byAccount.succeed(account)]);
        } else if (auth.reason === 'invalid') {
          await Promise.all([throttle.byAddress.fail(address), throttle.byAccount.fail(account)]);
          throttle.refusals?.record({
            action: 'idaas.login_rejected',
            actor: { source: 'idaas', id: 'unverified' },
            reason: 'wrong_credentials',
            excerpt: address,
          });
        }
      }
      if (!auth.ok) {
        ctx.status = auth.reason === 'disabled' ? 403 : 401;
        ctx.type = 'html';
        ctx.body = loginPage({
          uid: details.uid,
          clientName,
          login,
          error:
            auth.reason === 'disabled'
              ? 'This account is disabled. Contact your administrator.'
              : 'Invalid user id, email or password.',
        });
        return;
      }
      // Past every "sign in again" mark of the user: this session, and only this one, is newer than them.
      result = { login: { accountId: auth.user.id, ts: users.loginTsAfterMarks(auth.user.id) } };
    } else if (action === 'confirm') {
      result = { consent: { grantId: await grantConsent(provider, details) } };
    } else {
      result = { error: 'access_denied', error_description: 'the user denied the request' };
    }
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
      mergeWithLastSubmission: action !== 'login',
    });
    ctx.status = 303;
    ctx.redirect(returnTo);
  };
}

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

/** Grants whatever the prompt says is missing: OIDC scopes, claims and resource scopes. */
async function grantConsent(provider: Provider, details: Details): Promise<string> {
  const accountId = details.session?.accountId;
  if (!accountId) throw new Error('consent without a signed-in session');
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId, clientId: String(details.params.client_id) });
  if (!grant) throw new Error('grant of the interaction not found');
  const d = details.prompt.details as {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
  if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return grant.save();
}

function requestedScopes(details: Record<string, unknown>): string[] {
  const oidc = Array.isArray(details.missingOIDCScope) ? (details.missingOIDCScope as string[]) : [];
  const resources = (details.missingResourceScopes ?? {}) as Record<string, string[]>;
  return [
    ...oidc,
    ...Object.entries(resources).flatMap(([indicator, scopes]) => scopes.map((s) => `${s} (${indicator})`)),
  ];
}
