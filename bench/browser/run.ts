// Browser benchmarks (`npm run bench:browser`, after a build): each prints one line with the
// ratio of the library's cost to a raw baseline measured in the same Chromium, same run.
// The in-page benches need no network; the P2P bench (p2p-bench.ts) runs last, in its own
// process, which re-runs itself inside the private network namespace (WebRTC never on the host).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startBrowserSession } from '../../spec/browser/harness/browser-session.js';
import { benchPkQuery } from './pk-query.js';
import { benchChangeLatency } from './change-latency.js';
import { benchColdStart } from './cold-start.js';
import { benchWriteAck } from './write-ack.js';

const benches = { 'pk-query': benchPkQuery, 'write-to-change': benchChangeLatency, 'cold-start': benchColdStart, 'write-ack': benchWriteAck };
const only = process.argv.slice(2);

const session = await startBrowserSession({ crossOriginIsolated: true });
let failed = false;
try {
  for (const [name, bench] of Object.entries(benches)) {
    if (only.length && !only.includes(name)) continue;
    try {
      const lines = await bench(session);
      for (const line of Array.isArray(lines) ? lines : [lines]) console.log(line);
    } catch (e) {
      failed = true;
      console.log(`browser ${name}: FAILED ${e instanceof Error ? e.message : String(e)}`);
      console.log(session.log.dump());
    }
    session.log.clear();
  }
} finally {
  await session.close();
}
if (only.length === 0 || only.includes('p2p')) {
  const p2p = spawnSync('npx', ['tsx', fileURLToPath(new URL('./p2p-bench.ts', import.meta.url))], { stdio: 'inherit' });
  if (p2p.status !== 0) failed = true;
}
process.exitCode = failed ? 1 : 0;
