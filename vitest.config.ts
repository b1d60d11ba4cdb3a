import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';

// The browser suites run once per browser (spec/browser/run.mjs runs the projects one after the
// other, inside a private network namespace when one can be made). Three groups of files run once:
const BROWSER_SUITES = ['spec/browser/**/*.test.ts'];
// Node scripts around the demo that drive no browser: in the chromium project.
const DRIVES_NO_BROWSER = ['spec/browser/demo/build-if-stale.test.ts', 'spec/browser/demo/start-script.test.ts'];
// The packed tarball in a fresh app: a check of the package, not of a browser; in the chromium project.
const PACKAGE_CHECKS = ['spec/browser/package/**/*.test.ts'];
// Tests that drive both browsers at once: in the firefox project (its Firefox is already running).
const DRIVES_BOTH_BROWSERS = ['spec/browser/cross-browser/**/*.test.ts'];

// Each project runs one browser for the whole run (harness/shared-browser.ts); every file gets
// fresh users (browser contexts) in it.
const browserProject = {
  include: BROWSER_SUITES,
  environment: 'node',
  testTimeout: 120_000,
  hookTimeout: 120_000,
  fileParallelism: false,
} as const;

// Three projects: `node` runs the fast suites (replica, merge, sync protocol, server) in Node;
// `chromium` and `firefox` drive the real browsers through puppeteer-core (CDP, WebDriver BiDi).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['spec/node/**/*.test.ts'],
          environment: 'node',
          testTimeout: 30_000,
          // vitest 4 runs cores - 1 files at once by default: one on CI's 2-core machine, which left
          // the other core idle for the ~5 minutes of this project. The suites are CPU-bound and
          // share nothing but the loopback interface (every server listens on port 0).
          maxWorkers: Math.max(2, availableParallelism()),
        },
      },
      {
        test: {
          ...browserProject,
          name: 'chromium',
          exclude: [...configDefaults.exclude, ...DRIVES_BOTH_BROWSERS],
          env: { BATTERY_BROWSER: 'chromium' },
          globalSetup: ['spec/browser/harness/shared-browser.ts'],
        },
      },
      {
        test: {
          ...browserProject,
          name: 'firefox',
          exclude: [...configDefaults.exclude, ...DRIVES_NO_BROWSER, ...PACKAGE_CHECKS],
          env: { BATTERY_BROWSER: 'firefox' },
          globalSetup: ['spec/browser/harness/shared-browser.ts'],
        },
      },
    ],
  },
});
