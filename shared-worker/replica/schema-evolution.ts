/**
 * ALTER TABLE on a synced table, run inside an exec (docs/schema-evolution.md):
 *   ADD COLUMN   the capture tables gain the column's register (and tombstone value), cells of
 *                that column kept as extra cells move into the table;
 *   DROP COLUMN  the column's cells (values and stamps) move to the extra cells, so they are still
 *                forwarded to peers that have the column; its registers leave the capture tables;
 *                its type is remembered (TableShape.dropped);
 *   RENAME, anything that changes the key or a kept column, and an ADD of a dropped column's name
 *   with another type, is refused (SCHEMA).
 *
 * Per altered table, around the user's statement: beforeAlter folds everything pending of the
 * running exec into clock rows and tombstones (the logs are laid out per column) and drops the
 * capture triggers (SQLite refuses to drop a column a trigger names); afterAlter reshapes the
 * capture tables and installs the triggers of the new shape. Both run inside the exec's
 * transaction, so a failing ALTER leaves everything as it was.
 */
import { affinityOf, captureNames, captureTriggerNames, captureTriggers, deleteLogDdl, deleteLogTable, reinstallCaptureTriggers, updateCaptureTrigger, updateLogTable } from './capture.js';
import type { SqlValue } from './contracts/change-set.js';
import { defaultClause, existingRowDefaults, unsafeDefaultColumn, unsafeDefaultMessage } from './column-default.js';
import { columnTypeOf } from './contracts/schema-descriptor.js';
import { BatteryError } from '../protocol/errors.js';
import { REFUSE_FUNCTION, withCaptureOff } from './internal-schema.js';
import { dropLazyCaptureSql, storedLazyCaptureTriggers } from './lazy-capture.js';
import type { SqlDatabase } from './sql-database.js';
import { rewriteSchemaText } from './schema-text-rewrite.js';
import { quoteIdent, quoteString, sqlTokens, type SqlToken } from './sql-text.js';
import { compareStamps, type StampStore } from './stamps.js';
import { infoFingerprint, inspectSyncableTable, type ColumnShape, type TableShape } from './sync-schema.js';
import { makeSyncedTable, type SyncedTable } from './synced-table.js';

export type AlterAction = 'add' | 'drop' | 'rename' | 'other';

export interface AlterStatement {
  /** The table as written (unquoted). */
  table: string;
  action: AlterAction;
}

/** A keyword (upper case); '' for a quoted name, a literal or punctuation. */
const word = (t: SqlToken | undefined): string => (t?.kind === 'word' ? t.raw.toUpperCase() : '');
/** The name a token stands for: bare, quoted, or a string literal (SQLite takes one as a name there). */
const name = (t: SqlToken | undefined): string => (t === undefined ? '' : t.text);

/** The last text read and what it gave: an exec reads its ALTER twice (loneAddColumn, then its check). */
let lastRead: { sql: string; alter: AlterStatement | null } | null = null;

/** The table and action of an `ALTER TABLE` statement of the main database, else null. */
export function parseAlterTable(sql: string): AlterStatement | null {
  if (lastRead?.sql !== sql) lastRead = { sql, alter: readAlterTable(sql) };
  return lastRead.alter;
}

function readAlterTable(sql: string): AlterStatement | null {
  const t = sqlTokens(sql, 8);
  if (word(t[0]) !== 'ALTER' || word(t[1]) !== 'TABLE') return null;
  let at = 2;
  let table = name(t[at]);
  if (t[at + 1]?.kind === 'punct' && t[at + 1]!.raw === '.') {
    if (table.toLowerCase() !== 'main') return null;
    at += 2;
    table = name(t[at]);
  }
  const verb = word(t[at + 1]);
  const action: AlterAction = verb === 'ADD' ? 'add' : verb === 'DROP' ? 'drop' : verb === 'RENAME' ? 'rename' : 'other';
  return { table, action };
}

function refuse(table: string, message: string): never {
  throw new BatteryError('SCHEMA', `synced table "${table}": ${message}`, { table });
}

