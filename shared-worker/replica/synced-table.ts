/**
 * One synced table as the replica sees it: its shape, its capture tables and the SQL the merge
 * and delta code run against them. Names are spliced only through quoteIdent, and only names
 * read from the local schema (never names that arrived from a peer).
 */
import { captureNames, type CaptureNames } from './capture.js';
import { quoteIdent } from './sql-text.js';
import type { TableShape } from './sync-schema.js';

export interface SyncedTable {
  readonly shape: TableShape;
  readonly tid: number;
  readonly names: CaptureNames;
  /** Lower-cased non-key column name -> index into shape.cols. */
  readonly colIndex: Map<string, number>;
  readonly sql: SyncedTableSql;
  /** Multi-row clock inserts built so far, by row count (merge.ts writes clock rows in batches). */
  readonly insertClocksByRows: Map<number, string>;
}

interface SyncedTableSql {
  /** pk... -> rid, ver, put, del, s0..s(n-1) */
  selectLive: string;
  /** pk... -> ver, put, del, s0.., v0.. */
  selectTomb: string;
  /** rid -> current values of the non-key columns */
  selectValues: string;
  /** pk..., cols... -> rowid */
  insertRow: string;
  /** rowid, pk..., cols... (rowid chosen by the merge: no RETURNING needed) */
  insertRowAt: string;
  maxRowid: string;
  hasLive: string;
  /** rid */
  deleteRow: string;
  /** rid, ver, put, del, s0.. */
  insertClock: string;
  /** ver, put, del, s0.., rid */
  updateClock: string;
  /** rid */
  deleteClock: string;
  /** pk..., ver, put, del, s0.., v0.. */
  upsertTomb: string;
  /** pk... */
  deleteTomb: string;
  hasTombs: string;
  hasDeleted: string;
  /** Pending update-log entries (empty string for tables without non-key columns, as the next two). */
  hasUpdated: string;
  /** The update log's highest rowid (0 if empty). */
  updateLogEnd: string;
  /** The stamp id of the update log's oldest entry. */
  updateLogFirstV: string;
  /** ?1 = stamp id: did anything get stamped with it (clock rows, tombstones, update log)? */
  changedAt: string;
  /** pk..., column name -> v (stamp id) of the extra cell (a column this table lacks). */
  selectExtra: string;
  /** pk..., column name, value, v */
  upsertExtra: string;
  /** ?1 = stamp id: extra cells (pk.., col, val, v) stamped at or after it, ordered by key. */
  extraSince: string;
  /** ?1 = stamp id: extra cells stamped with it. */
  extraAt: string;
  /** Delta rows in the layout put, del, s0.., pk.., values.. (live rows, then tombstones). */
  liveSince: string;
  tombSince: string;
  liveAt: string;
  /** liveAt as a join: more per call, less per row (changesAt picks it for execs that wrote many rows). */
  liveAtJoined: string;
  tombAt: string;
  /**
   * ?1 = stamp id, ?2 = update-log rowid after which its entries start: the registers that exec
   * stamped on rows it updated, from the log (not folded yet), in the delta layout. Only valid
   * when no clock row carries ?1 (see mixedAt). Empty string without non-key columns.
   */
  pendingAt: string;
  /**
   * ?1 = stamp id: do both clock rows and the update log hold registers of it (an exec that
   * inserted or moved rows and also updated rows)? Then the log is folded at once, so that every
   * register of the exec is read from one place. Empty string without non-key columns.
   */
  mixedAt: string;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

export function makeSyncedTable(shape: TableShape, tid: number): SyncedTable {
  const names = captureNames(tid);
  const colIndex = new Map(shape.cols.map((c, i) => [c.name.toLowerCase(), i]));
  return { shape, tid, names, colIndex, sql: new LazySql(shape, names), insertClocksByRows: new Map() };
}

/** What the texts below are made of, built with the first text a table asks for. */
interface Pieces {
  names: CaptureNames;
  clock: string;
  tomb: string;
  T: string;
  k: number;
  n: number;
  pkCols: string[];
  cols: string[];
  s: string[];
  kk: string[];
  vv: string[];
  pkWhere: string;
  tombWhere: string;
  regs: string[];
}

function piecesOf(shape: TableShape, names: CaptureNames): Pieces {
  const k = shape.pk.length;
  const n = shape.cols.length;
  const pkCols = shape.pk.map((c) => quoteIdent(c.name));
  const kk = range(k).map((i) => `k${i}`);
  const s = range(n).map((i) => `s${i}`);
  return {
    names, clock: names.clock, tomb: names.tomb, T: quoteIdent(shape.name), k, n, pkCols,
    cols: shape.cols.map((c) => quoteIdent(c.name)), s, kk, vv: range(n).map((i) => `v${i}`),
    pkWhere: pkCols.map((c) => `t.${c} = ?`).join(' AND '), tombWhere: kk.map((c) => `${c} = ?`).join(' AND '),
    regs: ['put', 'del', ...s],
  };
}

const q = (m: number) => range(m).map(() => '?').join(', ');
const liveSelect = (p: Pieces) => `SELECT ${[...p.regs.map((r) => `c.${r}`), ...p.pkCols.map((c) => `t.${c}`), ...p.cols.map((c) => `t.${c}`)].join(', ')} FROM ${p.clock} c JOIN ${p.T} t ON t.rowid = c.rid`;
const tombSelect = (p: Pieces) => `SELECT ${[...p.regs, ...p.kk, ...p.vv].join(', ')} FROM ${p.tomb}`;

/**
 * Every text, as one table for all synced tables: a SyncedTable is made at every open and every
 * ADD/DROP COLUMN, cold, and closures per table cost more than the few texts a call reads.
 */
const BUILD: SqlBuilders = {
  // A scalar subquery, not a JOIN: for a join SQLite 3.38+ may build a Bloom filter over the
  // clock table on every execution, which made this per-row lookup ~8x slower (measured).
  selectLive: (p) => `SELECT rid, ver, ${p.regs.join(', ')} FROM ${p.clock} WHERE rid = (SELECT t.rowid FROM ${p.T} t WHERE ${p.pkWhere})`,
  selectTomb: (p) => `SELECT ver, ${[...p.regs, ...p.vv].join(', ')} FROM ${p.tomb} WHERE ${p.tombWhere}`,
  selectValues: (p) => `SELECT ${p.n ? p.cols.join(', ') : 'NULL'} FROM ${p.T} WHERE rowid = ?`,
  insertRow: (p) => `INSERT INTO ${p.T}(${[...p.pkCols, ...p.cols].join(', ')}) VALUES (${q(p.k + p.n)}) RETURNING rowid`,
  insertRowAt: (p) => `INSERT INTO ${p.T}(rowid, ${[...p.pkCols, ...p.cols].join(', ')}) VALUES (${q(1 + p.k + p.n)})`,
  maxRowid: (p) => `SELECT coalesce(max(rowid), 0) FROM ${p.T}`,
  hasLive: (p) => `SELECT EXISTS (SELECT 1 FROM ${p.clock})`,
  deleteRow: (p) => `DELETE FROM ${p.T} WHERE rowid = ?`,
  insertClock: (p) => `INSERT INTO ${p.clock}(rid, ver, ${p.regs.join(', ')}) VALUES (${q(2 + p.regs.length)})`,
  updateClock: (p) => `UPDATE ${p.clock} SET ver = ?, ${p.regs.map((r) => `${r} = ?`).join(', ')} WHERE rid = ?`,
  deleteClock: (p) => `DELETE FROM ${p.clock} WHERE rid = ?`,
  upsertTomb: (p) => `INSERT OR REPLACE INTO ${p.tomb}(${[...p.kk, 'ver', ...p.regs, ...p.vv].join(', ')}) VALUES (${q(p.k + 1 + p.regs.length + p.n)})`,
  deleteTomb: (p) => `DELETE FROM ${p.tomb} WHERE ${p.tombWhere}`,
  hasTombs: (p) => `SELECT EXISTS (SELECT 1 FROM ${p.tomb})`,
  hasDeleted: (p) => `SELECT EXISTS (SELECT 1 FROM ${p.names.deleted})`,
  hasUpdated: (p) => p.n ? `SELECT EXISTS (SELECT 1 FROM ${p.names.updated})` : '',
  updateLogEnd: (p) => p.n ? `SELECT coalesce(max(rowid), 0) FROM ${p.names.updated}` : '',
  updateLogFirstV: (p) => p.n ? `SELECT v FROM ${p.names.updated} ORDER BY rowid LIMIT 1` : '',
  // The update log is appended in stamp order and only emptied whole: if anything of stamp ?1
  // is in it, its newest entry is.
  changedAt: (p) => `SELECT EXISTS (SELECT 1 FROM ${p.clock} WHERE ver = ?1) OR EXISTS (SELECT 1 FROM ${p.tomb} WHERE ver = ?1)${
    p.n ? ` OR EXISTS (SELECT 1 FROM ${p.names.updated} WHERE rowid = (SELECT max(rowid) FROM ${p.names.updated}) AND v = ?1)` : ''
  }`,
  selectExtra: (p) => `SELECT v FROM ${p.names.extra} WHERE ${p.tombWhere} AND col = ?`,
  upsertExtra: (p) => `INSERT OR REPLACE INTO ${p.names.extra}(${[...p.kk, 'col', 'val', 'v'].join(', ')}) VALUES (${q(p.k + 3)})`,
  extraSince: (p) => `SELECT ${[...p.kk, 'col', 'val', 'v'].join(', ')} FROM ${p.names.extra} WHERE v >= ? ORDER BY ${p.kk.join(', ')}`,
  extraAt: (p) => `SELECT ${[...p.kk, 'col', 'val', 'v'].join(', ')} FROM ${p.names.extra} WHERE v = ? ORDER BY ${p.kk.join(', ')}`,
  liveSince: (p) => `${liveSelect(p)} WHERE c.ver >= ? ORDER BY c.rid`,
  tombSince: (p) => `${tombSelect(p)} WHERE ver >= ? ORDER BY ${p.kk.join(', ')}`,
  // Scalar subqueries, not the JOIN of liveSelect: run once per commit, the join cost ~30 us a
  // call on a 3,000-row table, these ~5 us (Node, CPU time; see selectLive). The IS NOT NULL
  // test keeps the join's meaning (a clock row without its data row yields nothing); written as
  // EXISTS, SQLite turns it back into a join and the cost with it.
  liveAt: (p) => `SELECT ${[...p.regs.map((r) => `c.${r}`), ...[...p.pkCols, ...p.cols].map((col) => `(SELECT t.${col} FROM ${p.T} t WHERE t.rowid = c.rid)`)].join(', ')}
      FROM ${p.clock} c WHERE c.ver = ? AND (SELECT 1 FROM ${p.T} t WHERE t.rowid = c.rid) IS NOT NULL`,
  // Measured at 100k rows: ~35 ms of stepping against ~190 ms for liveAt's five subqueries per row.
  liveAtJoined: (p) => `${liveSelect(p)} WHERE c.ver = ?`,
  tombAt: (p) => `${tombSelect(p)} WHERE ver = ?`,
  pendingAt: (p) => p.n
    ? `SELECT u.v, NULL, ${p.s.map((_, i) => `CASE WHEN u.m${i} THEN u.v END`).join(', ')}, ${[...p.pkCols, ...p.cols].map((c) => `t.${c}`).join(', ')}
         FROM (SELECT rid, max(v) AS v, ${p.s.map((_, i) => `max(m${i}) AS m${i}`).join(', ')} FROM ${p.names.updated} WHERE rowid > ?2 AND v = ?1 GROUP BY rid) AS u
         JOIN ${p.T} t ON t.rowid = u.rid`
    : '',
  mixedAt: (p) => p.n
    ? `SELECT EXISTS (SELECT 1 FROM ${p.clock} WHERE ver = ?1) AND EXISTS (SELECT 1 FROM ${p.names.updated} WHERE rowid = (SELECT max(rowid) FROM ${p.names.updated}) AND v = ?1)`
    : '',
};

type SqlBuilders = { [K in keyof SyncedTableSql]: (p: Pieces) => string };

/**
 * Each text built on first use: a table gets a new SyncedTable at every open and every ADD/DROP
 * COLUMN (built cold, ~0.1 ms CPU for all of them at once), and most calls read a few.
 */
class LazySql implements SyncedTableSql {
  private readonly built: Partial<SyncedTableSql> = {};
  private pieces: Pieces | null = null;

