/**
 * Merging a validated change set into the registers (inside the caller's transaction, capture
 * triggers off). Per row: read the current registers (live clock row or tombstone), take every
 * incoming register that is newer by (hlc, node), then make the data table show exactly what the
 * registers say: visible iff put > del, each column = its cell register's value (NULL if none).
 * Because the result depends only on the registers, any order of batches, with duplicates, ends
 * in the same tables.
 */
import type { CellChange, ChangeSet, RowDelta, SqlValue, TableDelta } from './contracts/change-set.js';
import { ChangeSetBuilder } from './delta.js';
import type { ValidatedBatch, ValidatedTable } from './remote-validation.js';
import { materializeInsertsSql } from './capture.js';
import { existingRowDefaults } from './column-default.js';
import type { SqlDatabase } from './sql-database.js';
import { compareStamps, type Stamp, type StampStore } from './stamps.js';
import { updateCellsSql, type SyncedTable } from './synced-table.js';
import { quoteIdent } from './sql-text.js';

export interface MergeResult {
  applied: number;
  changes: ChangeSet | null;
  tables: string[];
  /**
   * Rows that would have become live here without a value for a NOT NULL column that has no
   * DEFAULT (a peer whose table lacks the column, one that dropped it, sent them), as received:
   * nothing of them was written. The caller parks them (parked-registers.ts) rather than refuse
   * the batch, which stopped sync with that peer for good.
   */
  unfit: ChangeSet | null;
}

export interface MergeOptions {
  /**
   * No user trigger can write synced tables during this merge, so the merge may pick rowids for
   * new rows itself (max + 1) instead of asking SQLite for each (RETURNING costs ~1 us a row).
   */
  ownRowids: boolean;
}

function getRow(db: SqlDatabase, sql: string, params: SqlValue[]): SqlValue[] | undefined {
  const stmt = db.prepare(sql);
  try {
    stmt.bind(params as never);
    return stmt.step() ? (stmt.get() as SqlValue[]) : undefined;
  } finally {
    stmt.reset();
  }
}

/** Most clock rows written by one statement (see TableMerge.pendingClock), and a bound on its parameters. */
const CLOCK_BATCH = 64;
const MAX_PARAMS = 999;

/** `INSERT INTO clock(rid, ver, put, del, s0..) VALUES (...), (...)` for `rows` rows. */
function insertClocksSql(t: SyncedTable, rows: number): string {
  const byRows = t.insertClocksByRows;
  let sql = byRows.get(rows);
  if (!sql) {
    const one = `(${Array.from({ length: 4 + t.shape.cols.length }, () => '?').join(', ')})`;
    sql = `INSERT INTO ${t.names.clock}(rid, ver, put, del${t.shape.cols.map((_, i) => `, s${i}`).join('')}) VALUES ${Array.from({ length: rows }, () => one).join(', ')}`;
    byRows.set(rows, sql);
  }
  return sql;
}

/**
 * Set-based merge (see TableMerge.run): rows per chunk, and the smallest batch it is used for
 * (below it, the fixed-size statements' padding costs more than the per-row statements it saves).
 */
const CHUNK_ROWS = 128;
const MIN_SET_BASED_ROWS = 16;

const setSqlByTable = new WeakMap<SyncedTable, Map<string, string>>();

function setSql(t: SyncedTable, key: string, make: () => string): string {
  let m = setSqlByTable.get(t);
  if (!m) setSqlByTable.set(t, m = new Map());
  let sql = m.get(key);
  if (sql === undefined) m.set(key, sql = make());
  return sql;
}

/** `(?, ?), (?, ?)`: `rows` rows of `width` parameters. */
function valuesRows(rows: number, width: number): string {
  const one = `(${Array.from({ length: width }, () => '?').join(', ')})`;
  return Array.from({ length: rows }, () => one).join(', ');
}

