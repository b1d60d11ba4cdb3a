/**
 * The end of a capturing exec: fold the per-exec update and delete logs into clock rows and
 * tombstones (capture.ts explains why they are logs), then report which tables got a register
 * stamped with this exec's stamp id.
 */
import { adoptTombstonesSql, foldDeletesSql, foldUpdatesSql, materializeInsertsSql } from './capture.js';
import type { InsertCapture } from './insert-capture.js';
import type { SqlDatabase } from './sql-database.js';
import type { SyncedTable } from './synced-table.js';

export function foldCapturedChanges(db: SqlDatabase, tables: SyncedTable[], stampId: number, inserts: InsertCapture): SyncedTable[] {
  for (const t of tables) {
    // First: the delete fold and tombstone adoption below update clock rows of re-inserted keys.
    const ins = inserts.inserted(t.shape.name);
    if (ins) db.run(materializeInsertsSql(t.shape, t.tid, ins.checked), [stampId, JSON.stringify(ins.rowids)]);
    if (t.sql.hasUpdated && db.get(t.sql.hasUpdated)![0] === 1) db.execRaw(foldUpdatesSql(t.shape, t.tid));
    if (db.get(t.sql.hasDeleted)![0] === 1) {
      const [restoreDel, toTombs, clear] = foldDeletesSql(t.shape, t.tid);
      db.run(restoreDel!);
      db.run(toTombs!, [stampId]);
      db.run(clear!);
    }
    if (db.get(t.sql.hasTombs)![0] === 1) {
      for (const sql of adoptTombstonesSql(t.shape, t.tid)) db.run(sql, [stampId]);
    }
  }
  return tables.filter((t) => db.get(t.sql.changedAt, [stampId])![0] === 1);
}
