#!/usr/bin/env node
// Runs the browser suites inside a private network namespace when one can be made (see
// harness/private-network.mjs), else on the host network: the vitest project of each browser,
// one after the other (Chromium, then Firefox).
// Builds nothing: `npm test` / `npm run test:browser` run `npm run build` first.
// `--browser chromium|firefox` (or `--browser=...`) runs one browser only; other arguments are
// passed to vitest (e.g. a file filter).
import { fileURLToPath } from 'node:url';
import { runInPrivateNetwork } from './harness/private-network.mjs';
import { parseBrowserArgs } from './harness/each-browser.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { browsers, vitestArgs } = parseBrowserArgs(process.argv.slice(2));
runInPrivateNetwork(['node', 'spec/browser/harness/each-browser.mjs', `--browser=${browsers.join(',')}`, ...vitestArgs], {
  cwd: root,
  label: 'spec/browser/run.mjs',
});
