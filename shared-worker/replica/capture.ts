/**
 * Change capture inside SQLite, per synced table (tid = its number in _rb_tables):
 *
 *   _rb_c<tid>  clock row per LIVE data row, keyed by the data table's rowid: the stamp ids of the
 *               row's registers (put, del, one per non-key column) and `ver`, the highest stamp id
 *               among them (indexed: "what changed since" is a range scan). Keying by rowid makes
 *               an insert's clock row an append instead of a random b-tree insert by the (often
 *               long, random) primary key: measured at 100k rows, a shadow keyed by the primary key cost
 *               3.3x a plain insert, one keyed by rowid 1.4x.
 *   _rb_d<tid>  tombstones: registers and last values of DELETED rows, keyed by primary key (the
 *               rowid is gone). Values are kept so a later update of one column can bring the row
 *               back with the newest value of every column.
 *   _rb_u<tid>  log of updated rows (rowid, the exec's stamp id, which cells changed), folded into
 *               the clock rows only when registers of live rows are read (capture-fold.ts explains
 *               when, foldUpdatesSql how).
 *   _rb_x<tid>  per-exec log of rows deleted by the running statement(s) with their old values
 *               and registers; folded into tombstones at the end of each exec (see foldDeletesSql),
 *               because only then do we know whether a key was deleted for good or deleted and
 *               inserted again (INSERT OR REPLACE, DELETE + INSERT in one exec, key changes).
 *
 * Inserted rows get no trigger: an AFTER INSERT trigger writing the clock row cost ~0.5-0.9x of
 * a plain insert (its sub-program, the _rb_ctx read, one more b-tree append per row). The replica
 * collects their rowids from the update hook instead (insert-capture.ts, update-hook.ts) and writes their
 * clock rows in one statement at the end of the exec (materializeInsertsSql). Until then such a
 * row has no clock row; the delete and key/rowid-change triggers treat a missing clock row as
 * "inserted by this exec": registers all this exec's stamp, no delete register.
 *
 * Deletes and key or rowid changes are captured by TEMP triggers (_lazy_del, _lazy_chg) that the
 * connection installs the first time an exec needs them (lazy-capture.ts); the file holds only
 * the update trigger and two guards (_del, _chg) that refuse such a write in Forbid mode and, in
 * Capture mode, abort it with LAZY_CAPTURE_REQUEST so the replica installs the TEMP triggers and
 * runs the statement again. Every ALTER TABLE re-parses the whole schema, and those two were
 * four fifths of the capture text it parsed (docs/schema-evolution.md).
 *
 * Rowid stability: clock rows follow a row through `UPDATE ... SET rowid` (the key-change trigger
 * moves them) and INSERT OR REPLACE (with recursive_triggers=ON, which the connection always sets,
 * the replaced row fires the delete trigger). VACUUM may renumber rowids of tables without an
 * INTEGER PRIMARY KEY and is refused by exec/execLocal; export() is a byte copy and keeps them.
 *
 * Triggers read the running exec's stamp id from _rb_ctx (a real table, so the triggers saved in
 * the file keep working after export()/reopen with nothing registered on the connection; there
 * the guards refuse deletes and key changes, the mode at rest being Forbid).
 */
import { CaptureMode, LAZY_CAPTURE_REQUEST, TRIGGER_ERROR_PREFIX } from './internal-schema.js';
import type { SqlDatabase } from './sql-database.js';
import { quoteIdent, quoteString } from './sql-text.js';
import { MAX_VALUE_BYTES } from '../protocol/limits.js';
import type { TableShape } from './sync-schema.js';

export interface CaptureNames {
  clock: string;
  tomb: string;
  deleted: string;
  updated: string;
  /** Cells of columns this replica's table does not have (schema-evolution.ts). */
  extra: string;
}

export function captureNames(tid: number): CaptureNames {
  return { clock: `_rb_c${tid}`, tomb: `_rb_d${tid}`, deleted: `_rb_x${tid}`, updated: `_rb_u${tid}`, extra: `_rb_e${tid}` };
}

/** Declared key columns of the per-table tables keyed by primary key (tombstones, extra cells). */
function keyColumnsDecl(shape: TableShape): string[] {
  // INT, not INTEGER: a one-column key declared INTEGER would be a rowid alias, which refuses the
  // text and real keys an `id INT PRIMARY KEY` table may hold (datatype mismatch).
  return shape.pk.map((c, i) => `k${i} ${affinityOf(c.type) === 'INTEGER' ? 'INT' : affinityOf(c.type)}`);
}

