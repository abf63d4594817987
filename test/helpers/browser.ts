/**
 * A real headless Chromium (Debian's `chromium`, driven by playwright-core; no browser download) for the tests of
 * the HTML report and the dashboard. The machine's network is closed: the flags keep Chromium from trying to
 * reach Google's services, and each launch gets a fresh profile directory.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** Why browser tests are skipped here, or null when Chromium is installed (CI installs it: .ci/run). */
export const NO_BROWSER: string | null = existsSync(CHROMIUM) ? null : `${CHROMIUM} is not installed (apt-get install chromium)`;

export async function launchBrowser(): Promise<{ browser: BrowserContext; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'sensor-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1200, height: 900 },
    timeout: 60_000,
  });
  return {
    browser: context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
export type { Browser };
