#!/usr/bin/env node
// The `rtc-battery-server` bin: the built server bundle's main. In a checkout, run `npm run build`
// first, or use `npx tsx peer-server/cli.ts` for the sources.
import { runCli } from './dist/server.js';

await runCli(process.argv.slice(2));