  constructor(
    private readonly shape: TableShape,
    private readonly names: CaptureNames,
  ) {}

  private get p(): Pieces {
    return (this.pieces ??= piecesOf(this.shape, this.names));
  }

  get selectLive(): string {
    return (this.built.selectLive ??= BUILD.selectLive(this.p));
  }

  get selectTomb(): string {
    return (this.built.selectTomb ??= BUILD.selectTomb(this.p));
  }

  get selectValues(): string {
    return (this.built.selectValues ??= BUILD.selectValues(this.p));
  }

  get insertRow(): string {
    return (this.built.insertRow ??= BUILD.insertRow(this.p));
  }

  get insertRowAt(): string {
    return (this.built.insertRowAt ??= BUILD.insertRowAt(this.p));
  }

  get maxRowid(): string {
    return (this.built.maxRowid ??= BUILD.maxRowid(this.p));
  }

  get hasLive(): string {
    return (this.built.hasLive ??= BUILD.hasLive(this.p));
  }

  get deleteRow(): string {
    return (this.built.deleteRow ??= BUILD.deleteRow(this.p));
  }

  get insertClock(): string {
    return (this.built.insertClock ??= BUILD.insertClock(this.p));
  }

  get updateClock(): string {
    return (this.built.updateClock ??= BUILD.updateClock(this.p));
  }

