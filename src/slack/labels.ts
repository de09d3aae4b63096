import type { Target } from '../domain/target.ts';
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

/** A label for a target when only ids are known (messages rendered from a stored request). */
export function targetLabel(target: Target): string {
  switch (target.kind) {
    case 'token':
      return `token ${target.tokenId} of user ${target.userId}`;
    case 'user':
      return `all tokens of user ${target.userId}`;
    case 'application':
      return `all tokens issued to application ${target.applicationId}`;
    case 'resourceServer':
      return `all tokens issued to resource server ${target.resourceServerId}`;
  }
}
