import { accessSync, constants } from 'node:fs';
import type { BrowserName } from './browser-name.js';

interface BrowserLocation {
  /** Environment variable that overrides the default paths. */
  readonly env: string;
  readonly defaults: readonly string[];
  /** The Debian package that provides it. */
  readonly debianPackage: string;
}

const LOCATIONS: Record<BrowserName, BrowserLocation> = {
  chromium: { env: 'CHROME_PATH', defaults: ['/usr/bin/chromium', '/usr/bin/chromium-browser'], debianPackage: 'chromium' },
  firefox: { env: 'FIREFOX_PATH', defaults: ['/usr/bin/firefox-esr', '/usr/bin/firefox'], debianPackage: 'firefox-esr' },
};

/**
 * The browser's binary: its environment variable (CHROME_PATH, FIREFOX_PATH) if set, else the
 * Debian package's binary. Throws a fix-it message otherwise.
 */
export function findBrowser(name: BrowserName, env: NodeJS.ProcessEnv = process.env): string {
  const where = LOCATIONS[name];
  const override = env[where.env];
  const candidates = override ? [override] : where.defaults;
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // try the next one
    }
  }
  throw new Error(
    override
      ? `${where.env}=${override} is not an executable file`
      : `No ${name} found at ${where.defaults.join(' or ')}: run \`apt-get install ${where.debianPackage}\` or set ${where.env}`,
  );
}

/** CHROME_PATH if set, else the Debian `chromium` package's binary. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string {
  return findBrowser('chromium', env);
}
