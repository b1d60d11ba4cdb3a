// Dev entry: `tsx peer-server/cli.ts --port 9000`. The published bin is cli.js (same main, built).
import { runCli } from './index.js';

await runCli(process.argv.slice(2));
