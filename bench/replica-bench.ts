/**
 * What a write costs through the path an app takes, `DurableReplica.exec` over the memory store
 * (capture, the commit's change set for the durable log and peers, the log record, the group
 * commit), as ratios against plain sql.js running the same SQL in the same run. Rows of
 * (id TEXT PRIMARY KEY NOT NULL, a TEXT, b INTEGER, c TEXT) with random 32-char ids; medians over
 * RUNS interleaved runs of CPU time (bench-stats.ts).
 *
 *   insert 100k       one exec: INSERT ... SELECT FROM json_each(?) of 100k rows
 *   update 100k       one exec: UPDATE ... FROM json_each(?) setting b of the 100k rows by key, in
 *                     random order, plus the fold of the update log that follows it (paid at the
 *                     next read of registers)
 *   single-row 2000   2,000 awaited exec calls of a one-row INSERT vs 2,000 db.run() calls
 *   apply 100k        applyChanges of 100k remote rows into a replica that holds the same keys with
 *                     older stamps (every register is taken), against the plain insert
 *
 * Run: `npx tsx bench/replica-bench.ts` or `npm run bench` (bench/run.ts calls run()).
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import initSqlJs from 'sql.js';
import type { Database } from 'sql.js';
import type { SqlValue } from '../shared-worker/replica/contracts/change-set.js';
import { openDurableReplica } from '../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../shared-worker/persistence/memory-kv-store.js';
import { createReplica } from '../shared-worker/replica/replica.js';
import type { DurableReplica } from '../shared-worker/replica/contracts/replica-types.js';
import { benchLine, cpuMs, interleaved, median, RUNS } from './bench-stats.js';

const ROWS = 100_000;
const SINGLE = 2_000;
const DDL = 'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, a TEXT, b INTEGER, c TEXT); CREATE TABLE s(id TEXT PRIMARY KEY NOT NULL, a TEXT, b INTEGER, c TEXT)';
const BULK_INSERT = 'INSERT INTO t SELECT value->>0, value->>1, value->>2, value->>3 FROM json_each(?)';
const BULK_UPDATE = 'UPDATE t SET b = j.value->>1 FROM json_each(?) j WHERE t.id = j.value->>0';
const ONE_ROW = 'INSERT INTO s VALUES (?, ?, ?, ?)';

const word = (n: number) => randomUUID().replace(/-/g, '').slice(0, n);
const makeRows = (n: number): SqlValue[][] => Array.from({ length: n }, (_, i) => [word(32), word(20), i, word(12)]);

async function durable(nodeId?: string): Promise<DurableReplica> {
  const d = await openDurableReplica({ store: new MemoryKeyValueStore(), createReplica, replicaOptions: nodeId ? { nodeId } : {}, warn: () => {} });
  await d.exec(DDL);
  await d.enableSync('t');
  await d.enableSync('s');
  return d;
}

function plainDb(SQL: Awaited<ReturnType<typeof initSqlJs>>): Database {
  const db = new SQL.Database();
  // The connection settings the replica uses (sql-database.ts), so only the library's work differs.
  db.run('PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = MEMORY');
  db.exec(DDL);
  return db;
}

export async function run(): Promise<string[]> {
  const SQL = await initSqlJs();
  const t = { plainInsert: [] as number[], insert: [] as number[], plainUpdate: [] as number[], update: [] as number[],
    plainSingle: [] as number[], single: [] as number[], apply: [] as number[] };
  for (let run = 0; run < RUNS; run++) {
    const rows = makeRows(ROWS);
    const json = JSON.stringify(rows);
    const updates = JSON.stringify(rows.map((r, i) => [r[0], i * 7]).sort(() => Math.random() - 0.5));
    const singles = makeRows(SINGLE);
    const plain = plainDb(SQL);
    const d = await durable();
    await interleaved(run, [
      async () => { t.plainInsert.push(await cpuMs(() => plain.run(BULK_INSERT, [json]))); },
      async () => { t.insert.push(await cpuMs(() => d.exec(BULK_INSERT, [json]))); },
    ]);
    await interleaved(run, [
      async () => { t.plainUpdate.push(await cpuMs(() => plain.run(BULK_UPDATE, [updates]))); },
      async () => { t.update.push(await cpuMs(async () => {
        await d.exec(BULK_UPDATE, [updates]);
        d.changesSince(d.getVector()); // folds the update log, finds nothing to send
      })); },
    ]);
    await interleaved(run, [
      async () => { t.plainSingle.push(await cpuMs(() => { for (const r of singles) plain.run(ONE_ROW, r as never); })); },
      async () => { t.single.push(await cpuMs(async () => { for (const r of singles) await d.exec(ONE_ROW, r); })); },
    ]);
    plain.close();
    await d.close();

    // Remote apply: the receiver wrote the keys first (older stamps), the sender later.
    const receiver = await durable('a0000000000000a1');
    await receiver.exec(BULK_INSERT, [json]);
    const sender = await durable('a0000000000000b2');
    await sender.exec(BULK_INSERT, [JSON.stringify(rows.map(([id, , b]) => [id, word(20), b, word(12)]))]);
    const batch = sender.changesSince({}, { tables: ['t'] });
    await sender.close();
    t.apply.push(await cpuMs(() => receiver.applyChanges(batch)));
    await receiver.close();
  }
  const ms = (xs: number[]) => `${median(xs).toFixed(0)} ms`;
  const single = (xs: number[]) => `${(median(xs) / SINGLE * 1000).toFixed(0)} us/write`;
  return [
    benchLine('write insert 100k rows in one exec (durable, memory store) vs plain sql.js', median(t.insert) / median(t.plainInsert), 2.0,
      `${ms(t.insert)} vs ${ms(t.plainInsert)} CPU`),
    benchLine('write update 100k rows in one exec + fold (durable, memory store) vs plain sql.js', median(t.update) / median(t.plainUpdate), 2.0,
      `${ms(t.update)} vs ${ms(t.plainUpdate)} CPU`),
    benchLine('write 2000 single-row exec calls (durable, memory store) vs 2000 plain sql.js statements', median(t.single) / median(t.plainSingle), 3.0,
      `${single(t.single)} vs ${single(t.plainSingle)} CPU`),
    benchLine('apply 100k remote rows over older stamps (durable, memory store) vs plain insert', median(t.apply) / median(t.plainInsert), 3.0,
      `${ms(t.apply)} vs ${ms(t.plainInsert)} CPU`),
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const line of await run()) console.log(line);
}
