import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';

/** Debian's Chromium; never a downloaded browser. `CHROMIUM_PATH` overrides it. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** True when `CALLTRACK_REQUIRE_BROWSER=1`: a missing Chromium fails the run instead of skipping. */
export const browserRequired = process.env.CALLTRACK_REQUIRE_BROWSER === '1';

/** Where screenshots are kept as test artifacts: `test-results/screenshots/` at the repository root. */
export const screenshotDirectory = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../../test-results/screenshots',
);

// Without the background-networking flags Chromium keeps dialling Google's hosts, which this
// machine's closed network refuses; the rest keep a headless run quiet and deterministic.
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/**
 * Launches headless Debian Chromium through playwright-core, or returns undefined when it is not
 * installed (so suites can skip locally). With `CALLTRACK_REQUIRE_BROWSER=1` a missing browser throws.
 */
export async function launchTestBrowser(): Promise<Browser | undefined> {
  if (!existsSync(chromiumPath)) {
    if (browserRequired) {
      throw new Error(`CALLTRACK_REQUIRE_BROWSER=1 but there is no Chromium at ${chromiumPath}`);
    }
    return undefined;
  }
  // Loaded here, not at the top: every test and bench that imports test-utils would otherwise pay
  // for loading playwright-core (about 5 % of CPU in whole-process bench profiles).
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
}

/** Saves a full-page screenshot as `test-results/screenshots/<name>.png` and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  await mkdir(screenshotDirectory, { recursive: true });
  const path = join(screenshotDirectory, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
