import type { IdpApplication, IdpResourceServer, IdpUser, TokenInfo } from '../identity/port.ts';

/** Human labels for IdP objects. Raw (unescaped): callers escape for mrkdwn or cut for plain_text. */
export function userLabel(u: IdpUser): string {
  const name = u.displayName ? `${u.displayName} ` : '';
  const email = u.email && u.email !== u.userName ? `, ${u.email}` : '';
  return `${name}(${u.userName}${email})`.trim();
}

export function applicationLabel(a: IdpApplication): string {
  return a.name === a.id ? a.name : `${a.name} (${a.id})`;
}

export function resourceServerLabel(r: IdpResourceServer): string {
  return r.audience ? `${r.name} (${r.audience})` : `${r.name} (${r.id})`;
}

export function tokenLabel(t: TokenInfo): string {
  return `${t.id} · ${t.type === 'refresh_token' ? 'refresh' : 'access'} · ${t.applicationId ?? 'unknown app'}`;
}
