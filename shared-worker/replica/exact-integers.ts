/**
 * No silent rounding in synced tables. SQLite stores 64-bit integers, but sql.js reads every
 * number as a JS double, so an integer beyond ±(2^53 - 1) would reach peers, the log and a reopen
 * as a nearby double (2^53 + 1 becomes 2^53), and even one a double holds exactly (2^60) prints
 * as another integer in JSON. So synced tables hold safe integers only: a bigger integer value,
 * key or rowid is refused where it enters (SQL at exec, SCHEMA at enableSync), naming the table,
 * column and exact value. REAL values of any size are fine: they round-trip as they are.
 *
 * The exec check costs nothing in the common case: only a captured number beyond the safe range
 * (a double read from SQLite) sends a query to SQLite to see whether it is stored as an integer.
 * Rowids come from the update hook (insert-capture.ts notes an unsafe one).
 */
import type { ChangeSet, SqlValue } from './contracts/change-set.js';
import { BatteryError } from '../protocol/errors.js';
import type { SqlDatabase } from './sql-database.js';
import { quoteIdent } from './sql-text.js';
import type { SyncedTable } from './synced-table.js';

const SAFE = '9007199254740991';

/** SQL: the expression holds an integer beyond the safe range. */
function unsafe(e: string): string {
  return `(typeof(${e}) = 'integer' AND (${e} > ${SAFE} OR ${e} < -${SAFE}))`;
}

function suspicious(v: SqlValue): boolean {
  return typeof v === 'number' && Math.abs(v) > Number.MAX_SAFE_INTEGER;
}

function refuse(code: 'SQL' | 'SCHEMA', table: string, column: string, exact: string): never {
  throw new BatteryError(
    code,
    `integer ${exact} in synced table "${table}" column "${column}" is beyond ±(2^53 - 1): JavaScript numbers would round it, so peers and a reopened database could hold another value. Store it as TEXT (or a BLOB), or as REAL if rounding is fine.`,
    { table, column, value: exact },
  );
}

/** Throws SQL if a value of `cs` (a local commit's changes) is an integer beyond the safe range. */
export function assertExactIntegers(db: SqlDatabase, cs: ChangeSet, resolve: (table: string) => SyncedTable | undefined): void {
  for (const t of cs.tables) {
    const table = resolve(t.table);
    if (!table) continue;
    for (const r of t.rows) {
      // Allocation-free unless something is beyond the safe range (this runs for every row of every exec).
      let cols: number[] | null = null;
      for (const c of r.cells) if (suspicious(c[1])) (cols ??= []).push(table.colIndex.get(t.columns[c[0]]!.toLowerCase())!);
      let key = false;
      for (const v of r.pk) if (suspicious(v)) key = true;
      if (key || cols !== null) checkRow(db, table, r.pk, cols ?? []);
    }
  }
}

function checkRow(db: SqlDatabase, t: SyncedTable, pk: SqlValue[], cols: number[]): void {
  const T = quoteIdent(t.shape.name);
  const names = [...t.shape.pk.map((c) => c.name), ...cols.map((c) => t.shape.cols[c]!.name)];
  const exprs = (live: boolean) => [...t.shape.pk.map((c, i) => (live ? quoteIdent(c.name) : `k${i}`)), ...cols.map((c) => (live ? quoteIdent(t.shape.cols[c]!.name) : `v${c}`))];
  const probe = (live: boolean) => {
    const where = live ? t.shape.pk.map((c) => `${quoteIdent(c.name)} = ?`).join(' AND ') : t.shape.pk.map((_, i) => `k${i} = ?`).join(' AND ');
    return db.get(`SELECT ${exprs(live).map((e) => `CASE WHEN ${unsafe(e)} THEN CAST(${e} AS TEXT) END`).join(', ')} FROM ${live ? T : t.names.tomb} WHERE ${where}`, pk);
  };
  const row = probe(true) ?? probe(false);
  if (!row) {
    // The key as read (a double) names no stored row: the stored key is an integer it rounded.
    const i = Math.max(0, pk.findIndex(suspicious));
    const col = quoteIdent(t.shape.pk[i]!.name);
    const stored = db.get(`SELECT CAST(${col} AS TEXT) FROM ${T} WHERE ${unsafe(col)} LIMIT 1`);
    refuse('SQL', t.shape.name, t.shape.pk[i]!.name, stored ? String(stored[0]) : String(pk[i]));
  }
  const i = row.findIndex((v) => v !== null);
  if (i >= 0) refuse('SQL', t.shape.name, names[i]!, String(row[i]));
}

/** Throws SCHEMA if the table already holds such an integer (enableSync, before its rows are stamped). */
export function assertTableHasExactIntegers(db: SqlDatabase, t: SyncedTable): void {
  const T = quoteIdent(t.shape.name);
  for (const c of [...t.shape.pk, ...t.shape.cols]) {
    const e = quoteIdent(c.name);
    const row = db.get(`SELECT CAST(${e} AS TEXT) FROM ${T} WHERE ${unsafe(e)} LIMIT 1`);
    if (row) refuse('SCHEMA', t.shape.name, c.name, String(row[0]));
  }
  const rowid = db.get(`SELECT CAST(rowid AS TEXT) FROM ${T} WHERE ${unsafe('rowid')} LIMIT 1`);
  if (rowid) refuse('SCHEMA', t.shape.name, 'rowid', String(rowid[0]));
}

/** The error for a row an exec put at a rowid beyond the safe range (noted by insert-capture.ts), read exactly from SQLite. */
export function unsafeRowidError(db: SqlDatabase, table: string, rowid: number): BatteryError {
  const exact = db.get(`SELECT CAST(rowid AS TEXT) FROM ${quoteIdent(table)} WHERE ${unsafe('rowid')} LIMIT 1`);
  const value = exact ? String(exact[0]) : BigInt(rowid).toString();
  return new BatteryError(
    'SQL',
    `rowid ${value} in synced table "${table}" is beyond ±(2^53 - 1): change capture and peers identify rows by numbers JavaScript would round. Use smaller keys or rowids.`,
    { table, rowid: value },
  );
}