/**
 * Registers of up to `rows` live rows by key, in selectLive's layout after the slot number:
 * slot, rid, ver, put, del, s0... A slot whose key is NULL matches nothing (padding). CROSS JOIN
 * keeps the VALUES list the outer loop (one index lookup per key; see selectLive for the Bloom
 * filter a planner-chosen join may build over the clock table).
 */
function prefetchLiveSql(t: SyncedTable, rows: number): string {
  return setSql(t, `prefetch:${rows}`, () => {
    const on = t.shape.pk.map((c, i) => `t.${quoteIdent(c.name)} = v.column${i + 2}`).join(' AND ');
    const regs = ['put', 'del', ...t.shape.cols.map((_, i) => `s${i}`)].map((r) => `c.${r}`).join(', ');
    return `SELECT v.column1, c.rid, c.ver, ${regs} FROM (VALUES ${valuesRows(rows, 1 + t.shape.pk.length)}) AS v`
      + ` CROSS JOIN ${quoteIdent(t.shape.name)} t ON ${on} CROSS JOIN ${t.names.clock} c ON c.rid = t.rowid`;
  });
}

/** updateCellsSql for `rows` rows at once: VALUES (rid, value per column in `cols`); a NULL rid matches nothing. */
function updateCellsManySql(t: SyncedTable, cols: number[], rows: number): string {
  return setSql(t, `cells:${rows}:${cols.join(',')}`, () => {
    const T = quoteIdent(t.shape.name);
    const sets = cols.map((c, i) => `${quoteIdent(t.shape.cols[c]!.name)} = v.column${i + 2}`).join(', ');
    return `UPDATE ${T} SET ${sets} FROM (VALUES ${valuesRows(rows, 1 + cols.length)}) AS v WHERE ${T}.rowid = v.column1`;
  });
}

/** updateClock for `rows` rows at once: VALUES (rid, ver, put, del, s0..); a NULL rid matches nothing. */
function updateClocksManySql(t: SyncedTable, rows: number): string {
  return setSql(t, `clocks:${rows}`, () => {
    const regs = ['ver', 'put', 'del', ...t.shape.cols.map((_, i) => `s${i}`)];
    const sets = regs.map((r, i) => `${r} = v.column${i + 2}`).join(', ');
    return `UPDATE ${t.names.clock} SET ${sets} FROM (VALUES ${valuesRows(rows, 1 + regs.length)}) AS v WHERE ${t.names.clock}.rid = v.column1`;
  });
}

const defaultsByTable = new WeakMap<SyncedTable, SqlValue[]>();

/**
 * Per column, the value of a row no peer wrote the column for (a row from a peer whose table
 * lacks the column): what peers that add the column later show for the rows they had, its DEFAULT
 * when that is constant as SQLite's ADD COLUMN requires; else NULL, the same on every replica
 * (column-default.ts). A NOT NULL column cannot hold NULL, and a row refused would stop the whole
 * batch (a version-1 `created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP` that version 2 dropped):
 * there the DEFAULT is evaluated for each batch (as SQLite evaluates CURRENT_TIMESTAMP once per
 * statement; a random() gets one value per batch), so such a row reads what a row inserted here
 * without the column would (each replica its own time).
 */
function defaultsOf(db: SqlDatabase, t: SyncedTable): SqlValue[] {
  let d = defaultsByTable.get(t);
  if (!d) {
    d = existingRowDefaults(db, t.shape.cols);
    defaultsByTable.set(t, d);
  }
  const cols = t.shape.cols;
  if (!cols.some((c, i) => d[i] === null && c.notNull && c.dflt != null)) return d;
  return cols.map((c, i) => (d[i] === null && c.notNull && c.dflt != null ? evaluated(db, c.dflt) : d[i]!));
}

/** `dflt` evaluated on this connection now; null when it cannot be (the insert then fails as before). */
function evaluated(db: SqlDatabase, dflt: string): SqlValue {
  try {
    // A newline: dflt_value may end in a -- comment.
    return db.get(`SELECT ${dflt}\n`)![0] as SqlValue;
  } catch {
    return null;
  }
}