  get deleteClock(): string {
    return (this.built.deleteClock ??= BUILD.deleteClock(this.p));
  }

  get upsertTomb(): string {
    return (this.built.upsertTomb ??= BUILD.upsertTomb(this.p));
  }

  get deleteTomb(): string {
    return (this.built.deleteTomb ??= BUILD.deleteTomb(this.p));
  }

  get hasTombs(): string {
    return (this.built.hasTombs ??= BUILD.hasTombs(this.p));
  }

  get hasDeleted(): string {
    return (this.built.hasDeleted ??= BUILD.hasDeleted(this.p));
  }

  get hasUpdated(): string {
    return (this.built.hasUpdated ??= BUILD.hasUpdated(this.p));
  }

  get updateLogEnd(): string {
    return (this.built.updateLogEnd ??= BUILD.updateLogEnd(this.p));
  }

  get updateLogFirstV(): string {
    return (this.built.updateLogFirstV ??= BUILD.updateLogFirstV(this.p));
  }

  get changedAt(): string {
    return (this.built.changedAt ??= BUILD.changedAt(this.p));
  }

  get selectExtra(): string {
    return (this.built.selectExtra ??= BUILD.selectExtra(this.p));
  }

  get upsertExtra(): string {
    return (this.built.upsertExtra ??= BUILD.upsertExtra(this.p));
  }

