/**
 * Bringing a database file of an older format up to this one, when it is opened.
 *   1 -> 2: inserts lost their capture trigger (capture.ts, insert-capture.ts) and the delete and
 *           key-change triggers learned about rows without a clock row. Only triggers change:
 *           the capture tables and their rows are the same.
 *   2 -> 3: every synced table gains its (empty) extra-cells table for the cells of columns it
 *           does not have (schema-evolution.ts). Nothing else changes.
 */
import { extraCellsDdl, reinstallCaptureTriggers } from './capture.js';
import { FORMAT_VERSION, readMeta, writeMeta } from './internal-schema.js';
import type { SqlDatabase } from './sql-database.js';
import type { TableShape } from './sync-schema.js';

export function migrateCaptureFormat(db: SqlDatabase): void {
  const format = Number(readMeta(db, 'format'));
  if (format >= FORMAT_VERSION) return;
  db.execRaw('BEGIN');
  try {
    for (const [tid, shape] of db.all('SELECT tid, shape FROM _rb_tables ORDER BY tid')) {
      if (format < 2) reinstallCaptureTriggers(db, JSON.parse(String(shape)) as TableShape, Number(tid));
      db.execRaw(extraCellsDdl(JSON.parse(String(shape)) as TableShape, Number(tid)));
    }
    writeMeta(db, 'format', FORMAT_VERSION);
    db.execRaw('COMMIT');
  } catch (e) {
    db.execRaw('ROLLBACK');
    throw e;
  }
}
