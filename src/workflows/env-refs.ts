/** Variables a workflow may read at load: `${NAME}`. */
export type EnvMap = Readonly<Record<string, string | undefined>>;

const REF = /\$\{([^}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Why `text` has a malformed reference, or undefined when its references are all well formed. */
export function checkRefs(text: string): string | undefined {
  for (const m of text.matchAll(REF)) {
    if (!NAME.test(m[1]!)) return `bad reference ${m[0]}: a name is letters, digits and _`;
  }
  if (text.replace(REF, '').includes('${')) return `unclosed reference in ${JSON.stringify(text)}`;
  return undefined;
}

export interface Expansion {
  /** The value with every `${NAME}` replaced (trimmed; unset counts as empty). */
  text: string;
  /** Names referenced. */
  refs: string[];
  /** Names referenced whose value is unset or empty. */
  emptyRefs: string[];
}

export function expandRefs(text: string, env: EnvMap): Expansion {
  const refs: string[] = [];
  const emptyRefs: string[] = [];
  const out = text.replace(REF, (_, name: string) => {
    const value = env[name]?.trim() ?? '';
    refs.push(name);
    if (value === '') emptyRefs.push(name);
    return value;
  });
  return { text: out.trim(), refs, emptyRefs };
}

/** Expands each item, then splits comma lists; an empty expansion contributes nothing. */
export function expandList(items: readonly string[], env: EnvMap): Expansion & { values: string[] } {
  const values: string[] = [];
  const refs: string[] = [];
  const emptyRefs: string[] = [];
  for (const item of items) {
    const e = expandRefs(item, env);
    refs.push(...e.refs);
    emptyRefs.push(...e.emptyRefs);
    for (const v of e.text.split(',')) {
      const id = v.trim();
      if (id !== '' && !values.includes(id)) values.push(id);
    }
  }
  return { text: values.join(','), values, refs, emptyRefs };
}