/** Refuses the ALTER forms a synced table cannot take, saying what to do instead. */
export function checkAlter(t: SyncedTable, alter: AlterStatement): void {
  if (alter.action === 'rename') {
    refuse(t.shape.name, 'renaming a synced table or one of its columns is refused: peers still on the old name would lose track of its cells. ' +
      'Add a column with the new name (ALTER TABLE ... ADD COLUMN), copy the values with UPDATE, and drop the old column in a later migration; ' +
      'for a table, create the new table, copy the rows and enableSync it.');
  }
  if (alter.action === 'other') refuse(t.shape.name, 'only ADD COLUMN and DROP COLUMN are supported on a synced table.');
}

/**
 * Before the ALTER statement: the table's capture state holds nothing pending (the caller has
 * folded the exec's inserts, deletes and updates), its triggers go, and for a DROP COLUMN the
 * values and stamps of every column are copied to the extra cells (only the dropped one's stay,
 * afterAlter removes the rest: which column goes is only known afterwards).
 */
export function beforeAlter(db: SqlDatabase, t: SyncedTable, action: AlterAction): void {
  db.execRaw(dropLazyCaptureSql(db) + captureTriggerNames(t.tid).map((n) => `DROP TRIGGER IF EXISTS ${n};`).join('\n'));
  if (action !== 'drop') return;
  const { clock, tomb, extra } = t.names;
  const k = t.shape.pk.length;
  const kList = Array.from({ length: k }, (_, i) => `k${i}`).join(', ');
  const pk = t.shape.pk.map((c) => `t.${quoteIdent(c.name)}`).join(', ');
  t.shape.cols.forEach((c, i) => {
    db.run(`INSERT OR REPLACE INTO ${extra}(${kList}, col, val, v) SELECT ${pk}, ?, t.${quoteIdent(c.name)}, c.s${i} FROM ${clock} c JOIN ${quoteIdent(t.shape.name)} t ON t.rowid = c.rid WHERE c.s${i} IS NOT NULL`, [c.name]);
    db.run(`INSERT OR REPLACE INTO ${extra}(${kList}, col, val, v) SELECT ${kList}, ?, v${i}, s${i} FROM ${tomb} WHERE s${i} IS NOT NULL`, [c.name]);
  });
}

const lower = (c: ColumnShape) => c.name.toLowerCase();
const sameColumn = (a: ColumnShape, b: ColumnShape) => lower(a) === lower(b) && a.type.trim().toUpperCase() === b.type.trim().toUpperCase() && a.notNull === b.notNull;