const UNIQUE_FAILED = /UNIQUE constraint failed/;

function isUniqueViolation(e: unknown): boolean {
  return UNIQUE_FAILED.test(e instanceof Error ? e.message : String(e));
}

export function mergeBatch(db: SqlDatabase, stamps: StampStore, batch: ValidatedBatch, options: MergeOptions): MergeResult {
  const out = new ChangeSetBuilder();
  const interned = new Map<string, number>();
  // Batches usually carry few distinct stamps (one per exec at the origin): remember the last
  // two. Two, not one: a row inserted by one exec and updated by another alternates between two
  // stamps within each row, and every miss builds and hashes a string key (with one remembered,
  // those misses were a visible share of a large apply's CPU profile).
  let last: Stamp | null = null;
  let lastV = 0;
  let prev: Stamp | null = null;
  let prevV = 0;
  const intern = (s: Stamp): number => {
    if (last !== null && last.hlc === s.hlc && last.node === s.node) return lastV;
    let v: number | undefined;
    if (prev !== null && prev.hlc === s.hlc && prev.node === s.node) v = prevV;
    else {
      const key = `${s.hlc}/${s.node}`;
      v = interned.get(key);
      if (v === undefined) {
        v = stamps.intern(s.hlc, s.node);
        interned.set(key, v);
      }
    }
    prev = last;
    prevV = lastV;
    last = s;
    lastV = v;
    return v;
  };
  let applied = 0;
  const touched: string[] = [];
  const unfit: TableDelta[] = [];
  for (const vt of batch.tables) {
    const merge = new TableMerge(db, stamps, batch.nodes, vt.table, intern, out, options);
    const taken = merge.run(vt);
    if (taken > 0) {
      applied += taken;
      if (!touched.includes(vt.table.shape.name)) touched.push(vt.table.shape.name);
    }
    if (merge.unfit.length > 0) {
      const columns = vt.colMap.map((c) => (c >= 0 ? vt.table.shape.cols[c]!.name : vt.unknown[-1 - c]!));
      unfit.push({ table: vt.table.shape.name, columns, rows: merge.unfit });
    }
  }
  const changes = out.build();
  return { applied, changes: changes.tables.length > 0 ? changes : null, tables: touched, unfit: unfit.length > 0 ? { nodes: batch.nodes, tables: unfit } : null };
}

/** What the registers of a merged row were before this row: a live row, a tombstone, or nothing. */
type RowState = 'live' | 'tomb' | 'unknown';

