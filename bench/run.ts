/**
 * `npm run bench [-- name ...]`: runs every bench/<name>.bench.ts in file-name order, or only the named
 * ones. Exits 0 when every bench ran (a MISS is a printed result, not a failure), 1 when one threw,
 * 2 for an unknown name. Exits explicitly so a bench's leftover handle cannot hang the run.
 */
import { readdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SUFFIX = '.bench.ts';
const dir = fileURLToPath(new URL('.', import.meta.url));

interface BenchModule {
  default: () => Promise<void>;
}

const available = (await readdir(dir))
  .filter((file) => file.endsWith(SUFFIX))
  .map((file) => file.slice(0, -SUFFIX.length))
  .sort();
const requested = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
const unknown = requested.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown ${unknown.join(', ')}; available: ${available.join(', ')}\n`);
  process.exit(2);
}
const selected = requested.length > 0 ? available.filter((name) => requested.includes(name)) : available;

let failed = 0;
for (const name of selected) {
  const started = Date.now();
  try {
    const mod = (await import(pathToFileURL(`${dir}${name}${SUFFIX}`).href)) as BenchModule;
    await mod.default();
    process.stdout.write(`-- ${name}: done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  } catch (err) {
    failed++;
    process.stderr.write(
      `-- ${name}: FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
  }
}
process.exit(failed > 0 ? 1 : 0);
