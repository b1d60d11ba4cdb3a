/**
 * The browsers the suites run on. `spec/browser/run.mjs` runs the suites once per browser and
 * names the one under test in BATTERY_BROWSER; a single run without it uses Chromium.
 */
const BROWSERS = ['chromium', 'firefox'] as const;
export type BrowserName = (typeof BROWSERS)[number];

const BROWSER_ENV = 'BATTERY_BROWSER';

export function isBrowserName(value: string): value is BrowserName {
  return (BROWSERS as readonly string[]).includes(value);
}

/** The browser this test process drives. Throws on an unknown name rather than guessing. */
export function browserUnderTest(env: NodeJS.ProcessEnv = process.env): BrowserName {
  const value = env[BROWSER_ENV];
  if (value === undefined || value === '') return 'chromium';
  if (!isBrowserName(value)) throw new Error(`${BROWSER_ENV}=${value}: expected one of ${BROWSERS.join(', ')}`);
  return value;
}
