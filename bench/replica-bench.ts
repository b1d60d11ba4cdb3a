/**
 * What change capture and merging cost, as ratios against plain sql.js measured in the same run:
 * 100k rows of (id TEXT PRIMARY KEY NOT NULL, a TEXT, b INTEGER, c TEXT) with random 36-char ids,
 * one transaction, one prepared statement, medians of interleaved runs. Times are this process's
 * CPU time (process.cpuUsage), not wall time: the work is single-threaded, and CPU time stays
 * meaningful on a machine shared with other jobs (wall time there swings by 2x between runs).
 *
 * Run: `npx tsx bench/replica-bench.ts` or `npm run bench` (bench/run.ts calls run()).
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import initSqlJs from 'sql.js';
import type { Database } from 'sql.js';
import { createReplica } from '../shared-worker/replica/replica.js';
import type { Replica } from '../shared-worker/replica/contracts/replica-types.js';
import type { SqlValue } from '../shared-worker/replica/contracts/change-set.js';

const ROWS = 100_000;
const RUNS = 5;
const DDL = 'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, a TEXT, b INTEGER, c TEXT)';
const INSERT = 'INSERT INTO t VALUES (?, ?, ?, ?)';
const UPDATE = 'UPDATE t SET b = ? WHERE id = ?';

type Bulk = Replica & { execMany(sql: string, rows: SqlValue[][]): void };

function word(n: number): string {
  return randomUUID().replace(/-/g, '').slice(0, n);
}

function makeRows(): SqlValue[][] {
  return Array.from({ length: ROWS }, (_, i) => [randomUUID(), word(20), i, word(12)]);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// Collect garbage before each measurement, so one side does not pay for the other's garbage
// (the synced side builds large change sets between measurements).
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

/** CPU milliseconds spent in f. */
function time(f: () => void): number {
  collectGarbage();
  const t0 = process.cpuUsage();
  f();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1000;
}

function plainLoad(db: Database, sql: string, rows: SqlValue[][]): void {
  const stmt = db.prepare(sql);
  db.run('BEGIN');
  for (const r of rows) {
    stmt.bind(r as never);
    stmt.step();
    stmt.reset();
  }
  db.run('COMMIT');
  stmt.free();
}

async function syncedReplica(): Promise<Bulk> {
  const r = (await createReplica()) as Bulk;
  r.exec(DDL);
  r.enableSync('t');
  return r;
}

export async function run(): Promise<string[]> {
  const SQL = await initSqlJs();
  const t = { plainInsert: [] as number[], syncedInsert: [] as number[], plainUpdate: [] as number[], syncedUpdate: [] as number[], fold: [] as number[], apply: [] as number[], reapply: [] as number[], bytesPlain: 0, bytesSynced: 0 };
  for (let run = 0; run < RUNS; run++) {
    const rows = makeRows();
    const updates = rows.map((r, i) => [i * 7, r[0]!]).sort(() => Math.random() - 0.5);

    const plain = new SQL.Database();
    // The same connection settings the replica uses (sql-database.ts), so only capture differs.
    plain.run('PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = MEMORY');
    plain.run(DDL);
    const synced = await syncedReplica();
    // Interleave: alternate which side goes first so drift and GC hit both alike.
    const steps: Array<() => void> = [
      () => t.plainInsert.push(time(() => plainLoad(plain, INSERT, rows))),
      () => t.syncedInsert.push(time(() => synced.execMany(INSERT, rows))),
    ];
    if (run % 2) steps.reverse();
    steps.forEach((s) => s());
    const upd: Array<() => void> = [
      () => t.plainUpdate.push(time(() => plainLoad(plain, UPDATE, updates))),
      () => t.syncedUpdate.push(time(() => synced.execMany(UPDATE, updates))),
    ];
    if (run % 2) upd.reverse();
    upd.forEach((s) => s());
    // The update log is folded into the clock rows later, at the next read of registers (here a
    // delta that finds nothing to send): measured on its own so the deferred cost is on record.
    t.fold.push(time(() => synced.changesSince(synced.getVector())));
    t.bytesPlain = plain.export().length;
    t.bytesSynced = synced.export().length;

    const batch = synced.changesSince({});
    const receiver = await syncedReplica();
    t.apply.push(time(() => receiver.applyChanges(batch)));
    t.reapply.push(time(() => receiver.applyChanges(batch)));
    plain.close();
    synced.close();
    receiver.close();
  }
  const ratio = (a: number[], b: number[]) => median(a) / median(b);
  const plainInsert = median(t.plainInsert);
  return [
    `replica insert 100k: synced/plain = ${ratio(t.syncedInsert, t.plainInsert).toFixed(2)}x (goal <= 2.0; plain ${plainInsert.toFixed(0)} ms CPU)`,
    `replica update 100k (1 column): synced/plain = ${ratio(t.syncedUpdate, t.plainUpdate).toFixed(2)}x (goal <= 2.0; plain ${median(t.plainUpdate).toFixed(0)} ms CPU)`,
    `replica update 100k, deferred log fold: fold/plain update = ${ratio(t.fold, t.plainUpdate).toFixed(2)}x (info: paid at the next merge, delta, snapshot or delete; update + fold = ${((median(t.syncedUpdate) + median(t.fold)) / median(t.plainUpdate)).toFixed(2)}x)`,
    `replica apply 100k remote rows: apply/plain insert = ${(median(t.apply) / plainInsert).toFixed(2)}x (goal <= 3.0)`,
    `replica re-apply known 100k batch: re-apply/first apply = ${ratio(t.reapply, t.apply).toFixed(2)}x (goal <= 0.5)`,
    `replica db bytes 100k: synced/plain = ${(t.bytesSynced / t.bytesPlain).toFixed(2)}x (goal <= 2.0)`,
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const line of await run()) console.log(line);
}