/**
 * The extra-cells table: per key and column name the value and stamp id of a cell whose column
 * this replica's table lacks (a peer on another schema version wrote it). `val` has no declared
 * type, so values keep the storage class they arrived with.
 */
export function extraCellsDdl(shape: TableShape, tid: number): string {
  const { extra } = captureNames(tid);
  const kList = shape.pk.map((_, i) => `k${i}`).join(', ');
  return `CREATE TABLE IF NOT EXISTS ${extra}(${keyColumnsDecl(shape).join(', ')}, col TEXT NOT NULL COLLATE NOCASE, val, v INTEGER NOT NULL, PRIMARY KEY(${kList}, col));
    CREATE INDEX IF NOT EXISTS ${extra}_v ON ${extra}(v);`;
}

/**
 * Folds the update log into the clock rows: one pass in rowid order (GROUP BY sorts), instead of
 * one random clock-row update per updated row inside the trigger (measured 1.6-1.9x vs 2.0-2.4x
 * of a plain update). Each entry carries the stamp id of the exec
 * that logged it: the log outlives the exec (see foldPendingSql's callers), so it may hold
 * entries of several execs. Stamp ids grow with time and the log is only ever emptied whole, so
 * the newest entry of a row wins, and no register of a live row is newer than a pending entry.
 * Runs before anything reads registers of live rows, and inside the rarer triggers (delete, key
 * or rowid change) before they read or move a clock row.
 */
function foldUpdatesSql(shape: TableShape, tid: number): string {
  return foldUpdatesStatements(shape, tid).map((s) => s + ';').join('\n');
}

/** foldUpdatesSql as its two statements (to run on cached prepared statements); none without non-key columns. */
export function foldUpdatesStatements(shape: TableShape, tid: number): string[] {
  const { clock, updated } = captureNames(tid);
  const n = shape.cols.length;
  if (n === 0) return [];
  return [
    `UPDATE ${clock} SET ver = max(ver, u.v), put = u.v, ${range(n).map((i) => `s${i} = coalesce(u.v${i}, s${i})`).join(', ')}
       FROM (SELECT rid, max(v) AS v, ${range(n).map((i) => `max(CASE WHEN m${i} THEN v END) AS v${i}`).join(', ')} FROM ${updated} GROUP BY rid) AS u WHERE ${clock}.rid = u.rid`,
    `DELETE FROM ${updated} WHERE rid IS NOT NULL`,
  ];
}

