import type { types } from '@slack/bolt';

/** Block Kit types, re-exported from Bolt so no module imports @slack/types (a transitive dependency). */
export type KnownBlock = types.KnownBlock;
export type ModalView = types.ModalView;
export type HomeView = types.HomeView;
export type PlainTextOption = types.PlainTextOption;
export type SectionBlock = types.SectionBlock;
export type ActionsBlock = types.ActionsBlock;
export type Button = types.Button;

/** A message body for chat.postMessage / chat.update: `text` is the notification fallback. */
export interface MessageBody {
  text: string;
  blocks: KnownBlock[];
}

/**
 * `verbatim: true` on every mrkdwn text: Slack then links only the markup we write (`<@U…>`, `<#C…>`,
 * `<!date…>`), never a URL, `#channel` or `@name` that happens to be in an IdP name, a reason or an HR
 * field (https://docs.slack.dev/reference/block-kit/composition-objects/text-object).
 */
export const mrkdwn = (text: string) => ({ type: 'mrkdwn' as const, text, verbatim: true });
export const plain = (text: string) => ({ type: 'plain_text' as const, text, emoji: true });
export const section = (text: string): SectionBlock => ({ type: 'section', text: mrkdwn(text) });
export const context = (text: string): KnownBlock => ({ type: 'context', elements: [mrkdwn(text)] });

/** Slack renders `<!date^…>` in the reader's time zone, with the ISO string as fallback. */
export function slackDate(iso: string | undefined): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  return `<!date^${Math.floor(t / 1000)}^{date_short_pretty} {time}|${new Date(t).toISOString()}>`;
}
