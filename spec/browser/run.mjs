#!/usr/bin/env node
// Runs the browser suites (`vitest --project browser`) inside a private network namespace when one
// can be made (see harness/private-network.mjs), else on the host network.
// Builds nothing: `npm test` / `npm run test:browser` run `npm run build` first.
// Extra arguments are passed to vitest (e.g. a file filter).
import { fileURLToPath } from 'node:url';
import { runInPrivateNetwork } from './harness/private-network.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
runInPrivateNetwork(['npx', 'vitest', 'run', '--project', 'browser', ...process.argv.slice(2)], { cwd: root, label: 'spec/browser/run.mjs' });
