/**
 * Durable writes as the app sees them, `DurableReplica.exec` awaited one by one (exec -> group
 * commit -> store write -> resolve), wall time per write, with snapshots crossing the timed
 * region (their O(database) export() runs on the write path of the group that takes them):
 *
 *   1. p50 latency of a 1-row write on a ~50 MB and a ~1 MB database, both with snapshots due
 *      every 25 log records: the common write must not grow with the database;
 *   2. p99 latency of a 1-row write on the 50 MB database while snapshots are taken (due every
 *      10 records: one background snapshot after another runs while the writes go on) against the
 *      p50 of the same writes on the same database with no snapshot due; the details also give
 *      that database's own p99, the tail this machine adds without any snapshot;
 *   3. memory: what opening the 50 MB database and taking one snapshot adds to the process's
 *      resident memory (sql.js's in-memory file, its page cache, the export buffer; the store's
 *      own copy, which the browser keeps in IndexedDB, was there before), against the file size;
 *      once for a snapshot taken with a group (snapshot()), once for a background one (the kind
 *      the log's thresholds start: the copy's buffer and the stored pieces instead).
 *
 * Writes alternate between the databases one by one (drift and GC hit all alike), in RUNS rounds
 * after a warm-up; the ratio is the median over rounds. Memory store, then fake-indexeddb for (1).
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
import type { SnapshotThresholds } from '../shared-worker/persistence/snapshot-policy.js';
import { snapshotWrite } from '../shared-worker/persistence/snapshot-store.js';
import { benchLine, collectGarbage, median, percentile, RUNS } from './bench-stats.js';

const ROW_BYTES = 1000;
const WRITES_PER_ROUND = 80;
const NO_SNAPSHOT: Partial<SnapshotThresholds> = { records: 1e9, bytes: 1e12 };

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

async function seededCopy(template: MemoryKeyValueStore): Promise<MemoryKeyValueStore> {
  return new MemoryKeyValueStore({ data: new Map(template.data) });
}

const mb = (b: number) => (b / 1024 / 1024).toFixed(1);

/** Writes alternate between `dbs` one by one; per round, each database's latencies (ms). */
async function alternate(dbs: DurableReplicaHandle[], rounds: number): Promise<number[][][]> {
  const blob = new Uint8Array(100).fill(7);
  const out: number[][][] = [];
  let n = 0;
  for (let round = 0; round <= rounds; round++) { // round 0 warms up
    const samples: number[][] = dbs.map(() => []);
    for (let w = 0; w < WRITES_PER_ROUND; w++) {
      for (const [i, d] of dbs.entries()) {
        const t0 = performance.now();
        await d.exec('INSERT INTO items VALUES (?, ?)', [`w-${n++}`, blob]);
        samples[i]!.push(performance.now() - t0);
      }
    }
    if (round > 0) out.push(samples);
  }
  return out;
}

async function sizeRatio(label: string, makeStore: (name: string, mb: number) => Promise<KeyValueStore>): Promise<string> {
  const dbs: DurableReplicaHandle[] = [];
  for (const size of [1, 50]) {
    dbs.push(await openDurableReplica({ store: await makeStore(`bench-${label}-${size}`, size), createReplica, snapshotEvery: { records: 25 }, warn: () => {} }));
  }
  const rounds = await alternate(dbs, RUNS);
  const bytes = dbs.map((d) => d.logStats().snapshotBytes);
  const snapshots = dbs.map((d) => d.logStats().snapshotSeq);
  for (const d of dbs) await d.close();
  const ratios = rounds.map(([small, large]) => percentile(large!, 0.5) / percentile(small!, 0.5));
  const p50 = (i: number) => median(rounds.map((r) => percentile(r[i]!, 0.5))).toFixed(3);
  return benchLine(`durable 1-row write p50 at 50 MB vs at 1 MB, snapshots crossed (${label} store)`, median(ratios), 1.5,
    `p50 ${p50(0)} ms at ${mb(bytes[0]!)} MB, ${p50(1)} ms at ${mb(bytes[1]!)} MB wall; last snapshot at log seq ${snapshots.join(' / ')}`);
}

async function snapshotTail(template: MemoryKeyValueStore): Promise<string> {
  const calm = await openDurableReplica({ store: await seededCopy(template), createReplica, snapshotEvery: NO_SNAPSHOT, warn: () => {} });
  const busy = await openDurableReplica({ store: await seededCopy(template), createReplica, snapshotEvery: { records: 10 }, warn: () => {} });
  const rounds = await alternate([calm, busy], RUNS);
  const taken = busy.logStats().snapshotSeq;
  const bytes = busy.logStats().snapshotBytes;
  await calm.close();
  await busy.close();
  const ratios = rounds.map(([c, b]) => percentile(b!, 0.99) / percentile(c!, 0.5));
  return benchLine(`durable 1-row write p99 while snapshots of a ${mb(bytes)} MB database are taken vs p50 without`, median(ratios), 3.0,
    `p99 ${median(rounds.map((r) => percentile(r[1]!, 0.99))).toFixed(1)} ms vs p50 ${median(rounds.map((r) => percentile(r[0]!, 0.5))).toFixed(3)} ms wall; `
      + `without snapshots p99 ${median(rounds.map((r) => percentile(r[0]!, 0.99))).toFixed(1)} ms (the machine's own tail); last snapshot at log seq ${taken}`);
}

async function memory(template: MemoryKeyValueStore, background: boolean): Promise<string> {
  const store = await seededCopy(template);
  collectGarbage();
  const before = process.memoryUsage().rss;
  const d = await openDurableReplica({ store, createReplica, ...(background ? { snapshotEvery: { records: 1 } } : {}), warn: () => {} });
  await d.exec('INSERT INTO items VALUES (?, ?)', ['m-1', new Uint8Array(10)]); // background: makes a snapshot due
  if (background) await d.settled();
  else await d.snapshot();
  if (d.logStats().snapshotSeq === 0) throw new Error('memory bench: no snapshot was taken');
  collectGarbage();
  const grown = process.memoryUsage().rss - before;
  const bytes = d.logStats().snapshotBytes;
  await d.close();
  return benchLine(`worker memory for a ${mb(bytes)} MB database (open + one ${background ? 'background ' : ''}snapshot, resident) vs the database size`, grown / bytes, 3.0,
    `+${mb(grown)} MB resident`, '<');
}

export async function run(): Promise<void> {
  const template = new MemoryKeyValueStore();
  await seededStore(template, 50);
  const small = new MemoryKeyValueStore();
  await seededStore(small, 1);
  // Background first: resident memory is measured as growth, and what the allocator kept from
  // the first measurement's copies would hide part of the second's.
  console.log(await memory(template, true));
  console.log(await memory(template, false));
  console.log(await sizeRatio('memory', async (_n, size) => seededCopy(size === 1 ? small : template)));
  console.log(await snapshotTail(template));
  console.log(await sizeRatio('fake-indexeddb', async (name, size) => {
    const store = new IdbKeyValueStore(name);
    await seededStore(store, size);
    return store;
  }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