/** After the ALTER statement: the capture tables follow the table's new columns. Returns the table's new form. */
export function afterAlter(db: SqlDatabase, stamps: StampStore, t: SyncedTable): SyncedTable {
  // Only this table changed: another table cannot have gained a foreign key to it (its own
  // foreign keys, which ADD COLUMN ... REFERENCES would add, are checked).
  const now = inspectSyncableTable(db, t.shape.name, { referrers: false });
  const old = t.shape;
  if (now.pk.length !== old.pk.length || now.pk.some((c, i) => !sameColumn(c, old.pk[i]!))) {
    refuse(old.name, 'its primary key cannot change: rows are matched across peers by key. Create a new table with the new key, copy the rows and enableSync it.');
  }
  const kept = old.cols.filter((c) => now.cols.some((d) => lower(d) === lower(c)));
  for (const c of kept) {
    if (!sameColumn(c, now.cols.find((d) => lower(d) === lower(c))!)) {
      refuse(old.name, `column "${c.name}" cannot change its type: peers compare column types. Add a new column instead.`);
    }
  }
  const added = now.cols.filter((c) => !old.cols.some((d) => lower(d) === lower(c)));
  checkReAdds(old, added);
  const unsafe = unsafeDefaultColumn(db, added);
  if (unsafe) refuse(old.name, unsafeDefaultMessage(unsafe));
  const { clock, tomb, updated, extra } = t.names;
  // Dropped columns leave the capture tables; later register columns move down one place each,
  // so that register i is still column i (renames are schema-only, no row is rewritten).
  let cols = [...old.cols];
  for (let i = cols.length - 1; i >= 0; i--) {
    if (now.cols.some((d) => lower(d) === lower(cols[i]!))) continue;
    const n = cols.length;
    const shift: string[] = [];
    for (let j = i + 1; j < n; j++) {
      for (const tab of [clock, tomb]) shift.push(`ALTER TABLE ${tab} RENAME COLUMN s${j} TO s${j - 1};`);
      shift.push(`ALTER TABLE ${tomb} RENAME COLUMN v${j} TO v${j - 1};`);
    }
    db.execRaw(`ALTER TABLE ${clock} DROP COLUMN s${i}; ALTER TABLE ${tomb} DROP COLUMN s${i}; ALTER TABLE ${tomb} DROP COLUMN v${i};` + shift.join('\n'));
    cols.splice(i, 1);
  }
  const next = [...cols, ...added];
  if (next.length !== now.cols.length || next.some((c, i) => lower(c) !== lower(now.cols[i]!))) {
    refuse(old.name, 'its columns changed in a way ADD/DROP COLUMN cannot (new columns are expected at the end)');
  }
  // Columns added by ALTER read their DEFAULT where no peer wrote them (merge.ts uses `added`).
  const wasAdded = new Set([...old.cols.filter((c) => c.added), ...added].map(lower));
  const shape: TableShape = { ...now, cols: now.cols.map((c) => (wasAdded.has(lower(c)) ? { ...c, added: true } : c)) };
  const gone = droppedColumns(old, now.cols);
  if (gone.length > 0) shape.dropped = gone;
  const dropped = cols.length < old.cols.length;
  // The extra cells of every kept column were only copied in case it was dropped (beforeAlter).
  if (dropped) for (const c of cols) db.run(`DELETE FROM ${extra} WHERE col = ? COLLATE NOCASE`, [c.name]);
  const inPlace = !dropped && added.length > 0 && old.cols.length > 0 && addColumnsInPlace(db, t, shape, added);
  if (!inPlace) {
    for (const c of added) {
      const n = cols.length;
      // A DEFAULT that is not constant (possible when the table was empty) reads NULL in older
      // rows, and SQLite refuses it in an ADD to a table with rows, as the tombstones may be.
      const value = existingRowDefaults(db, [c])[0] === null ? { ...c, dflt: null } : c;
      db.execRaw(`ALTER TABLE ${clock} ADD COLUMN s${n} INTEGER; ALTER TABLE ${tomb} ADD COLUMN s${n} INTEGER;
        ALTER TABLE ${tomb} ADD COLUMN ${tombValueColumn(value, n)};`);
      cols.push(c);
    }
    // The logs are empty (the exec's changes were folded before the ALTER): recreated in the new layout.
    db.execRaw(`DROP TABLE IF EXISTS ${updated}; DROP TABLE IF EXISTS ${t.names.deleted}; ${deleteLogDdl(shape, t.tid)}`);
  }
  db.run('UPDATE _rb_tables SET shape = ? WHERE tid = ?', [JSON.stringify(shape), t.tid]);
  const synced = makeSyncedTable(shape, t.tid);
  for (const c of added) materializeExtraCells(db, stamps, synced, c.name);
  if (!inPlace) reinstallCaptureTriggers(db, shape, t.tid, { dropped: true });
  return synced;
}

/**
 * A column added back under the name of a dropped one must have the type it had: its kept cells
 * come back into it, and peers that still have the old column compare types per column
 * (columnTypeOf, the hello's rule), so another type would split them on the whole table.
 */
function checkReAdds(old: TableShape, added: ColumnShape[]): void {
  for (const c of added) {
    const was = old.dropped?.find((d) => lower(d) === lower(c));
    if (!was || columnTypeOf(was) === columnTypeOf(c)) continue;
    refuse(old.name, `column "${c.name}" was dropped as ${typeText(was)} and cannot come back as ${typeText(c)}: ` +
      'its kept cells and peers still on the old column expect the old type. Add a column under a new name instead (and copy the values with UPDATE), ' +
      `or add it back as ${typeText(was)}.`);
  }
}

