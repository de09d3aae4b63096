/**
 * The one place user-supplied text is made safe for Slack mrkdwn. Slack treats `<…>` as links and
 * mentions (`<!channel>`, `<https://evil|click>`) and `&` as an entity start; escaping these three
 * characters makes any name, reason or IdP display name render as the literal text it is.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escaped and cut to `max` characters (Block Kit limits texts; a long reason must not break a message). */
export function escapeText(text: string, max = 2900): string {
  const cut = text.length > max ? `${text.slice(0, max - 1)}…` : text;
  return escapeMrkdwn(cut);
}

/** `plain_text` fields are not parsed by Slack, but they have length limits. */
export function plainText(text: string, max = 75): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A Slack user mention from an id we validated (U…/W…); anything else is shown escaped. */
export function mention(userId: string): string {
  return /^[UW][A-Z0-9]{2,}$/.test(userId) ? `<@${userId}>` : escapeMrkdwn(userId);
}
