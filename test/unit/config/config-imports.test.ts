import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Modules of an entry point (a role, a transport, the CLI): settings must not depend on them. */
const ENTRY_POINTS = ['src/hr/', 'src/slack/', 'src/scim/', 'src/gtr/', 'src/cli/', 'src/http/'];

/** The relative modules a source file imports (static, `export … from`, and dynamic `import('…')`). */
function importsOf(file: string): string[] {
  const text = readFileSync(resolve(root, file), 'utf8');
  const specs = [
    ...text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]/gm),
    ...text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
    ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1]!);
  return specs
    .filter((s) => s.startsWith('.'))
    .map((s) =>
      relative(root, resolve(root, dirname(file), s))
        .split('\\')
        .join('/'),
    );
}

/** Every module `file` reaches through relative imports, itself excluded. */
function reachable(file: string): Map<string, string> {
  const via = new Map<string, string>();
  const queue = [file];
  while (queue.length > 0) {
    const current = queue.shift()!;
    for (const dep of importsOf(current)) {
      if (via.has(dep) || dep === file) continue;
      via.set(dep, current);
      if (existsSync(resolve(root, dep))) queue.push(dep);
    }
  }
  return via;
}

describe('src/config.ts', () => {
  it('reads no module of an entry point, directly or through another module', () => {
    const offending = [...reachable('src/config.ts')]
      .filter(([dep]) => ENTRY_POINTS.some((dir) => dep.startsWith(dir)))
      .map(([dep, from]) => `${dep} (imported by ${from})`);
    expect(offending).toEqual([]);
  });

  it('is read as what it is: the check sees its imports', () => {
    // Guards the check itself: a parser that found nothing would pass the test above vacuously.
    const deps = [...reachable('src/config.ts').keys()];
    expect(deps).toContain('src/config/hr-settings.ts');
    expect(deps).toContain('src/domain/errors.ts');
  });
});
