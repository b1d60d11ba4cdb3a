import { accessSync, constants } from 'node:fs';

const DEFAULT_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** CHROME_PATH if set, else the Debian `chromium` package's binary. Throws a fix-it message otherwise. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string {
  const candidates = env.CHROME_PATH ? [env.CHROME_PATH] : DEFAULT_PATHS;
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // try the next one
    }
  }
  throw new Error(
    env.CHROME_PATH
      ? `CHROME_PATH=${env.CHROME_PATH} is not an executable file`
      : `No Chromium found at ${DEFAULT_PATHS.join(' or ')}: run \`apt-get install chromium\` or set CHROME_PATH`,
  );
}
