/**
 * The capture of deletes and key or rowid changes (capture.ts) as TEMP triggers, installed on the
 * connection the first time an exec needs them instead of saved in the file.
 *
 * Why: every ALTER TABLE makes SQLite re-parse the whole schema (alter.c renameReloadSchema), and
 * an ADD COLUMN of a synced table must also rewrite the capture triggers that name its columns.
 * The delete and key-change triggers were ~3.7k of the ~4.6k characters of capture text per
 * table: parsing them (once in the reload, once as the literal that rewrites them) was the
 * largest share of what an ADD COLUMN cost beyond SQLite's own ALTER (docs/schema-evolution.md).
 * TEMP objects are parsed only when created and are not part of the file; a connection that never
 * deletes or changes a key never parses them.
 *
 * How: the file keeps two short guard triggers per synced table (_del, _chg). In Capture mode a
 * delete or key change fires one, which aborts the statement with LAZY_CAPTURE_REQUEST (ABORT
 * undoes only that statement: its earlier rows, and anything it cascaded). The statement runner
 * (exec-runner.ts) then has the replica install the TEMP triggers of every synced table, which
 * sets the mode to CaptureFull (the guards stay quiet, the TEMP triggers capture), and runs the
 * statement again. An exec whose text names a delete gets them before its first statement
 * instead (replica.ts installBeforeStatements).
 *
 * The mode says CaptureFull only while the TEMP triggers of every synced table are there, which
 * nothing in JS can vouch for (a rollback takes back the CREATEs of its transaction, a database
 * opened from storage is a new connection without them, enableSync adds a table): each exec asks SQLite
 * (startCapture). A TEMP trigger never holds an older shape's text: an ADD COLUMN of the usual
 * form rewrites the table's two in sqlite_temp_schema before its ALTER, whose reload parses the
 * TEMP schema too (alter.c renameReloadSchema; schema-evolution.ts addBeforeAlter), and every
 * other change of a synced table's columns drops them all in its transaction (dropLazyCaptureSql),
 * so they are either all there or all gone. Creating or dropping a TEMP object makes SQLite
 * prepare every statement of the connection again on its next step (vdbe.c OP_SetCookie, "Ticket
 * #1644"), which is why the ADD rewrites them rather than leave the next delete to create them.
 */
import { lazyCaptureTriggerNames, lazyCaptureTriggers } from './capture.js';
import { CaptureMode, LAZY_CAPTURE_REQUEST, setCaptureMode } from './internal-schema.js';
import type { SqlDatabase } from './sql-database.js';
import { quoteIdent } from './sql-text.js';
import type { SyncedTable } from './synced-table.js';

/** Did a statement fail because a guard asked for the TEMP triggers? */
export function isLazyCaptureRequest(e: unknown): boolean {
  return e instanceof Error && e.message === LAZY_CAPTURE_REQUEST;
}

/** How many TEMP capture triggers a synced table has when installed. */
const PER_TABLE = lazyCaptureTriggerNames(0).length;

// GLOB, not LIKE: its `_` is literal. User SQL cannot name anything _rb_ (sql-policy.ts).
const OURS = "type = 'trigger' AND name GLOB '_rb_*'";

/**
 * Sets the running exec's stamp id and its capture mode: CaptureFull when the TEMP triggers of
 * all `tableCount` synced tables are on the connection, else Capture; says which. A connection
 * that never installed them is not asked (no TEMP schema read on the common path).
 */
export function startCapture(db: SqlDatabase, stampId: number, tableCount: number): CaptureMode {
  if (!db.tempTriggersMayExist) {
    setCaptureMode(db, CaptureMode.Capture, stampId);
    return CaptureMode.Capture;
  }
  const [mode] = db.get(
    `UPDATE _rb_ctx SET v = ?1, mode = CASE WHEN (SELECT count(*) FROM temp.sqlite_schema WHERE ${OURS}) = ?2 THEN ${CaptureMode.CaptureFull} ELSE ${CaptureMode.Capture} END RETURNING mode`,
    [stampId, tableCount * PER_TABLE],
  )!;
  return mode === CaptureMode.CaptureFull ? CaptureMode.CaptureFull : CaptureMode.Capture;
}

/**
 * Installs the TEMP triggers of every table in `tables` (all the synced tables), replacing any
 * there, and sets the mode to CaptureFull. The caller holds the exec's transaction.
 */
export function installLazyCapture(db: SqlDatabase, tables: Iterable<SyncedTable>): void {
  const drops: string[] = [];
  const creates: string[] = [];
  for (const t of tables) {
    for (const trigger of lazyCaptureTriggers(t.shape, t.tid)) {
      drops.push(`DROP TRIGGER IF EXISTS temp.${quoteIdent(trigger.name)};`);
      creates.push(trigger.sql + ';');
      db.tempTriggerNames.add(trigger.name);
    }
  }
  db.execRaw(`${drops.join('\n')}\n${creates.join('\n')}\nUPDATE _rb_ctx SET mode = ${CaptureMode.CaptureFull};`);
}

/**
 * The TEMP capture triggers of `shape` as sqlite_temp_schema stores them, for a table whose
 * TEMP triggers this connection may have (none when it never installed them): what an ADD COLUMN
 * writes in their rows before its ALTER, whose reload then parses them (schema-evolution.ts
 * addBeforeAlter).
 */
export function storedLazyCaptureTriggers(db: SqlDatabase, shape: SyncedTable['shape'], tid: number): Array<{ name: string; sql: string }> {
  // Asked by name first: building the texts costs ~0.2 ms CPU cold, for nothing on a connection
  // that never installed them (a migration at start-up).
  if (!lazyCaptureTriggerNames(tid).some((name) => db.tempTriggerNames.has(name))) return [];
  // SQLite keeps "CREATE TRIGGER " and the statement from the name on (trigger.c sqlite3FinishTrigger).
  return lazyCaptureTriggers(shape, tid).map((t) => ({ name: t.name, sql: `CREATE TRIGGER ${t.sql.slice(CREATE_TEMP.length)}` }));
}

const CREATE_TEMP = 'CREATE TEMP TRIGGER ';

/**
 * SQL dropping every TEMP capture trigger, and the mode back to Capture if it was CaptureFull
 * (a later statement of the exec asks for them again): for a change of a synced table's columns.
 * '' when the connection never installed any. Built from the names ever installed, not read from
 * temp.sqlite_schema: on the first statement after a snapshot that read cost ~0.4 ms CPU cold,
 * a sixth of a whole ADD COLUMN (schema-bench.ts), and a DROP IF EXISTS of a gone one is nothing.
 */
export function dropLazyCaptureSql(db: SqlDatabase): string {
  if (!db.tempTriggersMayExist) return '';
  return [...db.tempTriggerNames].map((n) => `DROP TRIGGER IF EXISTS temp.${quoteIdent(n)};`).join('\n') +
    `\nUPDATE _rb_ctx SET mode = ${CaptureMode.Capture} WHERE mode = ${CaptureMode.CaptureFull};\n`;
}