const typeText = (c: ColumnShape) => columnTypeOf(c) || 'no declared type';

/** The dropped columns to remember after a statement: the earlier ones not added back, and those it dropped. */
function droppedColumns(old: TableShape, nowCols: ColumnShape[]): ColumnShape[] {
  const gone = (c: ColumnShape) => !nowCols.some((d) => lower(d) === lower(c));
  const fresh = old.cols.filter(gone).map(({ name, type, notNull }) => ({ name, type, notNull }));
  return [...(old.dropped ?? []).filter((d) => gone(d) && !fresh.some((f) => lower(f) === lower(d))), ...fresh];
}

/** The tombstone column holding column `c`'s last value, as register n (its default for older tombstones). */
const tombValueColumn = (c: ColumnShape, n: number) => `v${n} ${affinityOf(c.type)}${defaultClause(c.dflt)}`;

/**
 * ADD COLUMN without DDL on the capture objects (schema-text-rewrite.ts, docs/schema-evolution.md):
 * the clock and tombstone tables' stored text gains the new register columns exactly where
 * SQLite's ALTER TABLE ... ADD COLUMN would put them (before the table constraint, alter.c
 * sqlite3AlterFinishAddColumn), which like that ALTER leaves every stored row as it is (a row
 * shorter than its table reads the missing columns' defaults). The two logs are empty here
 * (folded before the ALTER) and get the text of a fresh install of the new shape, as do the
 * triggers (dropped by beforeAlter). False, having changed nothing, when a stored text is not of
 * the form this code writes or a log table is missing.
 */
function addColumnsInPlace(db: SqlDatabase, t: SyncedTable, shape: TableShape, added: ColumnShape[]): boolean {
  const { clock, tomb, updated, deleted } = t.names;
  const read = db.all('SELECT type, name, sql, (SELECT schema_version FROM pragma_schema_version) FROM sqlite_schema WHERE name IN (?, ?, ?, ?)', [clock, tomb, updated, deleted]);
  const texts = captureTextsForAdd(t, shape, added, new Map(read.map((r) => [`${String(r[0])} ${String(r[1])}`, r[2]])));
  if (!texts) return false;
  // beforeAlter dropped the triggers: inserted, and the change announced (the ALTER ran already).
  rewriteSchemaText(db, { rows: texts.tables, addTriggers: texts.triggers.map((r) => ({ ...r, table: shape.name })), announceFrom: Number(read[0]![3]) });
  return true;
}

/**
 * The capture objects' stored texts for `shape` (the old one plus `added`), given `stored` (key
 * "type name" -> stored sql, read from sqlite_schema); null when a stored text is not of the form
 * this code writes or a log table is missing.
 */
function captureTextsForAdd(t: SyncedTable, shape: TableShape, added: ColumnShape[], stored: Map<string, unknown>) {
  const { clock, tomb, updated, deleted } = t.names;
  const triggers = captureTriggers(shape, t.tid);
  const storedClock = stored.get(`table ${clock}`);
  const storedTomb = stored.get(`table ${tomb}`);
  const tombEnd = `, PRIMARY KEY(${shape.pk.map((_, i) => `k${i}`).join(', ')}))`;
  if (!stored.has(`table ${updated}`) || !stored.has(`table ${deleted}`)) return null;
  if (typeof storedClock !== 'string' || !storedClock.endsWith(' INTEGER)') || typeof storedTomb !== 'string' || !storedTomb.endsWith(tombEnd)) return null;
  let clockSql = storedClock;
  let tombSql = storedTomb;
  let n = shape.cols.length - added.length;
  for (const c of added) {
    clockSql = `${clockSql.slice(0, -1)}, s${n} INTEGER)`;
    tombSql = `${tombSql.slice(0, -tombEnd.length)}, s${n} INTEGER, ${tombValueColumn(c, n)}${tombEnd}`;
    n++;
  }
  const tables = [
    { type: 'table' as const, name: clock, sql: clockSql },
    { type: 'table' as const, name: tomb, sql: tombSql },
    { type: 'table' as const, name: deleted, sql: deleteLogTable(shape, t.tid) },
    { type: 'table' as const, name: updated, sql: updateLogTable(shape.cols.length, updated) },
  ];
  return { tables, triggers };
}

