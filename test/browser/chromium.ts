import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it). Never a downloaded build. */
export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export const chromiumAvailable = existsSync(CHROMIUM);

/**
 * `describe` when Chromium is installed; otherwise the suite is skipped and says so in a banner on
 * stderr, so a machine without it never passes the browser tests quietly.
 */
export const describeWithChromium: jest.Describe = chromiumAvailable
  ? describe
  : (() => {
      const rule = '!'.repeat(78);
      process.stderr.write(
        `\n${rule}\n!! BROWSER TESTS SKIPPED: ${CHROMIUM} is missing (apt-get install -y chromium; .ci/run does).\n!! The web console (himas ui) was NOT tested in a browser here.\n${rule}\n\n`,
      );
      return describe.skip;
    })();

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}
