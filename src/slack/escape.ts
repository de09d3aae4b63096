/**
 * The one place user-supplied text is made safe for Slack mrkdwn. Slack treats `<…>` as links and
 * mentions (`<!channel>`, `<https://evil|click>`) and `&` as an entity start; escaping these three
 * characters makes any name, reason or IdP display name render as the literal text it is.
 * https://docs.slack.dev/messaging/formatting-message-text#escaping
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };
const ELLIPSIS = '…';

/**
 * Escaped and cut so that the ESCAPED text is at most `max` characters (UTF-16 code units, what Block
 * Kit limits count): `&`, `<`, `>` grow to 4–5 characters, so cutting before escaping is not enough.
 * The cut never splits an entity (`&am…`) nor a surrogate pair (half an emoji), and ends in `…`.
 */
export function escapeText(text: string, max = 2900): string {
  const escaped = escapeMrkdwn(text);
  if (escaped.length <= max) return escaped;
  let out = '';
  // Iterating a string yields whole code points, so a pair is kept or dropped as one.
  for (const ch of text) {
    const piece = ENTITY[ch] ?? ch;
    if (out.length + piece.length > max - ELLIPSIS.length) break;
    out += piece;
  }
  return `${out}${ELLIPSIS}`;
}

/** `plain_text` fields are not parsed by Slack, but they have length limits; never cuts a surrogate pair. */
export function plainText(text: string, max = 75): string {
  if (text.length <= max) return text;
  let out = '';
  for (const ch of text) {
    if (out.length + ch.length > max - ELLIPSIS.length) break;
    out += ch;
  }
  return `${out}${ELLIPSIS}`;
}

/** A Slack user mention from an id we validated (U…/W…); anything else is shown escaped. */
export function mention(userId: string): string {
  return /^[UW][A-Z0-9]{2,}$/.test(userId) ? `<@${userId}>` : escapeMrkdwn(userId);
}