/**
 * The extra cells of column `column` (which `t` now has) become its registers: a live row takes
 * the value, a tombstone keeps it, a key this replica knows nothing else of gets a tombstone
 * holding just that cell (as the merge would have made it).
 */
function materializeExtraCells(db: SqlDatabase, stamps: StampStore, t: SyncedTable, column: string): void {
  const { extra } = captureNames(t.tid);
  const kList = t.shape.pk.map((_, i) => `k${i}`);
  const cells = db.all(`SELECT ${kList.join(', ')}, val, v FROM ${extra} WHERE col = ? COLLATE NOCASE`, [column]);
  const idx = t.colIndex.get(column.toLowerCase())!;
  if (cells.length === 0) return;
  // These writes are the replica's, not the exec's: the capture triggers of the new shape may be
  // installed already (addColumnsInPlace), so they are switched off meanwhile.
  withCaptureOff(db, () => writeExtraCells(db, stamps, t, idx, cells));
  db.run(`DELETE FROM ${extra} WHERE col = ? COLLATE NOCASE`, [column]);
}

function writeExtraCells(db: SqlDatabase, stamps: StampStore, t: SyncedTable, idx: number, cells: SqlValue[][]): void {
  const { clock, tomb } = captureNames(t.tid);
  const k = t.shape.pk.length;
  const kList = Array.from({ length: k }, (_, i) => `k${i}`);
  const tombWhere = kList.map((c) => `${c} = ?`).join(' AND ');
  for (const cell of cells) {
    const pk = cell.slice(0, k) as SqlValue[];
    const val = cell[k] as SqlValue;
    const v = Number(cell[k + 1]);
    const live = db.get(t.sql.selectLive, pk);
    if (live) {
      const cur = live[4 + idx] as number | null;
      if (cur !== null && compareStamps(stamps.stamp(cur), stamps.stamp(v)) >= 0) continue;
      db.run(`UPDATE ${quoteIdent(t.shape.name)} SET ${quoteIdent(t.shape.cols[idx]!.name)} = ? WHERE rowid = ?`, [val, live[0] as number]);
      db.run(`UPDATE ${clock} SET s${idx} = ?, ver = max(ver, ?) WHERE rid = ?`, [v, v, live[0] as number]);
      continue;
    }
    const dead = db.get(`SELECT s${idx} FROM ${tomb} WHERE ${tombWhere}`, pk);
    if (dead) {
      const cur = dead[0] as number | null;
      if (cur !== null && compareStamps(stamps.stamp(cur), stamps.stamp(v)) >= 0) continue;
      db.run(`UPDATE ${tomb} SET s${idx} = ?, v${idx} = ?, ver = max(ver, ?) WHERE ${tombWhere}`, [v, val, v, ...pk]);
    } else {
      db.run(`INSERT INTO ${tomb}(${kList.join(', ')}, ver, put, del, s${idx}, v${idx}) VALUES (${kList.map(() => '?').join(', ')}, ?, NULL, NULL, ?, ?)`, [...pk, v, v, val]);
    }
  }
}

/** What addBeforeAlter prepared: the table's shape once the predicted column is in it. */
export interface PredictedAdd {
  table: SyncedTable;
  shape: TableShape;
  /** The PRAGMA table_xinfo row the ALTER must add (cid, name, type, notnull, dflt_value, pk, hidden). */
  column: SqlValue[];
}

const ADD_SAVEPOINT = '_rb_add_column';

/** A statement that fails (REFUSE_FUNCTION) when `condition` holds. */
const refuseWhen = (condition: string, why: string) => `SELECT ${REFUSE_FUNCTION}(${quoteString(why)}) WHERE ${condition};`;

