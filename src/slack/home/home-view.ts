import type { RequestRecord } from '../../intake/types.ts';
import type { HomeView, KnownBlock } from '../block-kit.ts';
import { context, mrkdwn, plain, section, slackDate } from '../block-kit.ts';
import { escapeText } from '../escape.ts';
import { connectionLines } from '../messages/connection-lines.ts';
import {
  approvalButtons,
  impactSummary,
  requesterText,
  statusLine,
  targetText,
} from '../messages/request-summary.ts';

/** Each list is capped so the tab stays under Slack's 100-block limit. */
export const HOME_LIST_LIMIT = 10;

function requestBlock(r: RequestRecord, withButtons: boolean): KnownBlock[] {
  const blocks: KnownBlock[] = [
    section(
      `*${targetText(r)}*\n${statusLine(r)}\nRequested by ${requesterText(r)} · ${slackDate(r.createdAt)} · impact ${impactSummary(r)}\nReason: ${escapeText(r.reason || '—', 300)}`,
    ),
  ];
  if (withButtons) {
    blocks.push(approvalButtons(`home_approval_${r.id}`.slice(0, 255), r.id));
  }
  // One line per connection under the request (its own block would break the tab's 100 blocks at 10 a list).
  const lines = connectionLines(r, 1500);
  blocks.push(context(`Request \`${escapeText(r.id, 128)}\`${lines ? `\n${lines}` : ''}`));
  return blocks;
}

function list(title: string, empty: string, items: RequestRecord[], withButtons: boolean): KnownBlock[] {
  const blocks: KnownBlock[] = [{ type: 'header', text: plain(title) }];
  if (items.length === 0) blocks.push(context(empty));
  for (const r of items.slice(0, HOME_LIST_LIMIT)) blocks.push(...requestBlock(r, withButtons));
  blocks.push({ type: 'divider' });
  return blocks;
}

/** App Home: what waits for me, what I asked for, what HR revoked. Pure. */
export function buildHomeView(input: {
  mine: RequestRecord[];
  awaiting: RequestRecord[];
  /** HR/SCIM offboardings; undefined hides the section (only admins and approvers see it). */
  hr: RequestRecord[] | undefined;
  /** A one-off message, e.g. why an Approve click was refused (Home has no ephemeral messages). */
  notice?: string;
}): HomeView {
  const blocks: KnownBlock[] = [];
  if (input.notice)
    blocks.push({ type: 'section', text: mrkdwn(`:warning: ${escapeText(input.notice, 1000)}`) });
  blocks.push(
    ...list('Waiting for my approval', 'Nothing is waiting for you.', input.awaiting, true),
    ...list(
      'My recent requests',
      'You have not asked for any revocation yet. Try `/revoke`.',
      input.mine,
      false,
    ),
  );
  if (input.hr) blocks.push(...list('Recent HR offboarding revocations', 'None.', input.hr, false));
  return { type: 'home', blocks };
}
