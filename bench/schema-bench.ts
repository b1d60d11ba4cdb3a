/**
 * What ALTER TABLE ... ADD COLUMN costs on a synced table of 100k rows, against the same ALTER in
 * plain sql.js measured in the same run (CPU time, medians of interleaved runs; see
 * replica-bench.ts for why CPU time). Neither side rewrites a row: SQLite's ADD COLUMN only edits
 * the schema, and the replica adds one register column to its capture tables the same way.
 *   durable: DurableReplica.exec (capture tables, triggers, and the durable log entry the schema
 *            change is stored as, in a memory store) vs the plain ALTER alone (the issue's
 *            baseline), and vs plain ALTER + db.export() (what persisting a plain sql.js
 *            database after a schema change takes);
 *   replica: Replica.exec vs plain ALTER alone (the in-memory part);
 *   deferred: what the ALTER leaves to the next statement (statements prepared again, the new
 *            shape's texts built, the schema asked again) is paid by the first write after it, so
 *            that share is added to the ALTER on both sides: the first one-row write after the
 *            ALTER minus the same write in the same situation without an ALTER before it. For the
 *            durable side that situation is right after a snapshot, as the ALTER was (the
 *            replica's export() drops its statement cache, sql-database.ts: a snapshot leaves every
 *            statement to be prepared again, ALTER or not); plain sql.js prepares every db.run anyway. The two writes themselves are
 *            printed too: their ratio is the one-row exec's own overhead (replica-bench's line).
 *            The same for the next delete (a one-row delete after that write, less one after
 *            that write after a snapshot): the TEMP capture triggers (lazy-capture.ts), which a
 *            snapshot keeps, must hold the new columns by then; the ADD rewrites them in its own
 *            schema reload (an ALTER that drops them leaves their creation to that delete).
 * Each run fills every side's table once and alters it ALTERS_PER_TABLE times (a column more each
 * time, on both sides), each ALTER timed right after a snapshot (the durable side's d.snapshot(),
 * the replica's export(): both drop the statement cache, so the ALTER finds no statement prepared).
 * The generated rows are released before anything is timed: 100k rows of strings kept alive make
 * every major GC that an allocation happens to start cost ~10 ms, which would land in whichever
 * side allocates more JS, not measure either.
 *
 * Run: `npx tsx bench/schema-bench.ts` or `npm run bench schema`.
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import initSqlJs from 'sql.js';
import type { Database } from 'sql.js';
import { openDurableReplica } from '../shared-worker/persistence/durable-replica.js';
import { MemoryKeyValueStore } from '../shared-worker/persistence/memory-kv-store.js';
import { createReplica } from '../shared-worker/replica/replica.js';
import type { SqlValue } from '../shared-worker/replica/contracts/change-set.js';
import type { Replica } from '../shared-worker/replica/contracts/replica-types.js';

const ROWS = 100_000;
const RUNS = Number(process.env.RUNS ?? 7);
const DDL = 'CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, a TEXT, b INTEGER, c TEXT)';
const INSERT = 'INSERT INTO t VALUES (?, ?, ?, ?)';
/** The k-th ALTER of a table: each run fills its tables once and alters them ALTERS_PER_TABLE times. */
const alter = (k: number) => `ALTER TABLE t ADD COLUMN pinned${k} INTEGER NOT NULL DEFAULT 0`;
const ALTERS_PER_TABLE = Number(process.env.ALTERS ?? 4);
const NEXT_WRITE = 'UPDATE t SET b = b + 1 WHERE rowid = 1';
/** A one-row delete, each of another row (rowid ?): what the ALTER leaves to the next delete. */
const NEXT_DELETE = 'DELETE FROM t WHERE rowid = ?';
/** Rowids the deletes take, two per ALTER (after it, and after a snapshot). */
const deleted = (k: number, second: boolean) => 1000 + 2 * k + (second ? 1 : 0);
const GOAL = 3;

type Bulk = Replica & { execMany(sql: string, rows: SqlValue[][]): void };

v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function cpu(f: () => unknown): Promise<number> {
  collectGarbage();
  // process.cpuUsage counts every thread: let the sweeping the collection left to background
  // threads finish before the clock starts, or it lands in whichever side is timed longer.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const t0 = process.cpuUsage();
  await f();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1000;
}

function rows(): SqlValue[][] {
  return Array.from({ length: ROWS }, (_, i) => [randomUUID(), randomUUID().slice(0, 20), i, randomUUID().slice(0, 12)]);
}

function plainTable(SQL: Awaited<ReturnType<typeof initSqlJs>>, data: SqlValue[][]): Database {
  const db = new SQL.Database();
  db.run(DDL);
  const stmt = db.prepare(INSERT);
  db.run('BEGIN');
  for (const r of data) {
    stmt.bind(r as never);
    stmt.step();
    stmt.reset();
  }
  db.run('COMMIT');
  stmt.free();
  return db;
}

/** What the first write after the ALTER costs more than the same write without it (paired, per run). */
function deferred(after: number[], without: number[]): number {
  return median(after.map((x, i) => x - without[i]!));
}

const line = (name: string, ratio: number) => `${name}: ${ratio.toFixed(2)}x (goal <= ${GOAL}) ${ratio <= GOAL ? 'ok' : 'OVER'}`;

