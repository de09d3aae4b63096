#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so `npx revoker` works right after `npm ci`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major !== 24 && major !== 22) {
  // Node.js 24 LTS and 22 are supported; on any other, re-run this command on Node 24 (bin/with-node
  // fetches it from the npm registry into .node/24 once) rather than fail deep inside a dependency.
  const withNode = fileURLToPath(new URL('./with-node', import.meta.url));
  const self = fileURLToPath(import.meta.url);
  // Node flags given to this process (e.g. --max-semi-space-size) go along to the re-run.
  const args = [withNode, 'node', ...process.execArgv, self, ...process.argv.slice(2)];
  const run = spawnSync('bash', args, { stdio: 'inherit' });
  process.exit(run.status ?? 1);
}

const { register } = await import('tsx/esm/api');
register();
await import('../src/main.ts');
