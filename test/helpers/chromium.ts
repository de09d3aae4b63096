import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

/**
 * Debian's `chromium` package (`apt-get install chromium`), driven by playwright-core: nothing here
 * downloads a browser. `CHROMIUM_PATH` points elsewhere. Under CI (`CI=true`) a missing browser is a
 * failure (.ci/run installs the package); elsewhere the browser tests are skipped with a notice.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  if (process.env.CI === 'true') {
    throw new Error(`CI=true but ${CHROMIUM_PATH} is missing: install the Debian package "chromium"`);
  }
  console.warn(
    `browser tests skipped: no Chromium at ${CHROMIUM_PATH} (install the Debian package "chromium", or set CHROMIUM_PATH)`,
  );
  return false;
}

/** Flags for a quiet, hermetic headless run: no GPU, no QUIC, no first-run, no background traffic. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A headless Chromium with a fresh profile (--user-data-dir), removed on close. */
export async function launchChromium(options: {
  httpCredentials?: { username: string; password: string };
}): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = await mkdtemp(join(tmpdir(), 'revoker-chromium-'));
  // Playwright passes the profile as --user-data-dir itself (it refuses the flag in `args`).
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_FLAGS,
    timeout: 60_000,
    ...(options.httpCredentials ? { httpCredentials: options.httpCredentials } : {}),
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