/**
 * The shape fingerprint `old` will have with `column` added (the ALTER adds it last), computed
 * from the shape alone. infoFingerprint reads the columns in table order, which a shape keeps
 * only within its key and within its other columns: the usual orders are tried (the key first,
 * or a one-column key at any place), each checked against the fingerprint stored with the shape.
 * Null when none gives it.
 */
function predictedFingerprint(old: TableShape, column: ColumnShape): string | null {
  // infoFingerprint's input: table_xinfo's (cid, name, type, notnull, pk) per column.
  const row = (c: ColumnShape, pk: number) => [0, c.name, c.type, c.notNull ? 1 : 0, pk];
  const keys = old.pk.map((c, i) => row(c, i + 1));
  const cols = old.cols.map((c) => row(c, 0));
  const places = old.pk.length === 1 ? cols.length + 1 : 1;
  for (let at = 0; at < places; at++) {
    const rows = [...cols.slice(0, at), ...keys, ...cols.slice(at)];
    if (infoFingerprint(rows) === old.fingerprint) return infoFingerprint([...rows, row(column, 0)]);
  }
  return null;
}

/**
 * ADD COLUMN with the column known before the ALTER runs (added-column.ts): the capture objects'
 * stored rows and the table's stored shape are rewritten for the new shape now WITHOUT telling
 * the connection. The user's ALTER then reloads the whole schema, parsing these rows with it: one
 * reload instead of two, and no DROP TRIGGER. Until that reload the connection still holds the
 * old in-memory schema, which only the ALTER reads (its own table's definition, untouched here).
 *
 * One call into sql.js and nothing read before it (run cold, a migration at start-up, every
 * statement costs ~0.15 ms CPU, more than the work it does): the clock and tombstone texts are
 * edited in place, the other texts written whole, and a check in the same call stops it when this
 * path does not fit: a capture row not of the form this code writes, kept cells or parked rows of
 * the table (the inspecting way moves them in). `meta` (SQL) runs in the call, before the ALTER;
 * `alter` (the user's statement) runs last in it, when given. The call runs inside a savepoint
 * (and opens the transaction when the caller deferred its BEGIN); if any of its statements fails
 * (the check, or the ALTER itself), everything since the savepoint is undone and null returned:
 * the caller then takes the inspecting way, which runs the ALTER again (and fails it with
 * SQLite's own message if the ALTER was the problem). Null, having changed nothing, also when
 * this path does not apply. addAfterAlter then checks the column the ALTER made; or, for a text of
 * the form SQLite reads one way (canonicalAddedColumn), `commit` ends the call with the COMMIT of
 * the transaction it opened (a failure leaves that transaction open, rolled back to the savepoint).
 */
