import { type LeakedTokenReport, NOT_VISIBLE, tokenTypeWords } from '../../intake/leaked-token-service.ts';
import type { ModalView } from '../block-kit.ts';
import { context, plain, section } from '../block-kit.ts';
import { escapeText } from '../escape.ts';
import { CallbackId } from '../ids.ts';
import { reasonInput } from './confirm-modal.ts';

/**
 * The confirmation for a pasted token: what introspection said (owner, client, resource, expiry) and
 * a required reason. It carries only the handle of the value held in memory, never the value.
 */
export function buildLeakedConfirmModal(r: LeakedTokenReport, handle: string): ModalView {
  const words = tokenTypeWords(r.type);
  const what = `${/^[aeiou]/i.test(words) ? 'an' : 'a'} ${words}`;
  const owner = r.ownerName ? `${r.ownerName} (${r.subject})` : (r.subject ?? r.username ?? 'unknown');
  const facts = r.active
    ? [
        `*Owner:* ${escapeText(owner, 300)}`,
        ...(r.username && r.username !== owner ? [`*Username:* ${escapeText(r.username, 200)}`] : []),
        `*Application (client):* ${escapeText(r.clientId ?? 'unknown', 200)}`,
        ...(r.audience ? [`*Resource:* ${escapeText(r.audience.join(', '), 300)}`] : []),
        ...(r.scopes ? [`*Scopes:* ${escapeText(r.scopes.join(' '), 300)}`] : []),
        `*Expires:* ${escapeText(r.expiresAt ?? 'unknown', 64)}`,
      ]
    : [
        `No configured client sees it active: expired, revoked, unknown, or issued to a client not in OAUTH_CLIENTS. Revoking sends it to each configured client; if none can see it, the result is "could not confirm" (${NOT_VISIBLE}).`,
      ];
  return {
    type: 'modal',
    callback_id: CallbackId.LeakedConfirm,
    title: plain('Revoke Tokens'),
    submit: plain('Revoke'),
    close: plain('Cancel'),
    private_metadata: JSON.stringify({ handle }),
    blocks: [
      section(`You are about to revoke *${what}* that leaked: \`${escapeText(r.tokenId, 64)}\`.`),
      section(facts.join('\n')),
      section(
        ':warning: It stops working at once, revoked with its own application’s credentials (RFC 7009); the identity provider may end the other tokens of the same sign-in with it.',
      ),
      reasonInput('Where did it leak? (kept in the audit log)'),
      context(
        'The token itself is not shown, stored or logged; it is held in memory until you confirm (15 minutes).',
      ),
    ],
  };
}