class TableMerge {
  private readonly n: number;
  private hasTombs: boolean;
  /** The table had no rows and no tombstones when the batch started: a key not yet merged by this batch is new. */
  private readonly startedEmpty: boolean;
  private readonly merged = new Set<string>();
  private nextRowid: number | null;
  // Working state of the row being merged; regs/cur: [put, del, s0..s(n-1)].
  private readonly regs: Array<number | null>;
  private readonly cur: Array<Stamp | null>;
  private readonly vals: SqlValue[];
  private readonly valTaken: boolean[];
  /** What a new row holds in a column no register covers (defaultsOf). */
  private readonly defaults: SqlValue[];
  private readonly outRows: RowDelta[] = [];
  /** Rows that cannot live here (MergeResult.unfit), as received. */
  readonly unfit: RowDelta[] = [];
  /**
   * Rows that could not live here when their turn came, merged again after the table's other
   * rows: a delta may carry a row's cells of columns its sender lacks as another entry of the same
   * key (delta.ts appends extra cells that way), after or before the entry with its put, and that
   * entry may hold the value the NOT NULL column needs (it then sits in the key's tombstone).
   */
  private readonly retry: RowDelta[] = [];
  private lastTry = false;
  /** Non-key columns a new row cannot leave NULL: NOT NULL and no value from defaultsOf. */
  private readonly required: number[];
  /**
   * Clock rows of new rows not yet written: rid, ver, put, del, s0.. per row, flattened. With
   * ownRowids nothing but this merge reads the clock table, so they are written CLOCK_BATCH rows
   * per statement (before any read of a clock row and at the end of the table) instead of one
   * statement per row (each statement costs a few microseconds, mostly sql.js's bind/step/reset
   * round trip, about a fifth of a large apply).
   */
  private readonly pendingClock: SqlValue[] = [];
  /**
   * Rowids of new rows whose registers all carry stamp id uniformVer and no delete (a remote
   * insert): their clock rows take one statement for all of them, as a local exec's inserts do.
   */
  private readonly uniformRids: number[] = [];
  private uniformVer = 0;
  private readonly clockBatch: number;
  /** Of the row being merged: registers taken so far and the highest stamp id among its registers. */
  private taken = 0;
  private ver = 0;
  /**
   * Set-based mode (run): the live registers of the current chunk's rows, by slot (undefined: not
   * live), and the slot of the row being merged; null outside a chunk.
   */
  private prefetched: Array<SqlValue[] | undefined> | null = null;
  private slot = 0;
  /** Deferred updates of live rows in the current chunk: cell values by changed-column list, and clock rows. */
  private readonly pendingCells = new Map<string, { cols: number[]; params: SqlValue[] }>();
  private readonly pendingClockUpdates: SqlValue[] = [];
  /** Rows per chunk: CHUNK_ROWS, fewer for wide keys (the prefetch binds 1 + key columns per row). */
  private readonly chunkRows: number;

  constructor(
    private readonly db: SqlDatabase,
    private readonly stamps: StampStore,
    private readonly nodes: string[],
    private readonly table: SyncedTable,
    private readonly intern: (s: Stamp) => number,
    private readonly out: ChangeSetBuilder,
    private readonly options: MergeOptions,
  ) {
    this.n = table.shape.cols.length;
    this.defaults = defaultsOf(db, table);
    this.required = table.shape.cols.flatMap((c, i) => (c.notNull && this.defaults[i] === null ? [i] : []));
    this.hasTombs = db.get(table.sql.hasTombs)![0] === 1;
    this.startedEmpty = !this.hasTombs && db.get(table.sql.hasLive)![0] !== 1;
    this.nextRowid = options.ownRowids && !table.shape.rowidAlias ? Number(db.get(table.sql.maxRowid)![0]) + 1 : null;
    this.regs = new Array(2 + this.n);
    this.cur = new Array(2 + this.n);
    this.vals = new Array(this.n);
    this.valTaken = new Array(this.n);
    this.clockBatch = options.ownRowids ? Math.max(1, Math.min(CLOCK_BATCH, Math.floor(MAX_PARAMS / (4 + this.n)))) : 1;
    this.chunkRows = Math.max(1, Math.min(CHUNK_ROWS, Math.floor(MAX_PARAMS / (1 + table.shape.pk.length))));
  }

  /** Writes the clock rows held in pendingClock and uniformRids. */
  private flushClock(): void {
    if (this.uniformRids.length > 0) {
      this.db.run(materializeInsertsSql(this.table.shape, this.table.tid, false), [this.uniformVer, JSON.stringify(this.uniformRids)]);
      this.uniformRids.length = 0;
    }
    const width = 4 + this.n;
    const rows = this.pendingClock.length / width;
    if (rows === 0) return;
    this.db.run(rows === 1 ? this.table.sql.insertClock : insertClocksSql(this.table, rows), this.pendingClock);
    this.pendingClock.length = 0;
  }