export function addBeforeAlter(db: SqlDatabase, t: SyncedTable, column: ColumnShape, run: { meta: string; alter?: string; commit?: boolean }): PredictedAdd | null {
  const old = t.shape;
  // A name taken, or a dropped column's (whose type checkReAdds compares with the real one): the inspecting way.
  if (old.cols.length === 0 || [...old.pk, ...old.cols, ...(old.dropped ?? [])].some((c) => lower(c) === lower(column))) return null;
  // A DEFAULT no synced table may have: the inspecting way refuses it (afterAlter).
  if (unsafeDefaultColumn(db, [column])) return null;
  const fingerprint = predictedFingerprint(old, column);
  if (fingerprint === null) return null;
  const shape: TableShape = { name: old.name, pk: old.pk, cols: [...old.cols, { ...column, added: true }], rowidAlias: old.rowidAlias, fingerprint };
  if (old.dropped) shape.dropped = old.dropped;
  const { clock, tomb, updated, deleted, extra } = t.names;
  const n = old.cols.length;
  const tombEnd = `, PRIMARY KEY(${shape.pk.map((_, i) => `k${i}`).join(', ')}))`;
  const rows = [
    { type: 'table' as const, name: deleted, sql: deleteLogTable(shape, t.tid) },
    // Entries the update log still holds stay as they are: its text only gains a mark column,
    // which they read as NULL (cell unchanged), as any ADD COLUMN leaves the rows it finds. The
    // delete log is empty between statements of an exec that get here (see replica.ts runAltering).
    { type: 'table' as const, name: updated, sql: updateLogTable(shape.cols.length, updated) },
    // Only the update trigger names the columns: the guards (_chg, _del) stay as they are.
    { type: 'trigger' as const, ...updateCaptureTrigger(shape, t.tid) },
  ];
  // The register columns go where SQLite's ADD COLUMN puts them (see addColumnsInPlace).
  const splices = [
    { name: clock, mustEndWith: ' INTEGER)', cut: 1, insert: `, s${n} INTEGER)` },
    { name: tomb, mustEndWith: tombEnd, cut: tombEnd.length, insert: `, s${n} INTEGER, ${tombValueColumn(column, n)}${tombEnd}` },
  ];
  const cells = `EXISTS (SELECT 1 FROM ${extra} WHERE col = ${quoteString(column.name)} COLLATE NOCASE)`;
  const parked = `EXISTS (SELECT 1 FROM _rb_parked WHERE tbl = ${quoteString(old.name.toLowerCase())})`;
  try {
    rewriteSchemaText(db, {
      rows,
      splices,
      savepoint: ADD_SAVEPOINT,
      check: (rewritten) => refuseWhen(`${rewritten} <> ${rows.length + splices.length} OR ${cells} OR ${parked}`, 'a capture row missing or of another form, or kept cells or parked rows to move in'),
      // The TEMP capture triggers of the table, where installed, get the new shape's text: the
      // ALTER's reload parses them with the rest (lazy-capture.ts), where dropping them left the
      // next delete or key change to create them again (~1.3 ms CPU cold, schema-bench.ts).
      tempTriggers: storedLazyCaptureTriggers(db, shape, t.tid),
      // A newline after the user's ALTER: its text may end in a -- comment.
      then: `UPDATE _rb_tables SET shape = ${quoteString(JSON.stringify(shape))} WHERE tid = ${t.tid};${run.meta}${run.alter === undefined ? '' : `\n${run.alter}\n`}${run.commit ? ';COMMIT;' : ''}`,
    });
  } catch {
    db.execRaw(`ROLLBACK TO ${ADD_SAVEPOINT}; RELEASE ${ADD_SAVEPOINT}`);
    return null;
  }
  return { table: t, shape, column: [old.pk.length + n, column.name, column.type, column.notNull ? 1 : 0, column.dflt ?? null, 0, 0] };
}

/**
 * After the ALTER of addBeforeAlter: the table's columns must be the old ones (as the fingerprint
 * compares them) and the predicted one last, else everything since the savepoint (the rewrite,
 * the shape and the ALTER) is undone and null returned (the caller then runs the ALTER the
 * inspecting way).
 */
export function addAfterAlter(db: SqlDatabase, p: PredictedAdd, options: { release: boolean } = { release: true }): SyncedTable | null {
  // The PRAGMA statement: in a SELECT, pragma_table_xinfo (a virtual table that declares its
  // columns and prepares the PRAGMA each time) cost ~0.3 ms more, cold.
  const now = db.all(`PRAGMA table_xinfo(${quoteIdent(p.shape.name)})`);
  const last = now.at(-1);
  const fits = last !== undefined && last.length === 7 && last.every((v, j) => v === p.column[j]) &&
    infoFingerprint(now.map(([cid, name, type, notNull, , pk]) => [cid, name, type, notNull, pk])) === p.shape.fingerprint;
  if (!fits) {
    db.execRaw(`ROLLBACK TO ${ADD_SAVEPOINT}; RELEASE ${ADD_SAVEPOINT}`);
    return null;
  }
  // Not released when nothing else runs before the exec's COMMIT, which ends the savepoint with the transaction.
  if (options.release) db.execRaw(`RELEASE ${ADD_SAVEPOINT}`);
  return makeSyncedTable(p.shape, p.table.tid);
}
