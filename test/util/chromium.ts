// Debian's Chromium driven by playwright-core for the browser tests (never `npx playwright install`).
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Where Debian's `chromium` package installs the browser. */
const CHROMIUM = '/usr/bin/chromium';

/** Why a browser test must skip, or undefined when Chromium is installed. */
export const chromiumMissing = (): string | undefined =>
  existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is absent: install Debian's chromium to run the browser test`;

/** Headless Chromium with no sandbox, GPU, QUIC or background network traffic (tests talk to 127.0.0.1 only). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