  /**
   * Row by row, in batch order. Set-based when no user trigger can see the order of writes
   * (ownRowids) and the table held rows when the batch started: the batch is cut into chunks of
   * distinct keys; before a chunk every deferred write is flushed, then one statement reads the
   * live registers of all its rows, each row is decided exactly as alone (same offer/compare),
   * and the updates of rows that stay live are deferred and written per chunk by one UPDATE ...
   * FROM (VALUES ...) per changed-column list plus one for their clock rows. Distinct keys within
   * a chunk mean no row reads state that a deferred write of the same chunk would change.
   */
  run(vt: ValidatedTable): number {
    let applied = 0;
    const mergeOne = (row: RowDelta) => {
      const pushed = this.outRows.length;
      const leftOut = this.retry.length + this.unfit.length;
      applied += this.mergeRow(row, vt.colMap, this.lastTry);
      // A row left out (retry, unfit) goes whole, its cells of columns this table lacks with it.
      if (vt.unknown.length > 0 && this.retry.length + this.unfit.length === leftOut) applied += this.mergeUnknown(row, vt, this.outRows.length > pushed);
    };
    const rows = vt.rows;
    if (this.options.ownRowids && !this.startedEmpty && rows.length >= MIN_SET_BASED_ROWS) {
      for (let i = 0; i < rows.length;) {
        const end = this.chunkEnd(rows, i);
        this.flushUpdates();
        this.flushClock();
        this.prefetch(rows, i, end);
        for (let j = i; j < end; j++) {
          this.slot = j - i;
          mergeOne(rows[j]!);
        }
        this.prefetched = null;
        i = end;
      }
      this.flushUpdates();
    } else {
      for (const row of rows) mergeOne(row);
    }
    this.lastTry = true;
    for (const row of this.retry) mergeOne(row);
    this.flushClock();
    this.out.addTable({ table: this.table.shape.name, columns: [...this.table.shape.cols.map((c) => c.name), ...vt.unknown], rows: this.outRows });
    return applied;
  }

  /** End of the chunk starting at `start`: at most chunkRows rows, stopping before a repeated key. */
  private chunkEnd(rows: RowDelta[], start: number): number {
    const seen = new Set<string>();
    let end = start;
    while (end < rows.length && end - start < this.chunkRows) {
      const key = this.keyOf(rows[end]!.pk);
      if (seen.has(key)) break;
      seen.add(key);
      end++;
    }
    return end;
  }

  /** Reads the live registers of rows[start..end) (one statement, padded to chunkRows slots). */
  private prefetch(rows: RowDelta[], start: number, end: number): void {
    const k = this.table.shape.pk.length;
    const params: SqlValue[] = new Array(this.chunkRows * (1 + k)).fill(null);
    for (let j = start; j < end; j++) {
      const at = (j - start) * (1 + k);
      params[at] = j - start;
      const pk = rows[j]!.pk;
      for (let c = 0; c < k; c++) params[at + 1 + c] = pk[c]!;
    }
    const got: Array<SqlValue[] | undefined> = new Array(end - start);
    const rids = new Set<number>();
    for (const r of this.db.all(prefetchLiveSql(this.table, this.chunkRows), params)) {
      got[r[0] as number] = r;
      rids.add(r[1] as number);
    }
    // Two keys of one chunk on the same row would read state a deferred write changes. Canonical
    // keys (key-affinity.ts; key columns cannot have a collation) make it unreachable; if it
    // happens anyway, this chunk is merged row by row with nothing deferred.
    this.prefetched = rids.size === got.filter((x) => x !== undefined).length ? got : null;
  }

  /** Writes the deferred updates of live rows (cells first, then their clock rows). */
  private flushUpdates(): void {
    for (const entry of this.pendingCells.values()) this.flushCells(entry);
    this.pendingCells.clear();
    const width = 4 + this.n;
    if (this.pendingClockUpdates.length === 0) return;
    const params = this.pendingClockUpdates;
    const rows = params.length / width;
    const cap = this.updateRows(width);
    for (let at = rows; at < cap; at++) for (let i = 0; i < width; i++) params.push(null);
    this.db.run(updateClocksManySql(this.table, cap), params);
    params.length = 0;
  }

