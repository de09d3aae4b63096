/**
 * The one boundary function for text that comes from outside (HR and SCIM payloads, IdP names, Slack input)
 * before anyone shows it (Slack, CLI tables, logs): lone surrogates become U+FFFD (they are not text, and
 * break `encodeURIComponent` and JSON consumers), bidirectional overrides and isolates are removed (they can
 * reverse what a reader sees: `alice\u202Emoc.elpmaxe@evil`), and other control characters (C0, DEL, C1,
 * except tab) become U+FFFD so a newline or an ANSI escape cannot forge a row or a line.
 */
export function sanitizeOutsideText(text: string): string {
  return (
    text
      .toWellFormed()
      // U+202A–U+202E (embeddings, overrides), U+2066–U+2069 (isolates), U+200E/U+200F/U+061C (marks).
      .replace(/[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/gu, '')
      // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
      .replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/gu, '\ufffd')
  );
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * Cuts `text` to at most `max` UTF-16 units (what Slack and most limits count) without splitting a grapheme
 * cluster (a flag, a skin-tone emoji, a ZWJ family, a Devanagari conjunct), appending `ellipsis` when cut.
 * `measure` lets a caller count the serialised form (e.g. JSON-escaped length) instead of raw units.
 */
export function truncateGraphemes(
  text: string,
  max: number,
  options: { ellipsis?: string; measure?: (s: string) => number } = {},
): string {
  const measure = options.measure;
  const size = measure ?? ((s: string) => s.length);
  if (size(text) <= max) return text;
  const ellipsis = options.ellipsis ?? '…';
  const budget = max - size(ellipsis);
  let out = '';
  for (const { segment } of graphemes.segment(text)) {
    // Without a custom measure the length adds up segment by segment: no re-measuring (linear).
    if ((measure ? measure(out + segment) : out.length + segment.length) > budget) break;
    out += segment;
  }
  return `${out}${ellipsis}`;
}
