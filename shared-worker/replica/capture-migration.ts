/**
 * Bringing a database file of an older format up to this one, when it is opened.
 *   1 -> 2: inserts lost their capture trigger (capture.ts, insert-capture.ts) and the delete and
 *           key-change triggers learned about rows without a clock row. Only triggers change:
 *           the capture tables and their rows are the same.
 *   2 -> 3: every synced table gains its (empty) extra-cells table for the cells of columns it
 *           does not have (schema-evolution.ts), and its stored shape each column's DEFAULT
 *           (merge.ts gives it to a row merged from a peer that lacks the column; without it such
 *           a row read NULL here and the DEFAULT on a replica made by this version).
 *   3 -> 4: the delete and key-change triggers become guards; the connection captures those
 *           writes with TEMP triggers (lazy-capture.ts). Only the triggers are replaced: the update
 *           log keeps its entries, which the update trigger writes as before.
 */
import { extraCellsDdl, reinstallCaptureTriggers } from './capture.js';
import { FORMAT_VERSION, readMeta, writeMeta } from './internal-schema.js';
import type { SqlDatabase } from './sql-database.js';
import type { ColumnShape, TableShape } from './sync-schema.js';

/** `shape` with the DEFAULT of every column that has none recorded (shapes stored before format 3). */
function withDefaults(db: SqlDatabase, shape: TableShape): TableShape {
  const dflt = new Map(db.all('SELECT name, dflt_value FROM pragma_table_xinfo(?)', [shape.name]).map(([n, d]) => [String(n).toLowerCase(), d === null ? null : String(d)]));
  const fill = (c: ColumnShape): ColumnShape => (c.dflt === undefined ? { ...c, dflt: dflt.get(c.name.toLowerCase()) ?? null } : c);
  return { ...shape, pk: shape.pk.map(fill), cols: shape.cols.map(fill) };
}

export function migrateCaptureFormat(db: SqlDatabase): void {
  const format = Number(readMeta(db, 'format'));
  if (format >= FORMAT_VERSION) return;
  db.execRaw('BEGIN');
  try {
    for (const [tid, shape] of db.all('SELECT tid, shape FROM _rb_tables ORDER BY tid')) {
      const stored = JSON.parse(String(shape)) as TableShape;
      if (format < 2) reinstallCaptureTriggers(db, stored, Number(tid));
      else if (format < 4) reinstallCaptureTriggers(db, stored, Number(tid), { keepUpdateLog: true });
      if (format < 3) {
        db.execRaw(extraCellsDdl(stored, Number(tid)));
        db.run('UPDATE _rb_tables SET shape = ? WHERE tid = ?', [JSON.stringify(withDefaults(db, stored)), Number(tid)]);
      }
    }
    writeMeta(db, 'format', FORMAT_VERSION);
    db.execRaw('COMMIT');
  } catch (e) {
    db.execRaw('ROLLBACK');
    throw e;
  }
}
