import { sanitizeOutsideText, truncateGraphemes } from '../domain/outside-text.ts';

/**
 * The one place user-supplied text is made safe for Slack mrkdwn. Slack treats `<…>` as links and
 * mentions (`<!channel>`, `<https://evil|click>`) and `&` as an entity start; escaping these three
 * characters makes any name, reason or IdP display name render as the literal text it is.
 * https://docs.slack.dev/messaging/formatting-message-text#escaping
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const ELLIPSIS = '…';
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * Outside text made safe for Slack mrkdwn and cut so that the ESCAPED text is at most `max` UTF-16 units
 * (what Block Kit limits count): sanitised first (sanitizeOutsideText: lone surrogates, bidi overrides,
 * control characters), then `&`, `<`, `>` escaped (they grow to 4–5 characters, so cutting before escaping
 * is not enough). The cut falls between grapheme clusters (never inside an entity, a flag, a skin-tone
 * emoji, a ZWJ family or a conjunct) and ends in `…`.
 */
export function escapeText(text: string, max = 2900): string {
  const clean = sanitizeOutsideText(text);
  const escaped = escapeMrkdwn(clean);
  if (escaped.length <= max) return escaped;
  let out = '';
  for (const { segment } of graphemes.segment(clean)) {
    const piece = escapeMrkdwn(segment);
    if (out.length + piece.length > max - ELLIPSIS.length) break;
    out += piece;
  }
  return `${out}${ELLIPSIS}`;
}

/** `plain_text` is not parsed by Slack, but has length limits: sanitised, cut by grapheme cluster. */
export function plainText(text: string, max = 75): string {
  return truncateGraphemes(sanitizeOutsideText(text), max);
}

/** Text a person typed into Slack (a reason, their name), as stored: sanitised, cut by grapheme cluster. */
export function slackInput(text: string, max: number): string {
  return truncateGraphemes(sanitizeOutsideText(text), max);
}

/**
 * Outside text for a JSON field Slack limits on its serialised form (`private_metadata`): sanitised and
 * cut so that its JSON-escaped form (without the quotes) is at most `max`.
 */
export function jsonText(text: string, max: number): string {
  return truncateGraphemes(sanitizeOutsideText(text), max, { measure: (s) => JSON.stringify(s).length - 2 });
}

/** A Slack user mention from an id we validated (U…/W…); anything else is shown escaped. */
export function mention(userId: string): string {
  return /^[UW][A-Z0-9]{2,}$/.test(userId) ? `<@${userId}>` : escapeMrkdwn(userId);
}
