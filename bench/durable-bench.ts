/**
 * Durable write latency must not grow with the database: a 1-row write appends one log entry;
 * the O(database) snapshot happens off the write path. Measured as the p50 latency of sequential
 * awaited 1-row writes (exec -> group commit -> store write -> resolve) on a ~1 MB and a ~50 MB
 * database in the same run, alternating writes between the two so drift hits both alike.
 *
 * Run: `npx tsx bench/durable-bench.ts` (or through bench/run.ts, which calls run()).
 */
import 'fake-indexeddb/auto';
import { pathToFileURL } from 'node:url';
import { openDurableReplica, type DurableReplicaHandle } from '../shared-worker/persistence/durable-replica.js';
import { IdbKeyValueStore } from '../shared-worker/persistence/idb-kv-store.js';
import type { KeyValueStore } from '../shared-worker/persistence/kv-store.js';
import { MemoryKeyValueStore } from '../shared-worker/persistence/memory-kv-store.js';
import { createReplica } from '../shared-worker/replica/replica.js';
import { snapshotWrite } from '../shared-worker/persistence/snapshot-store.js';

const ROW_BYTES = 1000;
const ROUNDS = 6;
const WRITES_PER_ROUND = 50;
const GOAL = 1.5;

/** A store holding a snapshot of a synced table filled to about `megabytes` (setup, not measured). */
async function seededStore(store: KeyValueStore, megabytes: number): Promise<void> {
  const r = await createReplica();
  r.exec('CREATE TABLE items(id TEXT PRIMARY KEY NOT NULL, body BLOB)');
  r.enableSync('items');
  // Fill in chunks until the file (pages in use, incl. the capture tables) reaches the target.
  const fileBytes = () => ['page_count', 'page_size'].map((p) => Number(r.execLocal(`PRAGMA ${p}`).rows[0]![p])).reduce((x, y) => x * y);
  const chunk = 250;
  for (let start = 0; fileBytes() < megabytes * 1024 * 1024; start += chunk) {
    r.exec(`WITH RECURSIVE c(i) AS (SELECT ${start + 1} UNION ALL SELECT i + 1 FROM c WHERE i < ${start + chunk})
      INSERT INTO items SELECT printf('seed-%09d', i), randomblob(${ROW_BYTES}) FROM c`);
  }
  const data = r.export();
  await store.write(snapshotWrite({ snapshotSeq: 0, snapshotBytes: data.byteLength, nodeId: r.nodeId, version: r.getVersion() }, data, []));
  r.close();
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function measure(label: string, makeStore: (name: string) => KeyValueStore): Promise<string> {
  const sizes = [1, 50] as const;
  const dbs: DurableReplicaHandle[] = [];
  const bytes: number[] = [];
  for (const mb of sizes) {
    const store = makeStore(`bench-${label}-${mb}`);
    await seededStore(store, mb);
    const d = await openDurableReplica({ store, createReplica });
    bytes.push(d.logStats().snapshotBytes);
    dbs.push(d);
  }
  const samples: number[][] = sizes.map(() => []);
  const blob = new Uint8Array(100).fill(7);
  let n = 0;
  // Writes alternate between the two databases one by one, so load from the rest of the machine
  // and GC pauses fall on both alike; round 0 only warms up.
  for (let round = 0; round < ROUNDS; round++) {
    for (let w = 0; w < WRITES_PER_ROUND; w++) {
      for (const [i, d] of dbs.entries()) {
        const t0 = performance.now();
        await d.exec('INSERT INTO items VALUES (?, ?)', [`w-${n++}`, blob]);
        if (round > 0) samples[i]!.push(performance.now() - t0);
      }
    }
  }
  for (const d of dbs) await d.close();
  const [small, large] = samples.map((s) => percentile(s, 0.5)) as [number, number];
  const ratio = large / small;
  const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
  return `durable 1-row write: p50 at 50MB / at 1MB = ${ratio.toFixed(2)}x (goal <= ${GOAL}) ${ratio <= GOAL ? 'ok' : 'OVER'}`
    + ` [${label} store; p50 ${small.toFixed(3)} ms at ${mb(bytes[0]!)} MB, ${large.toFixed(3)} ms at ${mb(bytes[1]!)} MB;`
    + ` p90 ${percentile(samples[0]!, 0.9).toFixed(3)} / ${percentile(samples[1]!, 0.9).toFixed(3)} ms]`;
}

export async function run(): Promise<void> {
  console.log(await measure('memory', () => new MemoryKeyValueStore()));
  console.log(await measure('fake-indexeddb', (name) => new IdbKeyValueStore(name)));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
