import type { Checker } from './checker.ts';
import { isObj, SOURCES } from './sources.ts';

/** A text object: type, 1..max characters, emoji only on plain_text, mrkdwn `<…>` only as controls. */
export function text(
  c: Checker,
  v: unknown,
  path: string,
  opts: { max: number; plainOnly?: boolean; what: string; source: string },
): void {
  if (!isObj(v)) c.fail(`${opts.what} must be a text object`, path, SOURCES.text);
  const type = v.type;
  if (type !== 'plain_text' && type !== 'mrkdwn') {
    c.fail(`${opts.what}: text object type must be plain_text or mrkdwn`, `${path}/type`, SOURCES.text);
  }
  if (opts.plainOnly && type !== 'plain_text')
    c.fail(`${opts.what} must be plain_text`, `${path}/type`, opts.source);
  if (typeof v.text !== 'string' || v.text.length < 1) {
    c.fail(`${opts.what}: text must be at least 1 character`, `${path}/text`, SOURCES.text);
  }
  if (v.text.length > opts.max) {
    c.fail(`${opts.what} ≤ ${opts.max} characters (got ${v.text.length})`, `${path}/text`, opts.source);
  }
  if (type === 'mrkdwn' && 'emoji' in v)
    c.fail('emoji is only allowed on plain_text', `${path}/emoji`, SOURCES.text);
  if (type === 'mrkdwn') mrkdwn(c, v.text, `${path}/text`);
}

const CONTROL =
  /^(@[UW][A-Z0-9]+|#[CG][A-Z0-9]+|![a-z]+(\^[^|>]*)?|!subteam\^S[A-Z0-9]+|(https?|mailto|slack):[^\s<>]+)(\|[^<>]*)?$/;

/**
 * `<…>` in mrkdwn is a link, mention or special command: Slack parses it, so user text must arrive escaped
 * (`&lt;`). Anything else between angle brackets renders as a broken link (refused here as Slack's parser
 * cannot read it). Revoker itself writes only user and channel mentions and `<!date…>`: a broadcast
 * (`<!channel>`, `<!here>`, `<!everyone>`, special-mentions page) or a link (`<https://x|click>`) can only
 * have come from outside text left unescaped. Slack accepts both, so they are Revoker's rule, noted.
 */
export function mrkdwn(c: Checker, s: string, path: string): void {
  for (const m of s.matchAll(/<([^>]*)>?/g)) {
    const inner = m[1] ?? '';
    const closed = m[0].endsWith('>');
    if (!closed || !CONTROL.test(inner)) {
      c.fail(
        `mrkdwn: "<${inner.slice(0, 40)}${closed ? '>' : ''}" is parsed as a link or mention; escape & < > as &amp; &lt; &gt;`,
        path,
        SOURCES.escaping,
      );
    }
    if (/^!(channel|here|everyone|group)(\|.*)?$/.test(inner)) {
      c.note(
        `mrkdwn: raw "<${inner.slice(0, 20)}>" notifies everyone: outside text left unescaped`,
        path,
        SOURCES.mentions,
      );
    } else if (/^(https?|mailto|slack):/.test(inner)) {
      c.note(
        `mrkdwn: raw link "<${inner.slice(0, 40)}>": outside text left unescaped`,
        path,
        SOURCES.escaping,
      );
    }
  }
}

/** An identifier (action_id, block_id, callback_id, external_id): 1–255 characters. */
export function id(c: Checker, v: unknown, path: string, what: string, source: string): void {
  if (v === undefined) return;
  if (typeof v !== 'string' || v.length === 0 || v.length > 255)
    c.fail(`${what} must be 1–255 characters`, path, source);
}

export function confirm(c: Checker, v: unknown, path: string): void {
  if (v === undefined) return;
  if (!isObj(v)) c.fail('confirm must be a confirmation dialog object', path, SOURCES.confirm);
  const o = { plainOnly: true, source: SOURCES.confirm };
  text(c, v.title, `${path}/title`, { ...o, max: 100, what: 'confirm title' });
  // The current reference describes `text` as plain_text only, ≤ 300.
  text(c, v.text, `${path}/text`, { ...o, max: 300, what: 'confirm text' });
  text(c, v.confirm, `${path}/confirm`, { ...o, max: 30, what: 'confirm button' });
  text(c, v.deny, `${path}/deny`, { ...o, max: 30, what: 'confirm deny button' });
  // Confirmation dialog object: style is "primary" or "danger".
  if (v.style !== undefined && v.style !== 'primary' && v.style !== 'danger') {
    c.fail('confirm style is primary or danger', `${path}/style`, SOURCES.confirm);
  }
}

export function placeholder(c: Checker, v: unknown, path: string, source: string): void {
  if (v === undefined) return;
  text(c, v, `${path}/placeholder`, { max: 150, plainOnly: true, what: 'placeholder', source });
}