/** Each database filled from its own copy of the rows, released before timing (see the header). */
async function plainPair(SQL: Awaited<ReturnType<typeof initSqlJs>>): Promise<[Database, Database]> {
  const data = rows();
  return [plainTable(SQL, data), plainTable(SQL, data)];
}

async function filledReplica(): Promise<Bulk> {
  const r = (await createReplica()) as Bulk;
  r.exec(DDL);
  r.enableSync('t');
  r.execMany(INSERT, rows());
  return r;
}

async function filledDurable() {
  const d = await openDurableReplica({ store: new MemoryKeyValueStore(), createReplica, warn: () => {} });
  await d.exec(DDL);
  await d.enableSync('t');
  // Bulk rows through the public path: one exec, the rows as one JSON parameter.
  await d.exec("INSERT INTO t SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]') FROM json_each(?)", [JSON.stringify(rows())]);
  await d.snapshot();
  await d.settled();
  return d;
}

export async function run(): Promise<string[]> {
  const SQL = await initSqlJs();
  const t = { plain: [] as number[], plainExport: [] as number[], replica: [] as number[], durable: [] as number[], plainNext: [] as number[], durableNext: [] as number[], plainWrite: [] as number[], durableWrite: [] as number[], plainNextDelete: [] as number[], plainDelete: [] as number[], durableNextDelete: [] as number[], durableDelete: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    const [plain, plain2] = await plainPair(SQL);
    for (let k = 0; k < ALTERS_PER_TABLE; k++) {
      t.plain.push(await cpu(() => plain.run(`BEGIN; ${alter(k)}; COMMIT`)));
      t.plainNext.push(await cpu(() => plain.run(NEXT_WRITE)));
      t.plainWrite.push(await cpu(() => plain.run(NEXT_WRITE)));
      t.plainNextDelete.push(await cpu(() => plain.run(NEXT_DELETE, [deleted(k, false)])));
      t.plainDelete.push(await cpu(() => plain.run(NEXT_DELETE, [deleted(k, true)])));
      t.plainExport.push(await cpu(() => {
        plain2.run(`BEGIN; ${alter(k)}; COMMIT`);
        plain2.export();
      }));
    }
    plain.close();
    plain2.close();

    const r = await filledReplica();
    for (let k = 0; k < ALTERS_PER_TABLE; k++) {
      // As the durable side's snapshot does (below): export() drops the statement cache.
      r.export();
      t.replica.push(await cpu(() => r.exec(alter(k))));
    }
    r.close();

    const d = await filledDurable();
    for (let k = 0; k < ALTERS_PER_TABLE; k++) {
      await d.snapshot();
      await d.settled();
      t.durable.push(await cpu(async () => {
        await d.exec(alter(k));
        await d.settled();
      }));
      t.durableNext.push(await cpu(async () => {
        await d.exec(NEXT_WRITE);
        await d.settled();
      }));
      t.durableNextDelete.push(await cpu(async () => {
        await d.exec(NEXT_DELETE, [deleted(k, false)]);
        await d.settled();
      }));
      await d.snapshot();
      await d.settled();
      t.durableWrite.push(await cpu(async () => {
        await d.exec(NEXT_WRITE);
        await d.settled();
      }));
      t.durableDelete.push(await cpu(async () => {
        await d.exec(NEXT_DELETE, [deleted(k, true)]);
        await d.settled();
      }));
    }
    await d.close();
  }
  const name = 'schema ADD COLUMN on a synced 100k-row table';
  return [
    line(`${name}, DurableReplica.exec vs plain ALTER`, median(t.durable) / median(t.plain)),
    line(`${name}, DurableReplica.exec vs plain ALTER + export`, median(t.durable) / median(t.plainExport)),
    line(`${name}, Replica.exec vs plain ALTER`, median(t.replica) / median(t.plain)),
    line(`${name} with what it defers to the next write, DurableReplica.exec vs plain ALTER`, (median(t.durable) + deferred(t.durableNext, t.durableWrite)) / (median(t.plain) + deferred(t.plainNext, t.plainWrite))),
    line(`${name} with what it defers to the next delete, DurableReplica.exec vs plain ALTER`, (median(t.durable) + deferred(t.durableNextDelete, t.durableDelete)) / (median(t.plain) + deferred(t.plainNextDelete, t.plainDelete))),
    `  (medians of ${t.plain.length}, ms CPU: plain ALTER ${median(t.plain).toFixed(2)}, + export ${median(t.plainExport).toFixed(1)}, write after it ${median(t.plainNext).toFixed(2)}, write ${median(t.plainWrite).toFixed(2)}; replica ${median(t.replica).toFixed(2)}; durable ${median(t.durable).toFixed(2)}, write after it ${median(t.durableNext).toFixed(2)}, write after a snapshot ${median(t.durableWrite).toFixed(2)}, delete after it ${median(t.durableNextDelete).toFixed(2)}, delete after a snapshot ${median(t.durableDelete).toFixed(2)}; plain delete after it ${median(t.plainNextDelete).toFixed(2)}, delete ${median(t.plainDelete).toFixed(2)})`,
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  for (const l of await run()) console.log(l);
}
