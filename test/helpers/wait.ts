/**
 * Polls `check` every `everyMs` until it returns a value other than undefined, at most `timeoutMs`.
 * For states that announce no event (a row appearing in Redis, an audit entry); prefer awaiting an
 * event wherever one exists.
 */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * `items`, after checking there is at least one: a loop of assertions over an empty list passes
 * without checking anything.
 */
export function nonEmpty<T>(items: readonly T[], what: string): readonly T[] {
  if (items.length === 0) throw new Error(`expected at least one ${what}, got none`);
  return items;
}