  private flushCells(entry: { cols: number[]; params: SqlValue[] }): void {
    const width = 1 + entry.cols.length;
    if (entry.params.length === 0) return;
    const cap = this.updateRows(width);
    for (let at = entry.params.length / width; at < cap; at++) for (let i = 0; i < width; i++) entry.params.push(null);
    this.db.run(updateCellsManySql(this.table, entry.cols, cap), entry.params);
    entry.params.length = 0;
  }

  /** Rows per deferred-update statement of `width` parameters a row (a fixed size per width: one prepared statement). */
  private updateRows(width: number): number {
    return Math.max(1, Math.min(CHUNK_ROWS, Math.floor(MAX_PARAMS / width)));
  }

  /** Defers the update of a live row that stays live (set-based mode); see run. */
  private deferUpdate(rid: number, ver: number): void {
    const { regs, vals, valTaken, n } = this;
    const changed: number[] = [];
    for (let col = 0; col < n; col++) if (valTaken[col]) changed.push(col);
    if (changed.length > 0) {
      const sig = changed.join(',');
      let entry = this.pendingCells.get(sig);
      if (!entry) this.pendingCells.set(sig, entry = { cols: changed, params: [] });
      entry.params.push(rid);
      for (const col of changed) entry.params.push(vals[col]!);
      if (entry.params.length >= this.updateRows(1 + changed.length) * (1 + changed.length)) this.flushCells(entry);
    }
    const clock = this.pendingClockUpdates;
    clock.push(rid, ver);
    for (let i = 0; i < 2 + n; i++) clock.push(regs[i]!);
    if (clock.length >= this.updateRows(4 + n) * (4 + n)) {
      // Flushed with the cells written so far: a clock row never runs ahead of its cells.
      this.flushUpdates();
    }
  }

  /**
   * The row's cells of columns this table lacks: each an extra cell, last writer wins as any
   * register (schema-evolution.ts). Taken cells join the row's output (index n + j), so they are
   * logged and forwarded like the others.
   */
  private mergeUnknown(row: RowDelta, vt: ValidatedTable, pushed: boolean): number {
    const cells: CellChange[] = [];
    for (const [c, value, hlc, nodeIdx] of row.cells) {
      const col = vt.colMap[c]!;
      if (col >= 0) continue;
      const name = vt.unknown[-1 - col]!;
      const node = this.nodes[nodeIdx]!;
      const current = getRow(this.db, this.table.sql.selectExtra, [...row.pk, name]);
      if (current) {
        const s = this.stamps.stamp(current[0] as number);
        if (hlc < s.hlc || (hlc === s.hlc && node <= s.node)) continue;
      }
      const stamp: Stamp = { hlc, node };
      this.db.run(this.table.sql.upsertExtra, [...row.pk, name, value, this.intern(stamp)]);
      const [h, ni] = this.out.ref(stamp);
      cells.push([this.n - 1 - col, value, h, ni]);
    }
    if (cells.length === 0) return 0;
    if (pushed) this.outRows[this.outRows.length - 1]!.cells.push(...cells);
    else this.outRows.push({ pk: row.pk, put: null, del: null, cells });
    return cells.length;
  }

  /**
   * Identity of a key within this batch, by JS type and value. Exact because remote validation
   * admits canonical keys only (key-affinity.ts): no key SQLite's affinity would convert, so two
   * keys name the same row iff they have the same type and value (5 and 5.0 are one JS number,
   * as they are one SQLite key; 5 and '5' can both appear only in a key without affinity, where
   * they are two rows).
   */
  private keyOf(pk: SqlValue[]): string {
    let key = '';
    for (const v of pk) key += (v instanceof Uint8Array ? 'b' + Array.from(v).join(',') : typeof v === 'string' ? 's' + v : 'n' + String(v)) + '\u0001';
    return key;
  }

