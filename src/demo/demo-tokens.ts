import { issueTokens } from '../idaas/authorization-code-flow.ts';
import type { Idaas, Seed } from '../idaas/index.ts';
import { tokenRef } from '../idaas/index.ts';
import { probeTokens } from '../idaas/token-probe.ts';

/** One sign-in of the demo: a user at an application (optionally for an API), with its two tokens. */
export interface DemoGrant {
  label: string;
  user: string;
  app: string;
  resource?: string;
  accessToken: string;
  refreshToken: string;
  /** The admin API's reference of the access token (`tok_…`), never the value. */
  accessTokenId: string;
  /** What the scenario should leave of it. */
  expect: { access: 'dies' | 'lives'; refresh: 'dies' | 'lives'; by?: string };
}

export interface Probe {
  userinfo: number;
  active: boolean;
  refresh: string;
}

/** Signs in through the IDaaS's real authorization-code flow (login form, consent, PKCE, code exchange). */
export async function signIn(
  idaas: Idaas,
  seed: Seed,
  spec: Omit<DemoGrant, 'accessToken' | 'refreshToken' | 'accessTokenId'>,
): Promise<DemoGrant> {
  const user = seed.users.find((u) => u.userId === spec.user);
  const app = seed.applications.find((a) => a.client_id === spec.app);
  const rs = spec.resource ? seed.resourceServers.find((r) => r.id === spec.resource) : undefined;
  if (!user || !app) throw new Error(`demo tenant has no ${spec.user} or ${spec.app}`);
  const tokens = await issueTokens({
    issuerUrl: idaas.issuer,
    user: user.userId,
    password: user.password,
    clientId: app.client_id,
    ...(app.client_secret ? { clientSecret: app.client_secret } : {}),
    redirectUri: app.redirect_uris[0]!,
    ...(rs ? { resource: rs.audience, scope: `openid offline_access ${rs.scopes.join(' ')}` } : {}),
  });
  if (!tokens.refresh_token) throw new Error(`no refresh token for ${spec.label}`);
  return {
    ...spec,
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token,
    accessTokenId: tokenRef(tokens.access_token),
  };
}

/**
 * UserInfo (or the API's whoami), introspection and a refresh, as a client and a resource server would
 * notice. Refresh tokens rotate, so the grant keeps the new one.
 */
export async function probe(idaas: Idaas, seed: Seed, grant: DemoGrant): Promise<Probe> {
  const app = seed.applications.find((a) => a.client_id === grant.app)!;
  const res = await probeTokens({
    issuerUrl: idaas.issuer,
    clientId: app.client_id,
    clientSecret: app.client_secret ?? '',
    accessToken: grant.accessToken,
    refreshToken: grant.refreshToken,
    ...(grant.resource ? { resourceServerId: grant.resource } : {}),
  });
  if (res.refresh?.result === 'ok' && res.refresh.refreshToken) grant.refreshToken = res.refresh.refreshToken;
  return { userinfo: res.userinfo, active: res.introspection.active, refresh: res.refresh?.result ?? 'n/a' };
}

export function alive(p: Probe): { access: boolean; refresh: boolean } {
  return { access: p.userinfo === 200 && p.active, refresh: p.refresh === 'ok' };
}

/** Dead means dead every way: 401 at UserInfo, inactive at introspection, invalid_grant at refresh. */
function endsAsExpected(g: DemoGrant, p: Probe): boolean {
  const access =
    g.expect.access === 'lives' ? p.userinfo === 200 && p.active : p.userinfo === 401 && !p.active;
  const refresh = g.expect.refresh === 'lives' ? p.refresh === 'ok' : p.refresh === 'invalid_grant';
  return access && refresh;
}

/** The before/after table, one row per sign-in; returns the rows that did not end as expected. */
export function printTable(
  grants: DemoGrant[],
  before: Probe[],
  after: Probe[],
  write: (line: string) => void,
): DemoGrant[] {
  const cols = [
    'sign-in',
    'revoked by',
    'before: userinfo/introspect/refresh',
    'after: userinfo/introspect/refresh',
    'ok',
  ];
  const rows = grants.map((g, i) => {
    const b = before[i]!;
    const a = after[i]!;
    const ok = alive(b).access && alive(b).refresh && endsAsExpected(g, a);
    const show = (p: Probe) => `${p.userinfo} / ${p.active ? 'active' : 'inactive'} / ${p.refresh}`;
    return { g, ok, cells: [g.label, g.expect.by ?? '(kept)', show(b), show(a), ok ? 'yes' : 'NO'] };
  });
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r.cells[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  write(line(cols));
  write(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) write(line(r.cells));
  return rows.filter((r) => !r.ok).map((r) => r.g);
}