/** SQLite's affinity rules (datatype3.html 3.1), so tombstones convert values exactly like the table. */
export function affinityOf(declaredType: string): 'INTEGER' | 'TEXT' | 'BLOB' | 'REAL' | 'NUMERIC' {
  const t = declaredType.toUpperCase();
  if (t.includes('INT')) return 'INTEGER';
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'TEXT';
  if (t.includes('BLOB') || t.trim() === '') return 'BLOB';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'REAL';
  return 'NUMERIC';
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** A capture trigger's name and its CREATE TRIGGER statement (no trailing semicolon). */
export interface CaptureTrigger {
  name: string;
  sql: string;
}

/**
 * The texts of a table's capture objects, each built when asked: an ADD COLUMN needs only the
 * update trigger's (schema-evolution.ts), an install only the TEMP triggers' (lazy-capture.ts).
 */
interface CaptureParts {
  tables: () => string;
  upd: () => CaptureTrigger;
  triggers: () => CaptureTrigger[];
  lazy: () => CaptureTrigger[];
}

function captureParts(shape: TableShape, tid: number): CaptureParts {
  const { clock, tomb, deleted, updated, extra } = captureNames(tid);
  const T = quoteIdent(shape.name);
  const n = shape.cols.length;
  const k = shape.pk.length;
  const S = '(SELECT v FROM _rb_ctx)';
  const sCols = range(n).map((i) => `s${i}`);
  const kDecl = keyColumnsDecl(shape);
  const vDecl = shape.cols.map((c, i) => `v${i} ${affinityOf(c.type)}`);
  const kList = range(k).map((i) => `k${i}`).join(', ');
  const vList = range(n).map((i) => `v${i}`);
  const pkOf = (row: 'NEW' | 'OLD') => shape.pk.map((c) => `${row}.${quoteIdent(c.name)}`);
  const colsOf = (row: 'NEW' | 'OLD') => shape.cols.map((c) => `${row}.${quoteIdent(c.name)}`);
  const tombMatch = (row: 'NEW' | 'OLD') => pkOf(row).map((e, i) => `k${i} = ${e}`).join(' AND ');
  // COLLATE BINARY: a NOCASE column changing 'a' -> 'A' is a change (peers must see the new bytes).
  const sameKey = shape.pk.map((c) => `OLD.${quoteIdent(c.name)} IS NEW.${quoteIdent(c.name)} COLLATE BINARY`).join(' AND ');
  const changed = (c: { name: string }) => `OLD.${quoteIdent(c.name)} IS NOT NEW.${quoteIdent(c.name)} COLLATE BINARY`;
  const anyChanged = n === 0 ? '0' : shape.cols.map(changed).join(' OR ');
  // The update log's cell marks: 0 unchanged, 1 changed, 2 changed to a text or blob that may be
  // over the value cap (more than cap/4 characters: UTF-8 takes at most 4 bytes per character).
  // value-cap.ts measures only the entries marked 2, so it never reads the rows an exec updated.
  const changeMark = (c: { name: string }) => {
    const NEW = `NEW.${quoteIdent(c.name)}`;
    return `CASE WHEN ${changed(c)} THEN 1 + (typeof(${NEW}) IN ('text', 'blob') AND length(${NEW}) > ${Math.floor(MAX_VALUE_BYTES / 4)}) ELSE 0 END`;
  };
  // The persistent delete and key-change triggers only guard (see the header): they refuse the
  // write in Forbid mode, and in Capture mode ask for the TEMP triggers that capture it.
  const guarded = `(SELECT mode FROM _rb_ctx) IN (${CaptureMode.Capture}, ${CaptureMode.Forbid})`;
  const installed = `(SELECT mode FROM _rb_ctx) = ${CaptureMode.CaptureFull}`;
  const keyOrRowidNames = [...shape.pk.map((c) => c.name), 'rowid', 'oid', '_rowid_'];
  const keyOrRowid = keyOrRowidNames.filter((c, i) => keyOrRowidNames.findIndex((d) => d.toLowerCase() === c.toLowerCase()) === i).map(quoteIdent).join(', ');
  const message = quoteString(`${TRIGGER_ERROR_PREFIX} execLocal cannot write synced table ${shape.name}; use exec`);
  // In the hot trigger the execLocal guard is a WHERE term of the one statement it runs (a
  // statement per row costs ~0.3 us); SQLite evaluates such table-independent terms first.
  const forbid = `SELECT RAISE(ABORT, ${message}) FROM _rb_ctx WHERE mode = ${CaptureMode.Forbid};`;
  const request = `SELECT RAISE(ABORT, ${quoteString(LAZY_CAPTURE_REQUEST)}) FROM _rb_ctx WHERE mode = ${CaptureMode.Capture};`;
  // Both take a condition, so the key-change trigger can run them only when the key changed.
  const newClockRow = (when: string) => `INSERT INTO ${clock}(rid, ver, put, del${n ? ', ' + sCols.join(', ') : ''})
       SELECT NEW.rowid, v, v, (SELECT del FROM ${tomb} WHERE ${tombMatch('NEW')})${n ? ', ' + sCols.map(() => 'v').join(', ') : ''}
       FROM _rb_ctx WHERE ${when};
     DELETE FROM ${tomb} WHERE ${tombMatch('NEW')} AND ${when};`;
  // A row without a clock row was inserted by this exec (see the header): its registers are
  // this exec's stamp, with no delete register.
  const reg = (r: string) => `CASE WHEN c.rid IS NULL THEN x.v ELSE c.${r} END`;
  const logDeleted = (when: string) => `INSERT INTO ${deleted}(${kList}${n ? ', ' + vList.join(', ') : ''}, put, del${n ? ', ' + sCols.join(', ') : ''})
       SELECT ${pkOf('OLD').join(', ')}${n ? ', ' + colsOf('OLD').join(', ') : ''}, ${reg('put')}, c.del${n ? ', ' + sCols.map(reg).join(', ') : ''}
       FROM _rb_ctx x LEFT JOIN ${clock} c ON c.rid = OLD.rowid WHERE ${when};
     DELETE FROM ${clock} WHERE rid = OLD.rowid AND ${when};`;
  // A key change moves the row's cells of columns this table lacks (kept for peers that have
  // them, schema-evolution.ts) to the new key as this exec's, as a peer that has the columns moves
  // their values with the row; the old key keeps them, as its tombstone keeps its values.
  const carryExtraCells = () => `INSERT OR REPLACE INTO ${extra}(${kList}, col, val, v)
        SELECT ${pkOf('NEW').join(', ')}, e.col, e.val, x.v FROM ${extra} e, _rb_ctx x
        WHERE ${pkOf('OLD').map((o, i) => `e.k${i} = ${o}`).join(' AND ')} AND NOT (${sameKey});`;
  const cellUpdates = () => shape.cols.map((c, i) => `s${i} = CASE WHEN ${changed(c)} THEN ${S} ELSE s${i} END`);

  // UPDATE triggers with mutually exclusive WHEN clauses:
  //   _upd       same key, same rowid (the common case): log which cells changed (see foldUpdatesSql);
  //   _lazy_chg  (TEMP) same key, new rowid (UPDATE ... SET rowid): move the clock row, stamp
  //              changed cells; key changed: the old key is deleted, the new key inserted;
  //   _chg       the same changes without _lazy_chg installed: refuse or ask for it (the header).
  // A trigger's WHEN runs inside its sub-program, so every trigger a statement fires costs a
  // sub-program call per row even when WHEN is false (~0.2x of a plain 100k-row update for _chg).
  // _chg and _lazy_chg are therefore UPDATE OF the key columns and the rowid's names: SQLite
  // leaves them out of any UPDATE whose SET list names none of them, when it compiles the statement
  // (checkColumnOverlap in trigger.c, names compared case-insensitively, as written in SET).
  // Those are the only UPDATEs that can change the key or the rowid.
  // _upd reads _rb_ctx once, in its body: the mode decides between logging and refusing.
  // Never "SET rid = rid" in the hot path: assigning the rowid makes SQLite delete and re-insert.
  // Built on demand: an ADD COLUMN needs only the triggers (schema-evolution.ts).
  const tables = () => `
    CREATE TABLE ${clock}(rid INTEGER PRIMARY KEY, ver INTEGER NOT NULL, put INTEGER, del INTEGER${n ? ', ' + sCols.map((s) => `${s} INTEGER`).join(', ') : ''});
    CREATE INDEX ${clock}_ver ON ${clock}(ver);
    CREATE TABLE ${tomb}(${kDecl.join(', ')}, ver INTEGER NOT NULL, put INTEGER, del INTEGER${n ? ', ' + sCols.map((s) => `${s} INTEGER`).join(', ') + ', ' + vDecl.join(', ') : ''}, PRIMARY KEY(${kList}));
    CREATE INDEX ${tomb}_ver ON ${tomb}(ver);
    ${n ? updateLogDdl(n, updated) : ''}
    ${deleteLogDdl(shape, tid)}
    ${extraCellsDdl(shape, tid)}`;
  const upd = () => `CREATE TRIGGER ${clock}_upd AFTER UPDATE ON ${T} WHEN OLD.rowid = NEW.rowid AND ${sameKey} BEGIN
      ${n ? `INSERT INTO ${updated}(rid, v, ${range(n).map((i) => `m${i}`).join(', ')})
        SELECT OLD.rowid, v, ${shape.cols.map(changeMark).join(', ')}
        FROM _rb_ctx WHERE CASE mode WHEN ${CaptureMode.Forbid} THEN RAISE(ABORT, ${message}) WHEN ${CaptureMode.Off} THEN 0 ELSE (${anyChanged}) END;` : forbid}
    END`;
  const keyOrRowidChanged = `AFTER UPDATE OF ${keyOrRowid} ON`;
  const keyOrRowidWhen = `(OLD.rowid <> NEW.rowid OR NOT (${sameKey}))`;
  const chg = () => `CREATE TRIGGER ${clock}_chg ${keyOrRowidChanged} ${T} WHEN ${keyOrRowidWhen} AND ${guarded} BEGIN
      ${forbid}
      ${request}
    END`;
  const del = () => `CREATE TRIGGER ${clock}_del AFTER DELETE ON ${T} WHEN ${guarded} BEGIN
      ${forbid}
      ${request}
    END`;
  // The TEMP triggers (lazy-capture.ts). main.: the table of the main schema, not a TEMP one of
  // its name (which the replica refuses anyway, schema-guard.ts).
  const lazyChg = (foldUpdates: string) => `CREATE TEMP TRIGGER ${clock}_lazy_chg ${keyOrRowidChanged} main.${T} WHEN ${keyOrRowidWhen} AND ${installed} BEGIN
      ${foldUpdates}
      INSERT INTO ${clock}(rid, ver, put, del${n ? ', ' + sCols.join(', ') : ''})
        SELECT NEW.rowid, v, v, NULL${n ? ', ' + sCols.map(() => 'v').join(', ') : ''} FROM _rb_ctx
        WHERE ${sameKey} AND NOT EXISTS (SELECT 1 FROM ${clock} WHERE rid = OLD.rowid);
      UPDATE ${clock} SET rid = NEW.rowid,
        ver = CASE WHEN ${anyChanged} THEN ${S} ELSE ver END,
        put = CASE WHEN ${anyChanged} THEN ${S} ELSE put END${n ? ',\n        ' + cellUpdates().join(',\n        ') : ''}
        WHERE rid = OLD.rowid AND ${sameKey};
      ${logDeleted(`NOT (${sameKey})`)}
      ${newClockRow(`NOT (${sameKey})`)}
      ${carryExtraCells()}
    END`;
  const lazyDel = (foldUpdates: string) => `CREATE TEMP TRIGGER ${clock}_lazy_del AFTER DELETE ON main.${T} WHEN ${installed} BEGIN
      ${foldUpdates}
      ${logDeleted('1')}
    END`;
  const updTrigger = () => ({ name: `${clock}_upd`, sql: upd() });
  return {
    tables,
    upd: updTrigger,
    triggers: () => [updTrigger(), { name: `${clock}_chg`, sql: chg() }, { name: `${clock}_del`, sql: del() }],
    lazy: () => {
      const fold = foldUpdatesSql(shape, tid);
      const [chgName, delName] = lazyCaptureTriggerNames(tid);
      return [{ name: chgName!, sql: lazyChg(fold) }, { name: delName!, sql: lazyDel(fold) }];
    },
  };
}

const statements = (triggers: CaptureTrigger[]) => triggers.map((t) => t.sql + ';').join('\n');

/** DDL creating the per-table capture tables and triggers. */
function captureDdl(shape: TableShape, tid: number): string {
  const { tables, triggers } = captureParts(shape, tid);
  return tables() + statements(triggers());
}

/**
 * The capture triggers of `shape` saved in the file. Each `sql` starts with "CREATE TRIGGER " and
 * the trigger's name and ends at its END: the text SQLite stores in sqlite_schema for that
 * statement (it keeps "CREATE TRIGGER " and the statement from the name on, trigger.c
 * sqlite3FinishTrigger).
 */
export function captureTriggers(shape: TableShape, tid: number): CaptureTrigger[] {
  return captureParts(shape, tid).triggers();
}

/** The one of captureTriggers that names the non-key columns (the guards name only the key). */
export function updateCaptureTrigger(shape: TableShape, tid: number): CaptureTrigger {
  return captureParts(shape, tid).upd();
}

/** The TEMP capture triggers of `shape` (lazy-capture.ts): CREATE TEMP TRIGGER statements. */
export function lazyCaptureTriggers(shape: TableShape, tid: number): CaptureTrigger[] {
  return captureParts(shape, tid).lazy();
}

/** The per-exec delete log (see the header); empty between execs. */
export function deleteLogDdl(shape: TableShape, tid: number): string {
  return deleteLogTable(shape, tid) + ';';
}

/** deleteLogDdl as stored in sqlite_schema (no semicolon). */
export function deleteLogTable(shape: TableShape, tid: number): string {
  const n = shape.cols.length;
  const sCols = range(n).map((i) => `s${i} INTEGER`);
  const vDecl = shape.cols.map((c, i) => `v${i} ${affinityOf(c.type)}`);
  return `CREATE TABLE ${captureNames(tid).deleted}(seq INTEGER PRIMARY KEY, ${keyColumnsDecl(shape).join(', ')}${n ? ', ' + vDecl.join(', ') : ''}, put INTEGER, del INTEGER${n ? ', ' + sCols.join(', ') : ''})`;
}

/** The update log: per updated row, the exec's stamp id and which cells it changed (see changeMark). */
function updateLogDdl(n: number, updated: string): string {
  return updateLogTable(n, updated) + ';';
}

/** updateLogDdl as stored in sqlite_schema (no semicolon); n >= 1. */
export function updateLogTable(n: number, updated: string): string {
  return `CREATE TABLE ${updated}(rid INTEGER NOT NULL, v INTEGER NOT NULL, ${range(n).map((i) => `m${i} INTEGER`).join(', ')})`;
}

/** The names of the capture triggers a synced table has in the file. */
export function persistentCaptureTriggerNames(tid: number): string[] {
  const { clock } = captureNames(tid);
  return [`${clock}_upd`, `${clock}_chg`, `${clock}_del`];
}

/** The names of a synced table's TEMP capture triggers (lazy-capture.ts): key change, delete. */
export function lazyCaptureTriggerNames(tid: number): string[] {
  const { clock } = captureNames(tid);
  return [`${clock}_lazy_chg`, `${clock}_lazy_del`];
}

/** The names of every capture trigger a table has had in the file (format 1 also had `_ins`). */
export function captureTriggerNames(tid: number): string[] {
  return [`${captureNames(tid).clock}_ins`, ...persistentCaptureTriggerNames(tid)];
}

/**
 * Replaces a table's capture triggers and its update log with this version's (opening a file of
 * format 1, which had no update log). `dropped`: the caller has already dropped both
 * (schema-evolution.ts), so only the new ones are created. `keepUpdateLog`: only the triggers are
 * replaced (a file of format 2 or 3, whose update log has this layout and may hold entries).
 */
export function reinstallCaptureTriggers(db: SqlDatabase, shape: TableShape, tid: number, options: { dropped?: boolean; keepUpdateLog?: boolean } = {}): void {
  const { updated } = captureNames(tid);
  const n = shape.cols.length;
  const drops = options.dropped ? '' : captureTriggerNames(tid).map((name) => `DROP TRIGGER IF EXISTS ${name};`).join('\n');
  const log = options.keepUpdateLog ? '' : (options.dropped ? '' : `DROP TABLE IF EXISTS ${updated};`) + (n ? updateLogDdl(n, updated) : '');
  db.execRaw(drops + log + statements(captureParts(shape, tid).triggers()));
}

/**
 * End-of-exec: clock rows for the rows this exec inserted (?2: their rowids as a JSON array, from
 * the update hook; ?1: the stamp id). OR IGNORE: a rowid listed twice, or one whose row got a clock
 * row from a trigger meanwhile (key or rowid change). `checked` joins the table, for an exec that
 * also deleted rows or changed rowids, so a listed rowid with no row (anymore) gets nothing.
 */
export function materializeInsertsSql(shape: TableShape, tid: number, checked: boolean): string {
  const { clock } = captureNames(tid);
  const n = shape.cols.length;
  const s = range(n).map((i) => `s${i}`);
  const from = checked ? `json_each(?2) j JOIN ${quoteIdent(shape.name)} t ON t.rowid = j.value` : 'json_each(?2) j';
  return `INSERT OR IGNORE INTO ${clock}(rid, ver, put, del${n ? ', ' + s.join(', ') : ''}) SELECT j.value, ?1, ?1, NULL${n ? ', ' + s.map(() => '?1').join(', ') : ''} FROM ${from}`;
}

/**
 * materializeInsertsSql for rowids that form one consecutive run ?2..?3 (a bulk insert appends;
 * a one-row insert is a run of one): the rows now at those rowids, read by a range scan instead
 * of parsing a JSON array of every rowid. A row there was inserted by this exec or moved there by a trigger that gave it its
 * clock row already (OR IGNORE), as for the checked form.
 */
export function materializeInsertRunSql(shape: TableShape, tid: number): string {
  const { clock } = captureNames(tid);
  const n = shape.cols.length;
  const s = range(n).map((i) => `s${i}`);
  return `INSERT OR IGNORE INTO ${clock}(rid, ver, put, del${n ? ', ' + s.join(', ') : ''}) SELECT rowid, ?1, ?1, NULL${n ? ', ' + s.map(() => '?1').join(', ') : ''} FROM ${quoteIdent(shape.name)} WHERE rowid BETWEEN ?2 AND ?3`;
}

/**
 * End-of-exec fold of the delete log (run with the stamp id as parameter 1 for both statements):
 *  - a key that is live again (deleted and re-inserted within the exec) keeps the delete register
 *    it had before the exec: its new clock row got NULL because the tombstone did not exist yet;
 *  - a key that stays deleted becomes a tombstone with del = this exec's stamp, its values and
 *    other registers as of its last deletion.
 */
export function foldDeletesSql(shape: TableShape, tid: number): string[] {
  const { clock, tomb, deleted } = captureNames(tid);
  const T = quoteIdent(shape.name);
  const n = shape.cols.length;
  const join = shape.pk.map((c, i) => `t.${quoteIdent(c.name)} = x.k${i}`).join(' AND ');
  const kList = shape.pk.map((_, i) => `k${i}`).join(', ');
  const sList = range(n).map((i) => `s${i}`);
  const vList = range(n).map((i) => `v${i}`);
  const regs = ['put', 'del', ...sList, ...vList].join(', ');
  return [
    `UPDATE ${clock} SET del = m.del FROM (SELECT t.rowid AS rid, max(x.del) AS del FROM ${deleted} x JOIN ${T} t ON ${join} GROUP BY t.rowid) AS m
       WHERE ${clock}.rid = m.rid AND m.del IS NOT NULL`,
    `INSERT OR REPLACE INTO ${tomb}(${kList}, ver, ${regs})
       SELECT ${kList}, ?1, put, ?1${n ? ', ' + [...sList, ...vList].join(', ') : ''} FROM ${deleted} x
       WHERE seq IN (SELECT max(seq) FROM ${deleted} GROUP BY ${kList}) AND NOT EXISTS (SELECT 1 FROM ${T} t WHERE ${join})`,
    // A WHERE clause keeps SQLite from the truncate optimization, which the update hook does not see.
    `DELETE FROM ${deleted} WHERE seq > 0`,
  ];
}

/**
 * End-of-exec, when tombstones exist: a key inserted by this exec (clock ver = ?1) that has a
 * tombstone was deleted before; its clock row takes over the tombstone's delete register and the
 * tombstone goes. Done here, once per exec through the ver index, instead of two tombstone
 * probes in the insert trigger for every inserted row. Runs after foldDeletesSql, which may have
 * replaced the tombstone of a key inserted and deleted again within the exec.
 */
export function adoptTombstonesSql(shape: TableShape, tid: number): string[] {
  const { clock, tomb } = captureNames(tid);
  const T = quoteIdent(shape.name);
  const join = shape.pk.map((c, i) => `x.k${i} = t.${quoteIdent(c.name)}`).join(' AND ');
  const kList = shape.pk.map((_, i) => `k${i}`).join(', ');
  const pkList = shape.pk.map((c) => `t.${quoteIdent(c.name)}`).join(', ');
  return [
    `UPDATE ${clock} SET del = d.del FROM (SELECT c.rid AS rid, x.del AS del FROM ${clock} c JOIN ${T} t ON t.rowid = c.rid JOIN ${tomb} x ON ${join} WHERE c.ver = ?1) AS d
       WHERE ${clock}.rid = d.rid`,
    `DELETE FROM ${tomb} WHERE (${kList}) IN (SELECT ${pkList} FROM ${clock} c JOIN ${T} t ON t.rowid = c.rid WHERE c.ver = ?1)`,
  ];
}

/** Creates the capture tables and triggers of a table, registers it, returns its tid. */
export function installCapture(db: SqlDatabase, shape: TableShape): number {
  const tid = Number(db.get('SELECT coalesce(max(tid), 0) + 1 FROM _rb_tables')![0]);
  db.execRaw(captureDdl(shape, tid));
  db.run('INSERT INTO _rb_tables(name, tid, shape) VALUES (?, ?, ?)', [shape.name, tid, JSON.stringify(shape)]);
  return tid;
}

/** enableSync's backfill: every existing row gets a clock row stamped `stampId`. True if any row. */
export function backfill(db: SqlDatabase, shape: TableShape, tid: number, stampId: number): boolean {
  db.run(backfillSql(shape, tid), [stampId]);
  return Number(db.get('SELECT changes()')![0]) > 0;
}

function backfillSql(shape: TableShape, tid: number): string {
  const { clock } = captureNames(tid);
  const n = shape.cols.length;
  const s = range(n).map((i) => `s${i}`);
  return `INSERT INTO ${clock}(rid, ver, put, del${n ? ', ' + s.join(', ') : ''}) SELECT rowid, ?1, ?1, NULL${n ? ', ' + s.map(() => '?1').join(', ') : ''} FROM ${quoteIdent(shape.name)}`;
}
