// Debian's Chromium driven by playwright-core (no browser download).
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * Collects the page's uncaught errors and console errors into sink. 4xx
 * answers a test provokes on purpose are logged by Chromium as failed
 * resource loads: those are not errors of the UI.
 */
export function watchErrors(p: Page, sink: string[]) {
  p.on('pageerror', (err) => sink.push(`pageerror: ${err.message}`));
  p.on('console', (msg) => {
    if (msg.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(msg.text())) {
      sink.push(`console: ${msg.text()}`);
    }
  });
}
