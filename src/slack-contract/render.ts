/** Messages and views as a person would read them (mrkdwn and plain text, without markup), for logs. */
export function renderedLines(args: Record<string, unknown>): string[] {
  const view = args.view as { title?: { text?: string }; blocks?: unknown[] } | undefined;
  const blocks = (args.blocks as unknown[] | undefined) ?? view?.blocks ?? [];
  const lines = [view?.title?.text, ...blocks.flatMap(blockText)].filter((l): l is string => Boolean(l));
  if (lines.length === 0 && typeof args.text === 'string') lines.push(args.text);
  return lines.map(asRendered);
}

function blockText(block: unknown): string[] {
  const b = block as {
    type?: string;
    text?: { text?: string };
    fields?: { text?: string }[];
    elements?: { type?: string; text?: string | { text?: string } }[];
    label?: { text?: string };
  };
  const out: string[] = [];
  if (b.text?.text) out.push(b.text.text);
  for (const f of b.fields ?? []) if (f.text) out.push(f.text);
  if (b.type === 'actions') {
    const buttons = (b.elements ?? [])
      .map((e) => (typeof e.text === 'object' ? e.text?.text : e.text))
      .filter(Boolean);
    if (buttons.length) out.push(buttons.map((t) => `[${t}]`).join(' '));
  } else if (b.type === 'context') {
    for (const e of b.elements ?? []) if (typeof e.text === 'string') out.push(e.text);
  }
  if (b.type === 'input' && b.label?.text) out.push(`${b.label.text}: ____`);
  return out;
}

/** Roughly what Slack renders: entities decoded, line breaks as separators (the text was escaped by us). */
function asRendered(mrkdwn: string): string {
  return mrkdwn.replace(/\n/g, ' · ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Form-encoded Web API args (objects JSON-encoded, as @slack/web-api sends them) or a JSON body. */
export function parseWebApiArgs(raw: string, type: string): Record<string, unknown> {
  if (type.includes('json')) return JSON.parse(raw || '{}') as Record<string, unknown>;
  const args: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    try {
      args[k] = v.startsWith('{') || v.startsWith('[') ? JSON.parse(v) : v;
    } catch {
      args[k] = v;
    }
  }
  return args;
}