  /**
   * Loads the row's registers: live (with its rowid), a tombstone, or unknown. The state is its
   * own field because every integer is a valid rowid: an INTEGER PRIMARY KEY of 0 or -1 is a
   * rowid of 0 or -1, so no rowid value can stand for "tombstone" or "unknown".
   */
  private load(pk: SqlValue[], knownNew: boolean): { state: RowState; rid: number; ver: number } {
    const { regs, vals, n } = this;
    if (!knownNew) {
      let live: SqlValue[] | undefined;
      let at = 0;
      if (this.prefetched) {
        // Set-based mode: read with its chunk (slot, then selectLive's layout).
        live = this.prefetched[this.slot];
        at = 1;
      } else {
        this.flushClock();
        live = getRow(this.db, this.table.sql.selectLive, pk);
      }
      if (live) {
        for (let i = 0; i < 2 + n; i++) regs[i] = live[at + 2 + i] as number | null;
        return { state: 'live', rid: live[at] as number, ver: live[at + 1] as number };
      }
      const tomb = this.hasTombs ? getRow(this.db, this.table.sql.selectTomb, pk) : undefined;
      if (tomb) {
        for (let i = 0; i < 2 + n; i++) regs[i] = tomb[1 + i] as number | null;
        for (let i = 0; i < n; i++) vals[i] = tomb[3 + n + i]!;
        return { state: 'tomb', rid: 0, ver: tomb[0] as number };
      }
    }
    regs.fill(null);
    for (let i = 0; i < n; i++) vals[i] = this.defaults[i]!;
    return { state: 'unknown', rid: 0, ver: 0 };
  }


  /**
   * Takes register i's incoming stamp if it is newer than the current one (updates cur, regs,
   * this.ver, this.taken). A method, not a closure made per row: that closure (and the name
   * helper tsx wraps it in) cost ~0.1 s of a 100k-row apply's ~1.6 s (CPU profile).
   */
  private offer(i: number, hlc: number, nodeIdx: number): boolean {
    const node = this.nodes[nodeIdx]!;
    const c = this.cur[i];
    if (c !== null && (hlc < c.hlc || (hlc === c.hlc && node <= c.node))) return false;
    const s: Stamp = { hlc, node };
    this.cur[i] = s;
    const v = this.intern(s);
    this.regs[i] = v;
    if (v > this.ver) this.ver = v;
    this.taken++;
    return true;
  }

  private mergeRow(row: RowDelta, colMap: number[], careful = false): number {
    const { regs, cur, vals, valTaken, n, stamps } = this;
    let key = '';
    let knownNew = false;
    if (this.startedEmpty && !careful) {
      key = this.keyOf(row.pk);
      knownNew = !this.merged.has(key);
    }
    const loaded = this.load(row.pk, knownNew);
    for (let i = 0; i < 2 + n; i++) cur[i] = regs[i] === null ? null : stamps.stamp(regs[i]!);
    valTaken.fill(false);

    this.taken = 0;
    this.ver = loaded.ver;
    const putTaken = row.put !== null && this.offer(0, row.put[0], row.put[1]);
    const delTaken = row.del !== null && this.offer(1, row.del[0], row.del[1]);
    for (const [c, value, hlc, nodeIdx] of row.cells) {
      const col = colMap[c]!;
      if (col < 0) continue; // a column this table lacks: mergeUnknown
      if (this.offer(2 + col, hlc, nodeIdx)) {
        vals[col] = value;
        valTaken[col] = true;
      }
    }
    const taken = this.taken;
    const ver = this.ver;
    if (taken === 0) return 0;
    if (this.startedEmpty) this.merged.add(key);

    const cellsOut: CellChange[] = [];
    for (let col = 0; col < n; col++) {
      if (valTaken[col]) {
        const [hlc, node] = this.out.ref(cur[2 + col]!);
        cellsOut.push([col, vals[col]!, hlc, node]);
      }
    }
    this.outRows.push({ pk: row.pk, put: putTaken ? this.out.ref(cur[0]!) : null, del: delTaken ? this.out.ref(cur[1]!) : null, cells: cellsOut });

    const visible = cur[0] !== null && (cur[1] === null || compareStamps(cur[0], cur[1]) > 0);
    if (visible && loaded.state !== 'live' && this.required.some((col) => vals[col] === null)) {
      // It would become live without a value SQLite requires: tried again after the other rows,
      // then kept as received (MergeResult.unfit).
      this.outRows.pop();
      (this.lastTry ? this.unfit : this.retry).push(row);
      return 0;
    }
    if (!this.write(row.pk, loaded.state, loaded.rid, ver, visible, knownNew)) {
      // The "new key" shortcut met a key already in the table. Canonical keys (key-affinity.ts)
      // make this unreachable; if it happens anyway, merge this row again, the careful way.
      // (Tombstone writes cannot detect it: canonical keys are what keeps them right.)
      this.outRows.pop();
      return this.mergeRow(row, colMap, true);
    }
    return taken;
  }