  get extraSince(): string {
    return (this.built.extraSince ??= BUILD.extraSince(this.p));
  }

  get extraAt(): string {
    return (this.built.extraAt ??= BUILD.extraAt(this.p));
  }

  get liveSince(): string {
    return (this.built.liveSince ??= BUILD.liveSince(this.p));
  }

  get tombSince(): string {
    return (this.built.tombSince ??= BUILD.tombSince(this.p));
  }

  get liveAt(): string {
    return (this.built.liveAt ??= BUILD.liveAt(this.p));
  }

  get liveAtJoined(): string {
    return (this.built.liveAtJoined ??= BUILD.liveAtJoined(this.p));
  }

  get tombAt(): string {
    return (this.built.tombAt ??= BUILD.tombAt(this.p));
  }

  get pendingAt(): string {
    return (this.built.pendingAt ??= BUILD.pendingAt(this.p));
  }

  get mixedAt(): string {
    return (this.built.mixedAt ??= BUILD.mixedAt(this.p));
  }
}

/** `UPDATE T SET <only these columns> WHERE rowid = ?` (user triggers `UPDATE OF c` stay precise). */
export function updateCellsSql(table: SyncedTable, colIdx: number[]): string {
  const sets = colIdx.map((i) => `${quoteIdent(table.shape.cols[i]!.name)} = ?`).join(', ');
  return `UPDATE ${quoteIdent(table.shape.name)} SET ${sets} WHERE rowid = ?`;
}
