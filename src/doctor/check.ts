import { sanitizeOutsideText } from '../domain/outside-text.ts';

/** One line of `revoker doctor`: what was checked, whether it passed, and what to do when it did not. */
export interface Check {
  /** `redis`, `slack`, `idp`, `hr`, `workflows`, `scim`, `config`. */
  area: string;
  ok: boolean;
  /** What was found, in a few words. */
  detail: string;
  /** What to change; only on failures. */
  fix?: string;
}

export const pass = (area: string, detail: string): Check => ({ area, ok: true, detail });
export const fail = (area: string, detail: string, fix: string): Check => ({ area, ok: false, detail, fix });

/** `✓ area: detail`, or `✗ area: detail` and an indented `fix:` line. */
export function formatChecks(checks: readonly Check[]): string {
  const lines: string[] = [];
  for (const c of checks) {
    lines.push(`${c.ok ? '✓' : '✗'} ${c.area}: ${c.detail}`);
    if (!c.ok && c.fix) lines.push(`    fix: ${c.fix}`);
  }
  const failed = checks.filter((c) => !c.ok).length;
  lines.push(
    failed === 0
      ? `doctor: all ${checks.length} checks passed`
      : `doctor: ${failed} of ${checks.length} checks failed`,
  );
  // Details quote what servers answered (IdP errors, Slack names): escaped before the terminal.
  return lines.map(sanitizeOutsideText).join('\n');
}
