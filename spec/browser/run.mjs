#!/usr/bin/env node
// Runs the browser suites (`vitest --project browser`) inside a private network namespace when one
// can be made (see harness/private-network.mjs), else on the host network.
// Builds nothing: `npm test` / `npm run test:browser` run `npm run build` first.
// Extra arguments are passed to vitest (e.g. a file filter).
// The namespace has no npm registry, so the packed-app test's fresh install is made here first
// (when that test is selected: no filter, or a filter naming it).
import { fileURLToPath } from 'node:url';
import { preparePackedApp } from './harness/packed-app.mjs';
import { runInPrivateNetwork } from './harness/private-network.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
if (filters.length === 0 || filters.some((f) => 'spec/browser/package/packed-app.test.ts'.includes(f) || f.includes('packed-app'))) {
  console.log('spec/browser/run.mjs: packing rtc-battery and installing it into a fresh app ...');
  preparePackedApp(root);
}
runInPrivateNetwork(['npx', 'vitest', 'run', '--project', 'browser', ...process.argv.slice(2)], { cwd: root, label: 'spec/browser/run.mjs' });
