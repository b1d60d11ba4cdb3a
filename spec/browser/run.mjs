#!/usr/bin/env node
// Runs the browser suites inside a private network namespace when one can be made (see
// harness/private-network.mjs), else on the host network: the vitest project of each browser,
// one after the other (Chromium, then Firefox).
// Builds nothing: `npm test` / `npm run test:browser` run `npm run build` first.
// `--browser chromium|firefox` (or `--browser=...`) runs one browser only; other arguments are
// passed to vitest (e.g. a file filter).
// The namespace has no npm registry, so the packed-app test's fresh install is made here first
// (when that test is selected: no filter, or a filter naming it).
import { fileURLToPath } from 'node:url';
import { preparePackedApp } from './harness/packed-app.mjs';
import { runInPrivateNetwork } from './harness/private-network.mjs';
import { parseBrowserArgs } from './harness/each-browser.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { browsers, vitestArgs } = parseBrowserArgs(process.argv.slice(2));
const filters = vitestArgs.filter((a) => !a.startsWith('-'));
if (browsers.includes('chromium') && (filters.length === 0 || filters.some((f) => 'spec/browser/package/packed-app.test.ts'.includes(f) || f.includes('packed-app')))) {
  console.log('spec/browser/run.mjs: packing rtc-battery and installing it into a fresh app ...');
  preparePackedApp(root);
}
runInPrivateNetwork(['node', 'spec/browser/harness/each-browser.mjs', `--browser=${browsers.join(',')}`, ...vitestArgs], {
  cwd: root,
  label: 'spec/browser/run.mjs',
});