  /** Makes the table match the registers; false when the new-key shortcut turned out wrong. */
  private write(pk: SqlValue[], state: RowState, rid: number, ver: number, visible: boolean, knownNew: boolean): boolean {
    const { db, regs, vals, valTaken, n } = this;
    const sql = this.table.sql;
    if (state === 'live' && visible && this.prefetched) {
      this.deferUpdate(rid, ver);
    } else if (state === 'live' && visible) {
      const changed: number[] = [];
      for (let col = 0; col < n; col++) if (valTaken[col]) changed.push(col);
      if (changed.length > 0) db.run(updateCellsSql(this.table, changed), [...changed.map((col) => vals[col]!), rid]);
      db.run(sql.updateClock, [ver, ...regs, rid] as SqlValue[]);
    } else if (state === 'live') {
      const current = db.get(sql.selectValues, [rid])!;
      for (let col = 0; col < n; col++) if (!valTaken[col]) vals[col] = current[col]!;
      db.run(sql.deleteRow, [rid]);
      db.run(sql.deleteClock, [rid]);
      db.run(sql.upsertTomb, [...pk, ver, ...regs, ...vals] as SqlValue[]);
      this.hasTombs = true;
    } else if (visible) {
      if (state === 'tomb') db.run(sql.deleteTomb, pk);
      let newRid: number;
      try {
        newRid = this.insertRow(pk);
      } catch (e) {
        if (knownNew && isUniqueViolation(e)) return false;
        throw e;
      }
      // Queued only where pendingClock is (ownRowids: no user trigger can touch the new row meanwhile).
      if (this.options.ownRowids && this.uniform(ver)) {
        if (this.uniformVer !== ver) this.flushClock();
        this.uniformVer = ver;
        this.uniformRids.push(newRid);
      } else {
        this.pendingClock.push(newRid, ver, ...regs);
        if (this.pendingClock.length >= this.clockBatch * (4 + n)) this.flushClock();
      }
    } else {
      db.run(sql.upsertTomb, [...pk, ver, ...regs, ...vals] as SqlValue[]);
      this.hasTombs = true;
    }
    return true;
  }

  /** put and every cell carry stamp id v, no delete: what a local insert's clock row holds. */
  private uniform(v: number): boolean {
    const { regs } = this;
    if (regs[0] !== v || regs[1] !== null) return false;
    for (let i = 2; i < regs.length; i++) if (regs[i] !== v) return false;
    return true;
  }

  private insertRow(pk: SqlValue[]): number {
    const sql = this.table.sql;
    if (this.nextRowid === null) return getRow(this.db, sql.insertRow, [...pk, ...this.vals])![0] as number;
    const rid = this.nextRowid;
    this.db.run(sql.insertRowAt, [rid, ...pk, ...this.vals]);
    this.nextRowid++;
    return rid;
  }
}
