/**
 * The end of a capturing exec: clock rows for the rows it inserted, the delete log folded into
 * clock rows and tombstones (capture.ts explains why these are logs), then which tables got a
 * register stamped with this exec's stamp id.
 *
 * The update log is NOT folded here: folding costs ~0.7x of a plain 100k-row update (sort by
 * rowid, then a clock-row update and a `ver` index move per row), more than logging it did. Its
 * entries carry their exec's stamp id, so it can wait until something reads the registers of
 * live rows: a merge, a delta for a peer, an export (the snapshot), or a delete or key/rowid
 * change (their triggers fold first). The exec's own changes are read from the log meanwhile
 * (SyncedTableSql.pendingAt, value-cap.ts), unless the exec also stamped clock rows of the same
 * table (inserts, rowid moves): then it folds at once (SyncedTableSql.mixedAt). An exec of many
 * rows whose change set is read (a commit listener) also folds at once (see foldUpdatesNow).
 */
import { adoptTombstonesSql, foldDeletesSql, foldUpdatesStatements, materializeInsertRunSql, materializeInsertsSql } from './capture.js';
import type { InsertCapture } from './insert-capture.js';
import type { SqlDatabase } from './sql-database.js';
import type { SyncedTable } from './synced-table.js';

/**
 * `insertedOnly(t)`: the exec only inserted rows into t and no capture trigger ran (see
 * InsertCapture.insertedOnly): then it has no delete log or update log to look at, and it
 * changed t for sure (its inserted rows are all there).
 * `foldUpdatesNow`: fold a non-empty update log now, for an exec of many rows whose change set
 * will be read: reading it back from the folded clock rows (a join on the ver index) cost less
 * than reading the log (pendingAt sorts it by rowid in a temporary b-tree), and the fold a later
 * read would pay is done (measured at 100k updated rows: ~520 ms for pendingAt vs ~190 ms).
 */
export function foldCapturedChanges(
  db: SqlDatabase,
  tables: SyncedTable[],
  stampId: number,
  inserts: InsertCapture,
  insertedOnly: (t: SyncedTable) => boolean = () => false,
  foldUpdatesNow = false,
): SyncedTable[] {
  for (const t of tables) {
    // First: the delete fold and tombstone adoption below update clock rows of re-inserted keys.
    const ins = inserts.inserted(t.shape.name);
    if (ins) {
      const run = consecutiveRun(ins.rowids);
      if (run) db.run(materializeInsertRunSql(t.shape, t.tid), [stampId, run[0], run[1]]);
      else db.run(materializeInsertsSql(t.shape, t.tid, ins.checked), [stampId, JSON.stringify(ins.rowids)]);
    }
    const onlyInserts = insertedOnly(t);
    if (!onlyInserts && db.get(t.sql.hasDeleted)![0] === 1) {
      const [restoreDel, toTombs, clear] = foldDeletesSql(t.shape, t.tid);
      db.run(restoreDel!);
      db.run(toTombs!, [stampId]);
      db.run(clear!);
    }
    // Only a key this exec inserted can have a tombstone to adopt (a key change's trigger
    // takes the new key's tombstone itself): an exec that inserted nothing into t skips the
    // three statements, which every update or delete paid once t had any tombstone.
    if (ins && db.get(t.sql.hasTombs)![0] === 1) {
      for (const sql of adoptTombstonesSql(t.shape, t.tid)) db.run(sql, [stampId]);
    }
    const foldNow = onlyInserts || !t.sql.mixedAt ? false
      : foldUpdatesNow ? db.get(t.sql.hasUpdated)![0] === 1
      : db.get(t.sql.mixedAt, [stampId])![0] === 1;
    if (foldNow) foldPendingUpdates(db, [t]);
  }
  return tables.filter((t) => insertedOnly(t) || db.get(t.sql.changedAt, [stampId])![0] === 1);
}

/** [first, last] when `rowids` are first, first + 1, ..., last (one rowid included), else null. */
function consecutiveRun(rowids: number[]): [number, number] | null {
  if (rowids.length === 0) return null;
  const first = rowids[0]!;
  // An unsafe rowid (refused later, exact-integers.ts) is not exact here: leave it to the JSON form.
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(first + rowids.length - 1)) return null;
  for (let i = 1; i < rowids.length; i++) if (rowids[i] !== first + i) return null;
  return [first, first + rowids.length - 1];
}

/** Tables whose update log holds entries not folded into their clock rows yet. */
export function tablesWithPendingUpdates(db: SqlDatabase, tables: SyncedTable[]): SyncedTable[] {
  return tables.filter((t) => t.sql.hasUpdated !== '' && db.get(t.sql.hasUpdated)![0] === 1);
}

/**
 * Folds the update logs of `tables` into their clock rows (the caller holds the transaction), on
 * cached statements: preparing the fold each time cost more than folding a few rows (one pending
 * row: ~70 us CPU through a fresh prepare, ~23 us cached, Node).
 */
export function foldPendingUpdates(db: SqlDatabase, tables: SyncedTable[]): void {
  for (const t of tables) for (const sql of foldUpdatesStatements(t.shape, t.tid)) db.run(sql);
}

/** Per table, the update log's end before an exec (see updateLogStart). */
export function updateLogMarks(db: SqlDatabase, tables: SyncedTable[]): Map<SyncedTable, number> {
  const marks = new Map<SyncedTable, number>();
  for (const t of tables) if (t.sql.updateLogEnd) marks.set(t, Number(db.get(t.sql.updateLogEnd)![0]));
  return marks;
}

/**
 * The update-log rowid after which the entries of the exec with stamp id `stampId` start, given
 * the log's end before it ran. The log is appended in stamp order and only emptied whole; if a
 * delete or key change in the exec folded (emptied) it, every entry left is the exec's own.
 */
export function updateLogStart(db: SqlDatabase, t: SyncedTable, mark: number | undefined, stampId: number): number {
  if (!t.sql.updateLogFirstV || mark === undefined) return 0;
  const first = db.get(t.sql.updateLogFirstV);
  return first && first[0] === stampId ? 0 : mark;
}
