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
  const { clock, tomb } = names;
  const T = quoteIdent(shape.name);
  const k = shape.pk.length;
  const n = shape.cols.length;
  const pkCols = shape.pk.map((c) => quoteIdent(c.name));
  const cols = shape.cols.map((c) => quoteIdent(c.name));
  const s = range(n).map((i) => `s${i}`);
  const kk = range(k).map((i) => `k${i}`);
  const vv = range(n).map((i) => `v${i}`);
  const q = (m: number) => range(m).map(() => '?').join(', ');
  const pkWhere = pkCols.map((c) => `t.${c} = ?`).join(' AND ');
  const tombWhere = kk.map((c) => `${c} = ?`).join(' AND ');
  const regs = ['put', 'del', ...s];
  const liveSelect = () => `SELECT ${[...regs.map((r) => `c.${r}`), ...pkCols.map((c) => `t.${c}`), ...cols.map((c) => `t.${c}`)].join(', ')} FROM ${clock} c JOIN ${T} t ON t.rowid = c.rid`;
  const tombSelect = () => `SELECT ${[...regs, ...kk, ...vv].join(', ')} FROM ${tomb}`;
  const build: SqlBuilders = {
    // A scalar subquery, not a JOIN: for a join SQLite 3.38+ may build a Bloom filter over the
    // clock table on every execution, which made this per-row lookup ~8x slower (measured).
    selectLive: () => `SELECT rid, ver, ${regs.join(', ')} FROM ${clock} WHERE rid = (SELECT t.rowid FROM ${T} t WHERE ${pkWhere})`,
    selectTomb: () => `SELECT ver, ${[...regs, ...vv].join(', ')} FROM ${tomb} WHERE ${tombWhere}`,
    selectValues: () => `SELECT ${n ? cols.join(', ') : 'NULL'} FROM ${T} WHERE rowid = ?`,
    insertRow: () => `INSERT INTO ${T}(${[...pkCols, ...cols].join(', ')}) VALUES (${q(k + n)}) RETURNING rowid`,
    insertRowAt: () => `INSERT INTO ${T}(rowid, ${[...pkCols, ...cols].join(', ')}) VALUES (${q(1 + k + n)})`,
    maxRowid: () => `SELECT coalesce(max(rowid), 0) FROM ${T}`,
    hasLive: () => `SELECT EXISTS (SELECT 1 FROM ${clock})`,
    deleteRow: () => `DELETE FROM ${T} WHERE rowid = ?`,
    insertClock: () => `INSERT INTO ${clock}(rid, ver, ${regs.join(', ')}) VALUES (${q(2 + regs.length)})`,
    updateClock: () => `UPDATE ${clock} SET ver = ?, ${regs.map((r) => `${r} = ?`).join(', ')} WHERE rid = ?`,
    deleteClock: () => `DELETE FROM ${clock} WHERE rid = ?`,
    upsertTomb: () => `INSERT OR REPLACE INTO ${tomb}(${[...kk, 'ver', ...regs, ...vv].join(', ')}) VALUES (${q(k + 1 + regs.length + n)})`,
    deleteTomb: () => `DELETE FROM ${tomb} WHERE ${tombWhere}`,
    hasTombs: () => `SELECT EXISTS (SELECT 1 FROM ${tomb})`,
    hasDeleted: () => `SELECT EXISTS (SELECT 1 FROM ${names.deleted})`,
    hasUpdated: () => n ? `SELECT EXISTS (SELECT 1 FROM ${names.updated})` : '',
    updateLogEnd: () => n ? `SELECT coalesce(max(rowid), 0) FROM ${names.updated}` : '',
    updateLogFirstV: () => n ? `SELECT v FROM ${names.updated} ORDER BY rowid LIMIT 1` : '',
    // The update log is appended in stamp order and only emptied whole: if anything of stamp ?1
    // is in it, its newest entry is.
    changedAt: () => `SELECT EXISTS (SELECT 1 FROM ${clock} WHERE ver = ?1) OR EXISTS (SELECT 1 FROM ${tomb} WHERE ver = ?1)${
      n ? ` OR EXISTS (SELECT 1 FROM ${names.updated} WHERE rowid = (SELECT max(rowid) FROM ${names.updated}) AND v = ?1)` : ''
    }`,
    selectExtra: () => `SELECT v FROM ${names.extra} WHERE ${tombWhere} AND col = ?`,
    upsertExtra: () => `INSERT OR REPLACE INTO ${names.extra}(${[...kk, 'col', 'val', 'v'].join(', ')}) VALUES (${q(k + 3)})`,
    extraSince: () => `SELECT ${[...kk, 'col', 'val', 'v'].join(', ')} FROM ${names.extra} WHERE v >= ? ORDER BY ${kk.join(', ')}`,
    extraAt: () => `SELECT ${[...kk, 'col', 'val', 'v'].join(', ')} FROM ${names.extra} WHERE v = ? ORDER BY ${kk.join(', ')}`,
    liveSince: () => `${liveSelect()} WHERE c.ver >= ? ORDER BY c.rid`,
    tombSince: () => `${tombSelect()} WHERE ver >= ? ORDER BY ${kk.join(', ')}`,
    // Scalar subqueries, not the JOIN of liveSelect: run once per commit, the join cost ~30 us a
    // call on a 3,000-row table, these ~5 us (Node, CPU time; see selectLive). The IS NOT NULL
    // test keeps the join's meaning (a clock row without its data row yields nothing); written as
    // EXISTS, SQLite turns it back into a join and the cost with it.
    liveAt: () => `SELECT ${[...regs.map((r) => `c.${r}`), ...[...pkCols, ...cols].map((col) => `(SELECT t.${col} FROM ${T} t WHERE t.rowid = c.rid)`)].join(', ')}
      FROM ${clock} c WHERE c.ver = ? AND (SELECT 1 FROM ${T} t WHERE t.rowid = c.rid) IS NOT NULL`,
    // Measured at 100k rows: ~35 ms of stepping against ~190 ms for liveAt's five subqueries per row.
    liveAtJoined: () => `${liveSelect()} WHERE c.ver = ?`,
    tombAt: () => `${tombSelect()} WHERE ver = ?`,
    pendingAt: () => n
      ? `SELECT u.v, NULL, ${s.map((_, i) => `CASE WHEN u.m${i} THEN u.v END`).join(', ')}, ${[...pkCols, ...cols].map((c) => `t.${c}`).join(', ')}
         FROM (SELECT rid, max(v) AS v, ${s.map((_, i) => `max(m${i}) AS m${i}`).join(', ')} FROM ${names.updated} WHERE rowid > ?2 AND v = ?1 GROUP BY rid) AS u
         JOIN ${T} t ON t.rowid = u.rid`
      : '',
    mixedAt: () => n
      ? `SELECT EXISTS (SELECT 1 FROM ${clock} WHERE ver = ?1) AND EXISTS (SELECT 1 FROM ${names.updated} WHERE rowid = (SELECT max(rowid) FROM ${names.updated}) AND v = ?1)`
      : '',
  };
  const colIndex = new Map(shape.cols.map((c, i) => [c.name.toLowerCase(), i]));
  return { shape, tid, names, colIndex, sql: new LazySql(build), insertClocksByRows: new Map() };
}

type SqlBuilders = { [K in keyof SyncedTableSql]: () => string };

/**
 * Each text built on first use: a table gets a new SyncedTable at every open and every ADD/DROP
 * COLUMN (built cold, ~0.1 ms CPU for all of them at once), and most calls read a few.
 */
class LazySql implements SyncedTableSql {
  private readonly built: Partial<SyncedTableSql> = {};

  constructor(private readonly build: SqlBuilders) {}

  get selectLive(): string {
    return (this.built.selectLive ??= this.build.selectLive());
  }

  get selectTomb(): string {
    return (this.built.selectTomb ??= this.build.selectTomb());
  }

  get selectValues(): string {
    return (this.built.selectValues ??= this.build.selectValues());
  }

  get insertRow(): string {
    return (this.built.insertRow ??= this.build.insertRow());
  }

  get insertRowAt(): string {
    return (this.built.insertRowAt ??= this.build.insertRowAt());
  }

  get maxRowid(): string {
    return (this.built.maxRowid ??= this.build.maxRowid());
  }

  get hasLive(): string {
    return (this.built.hasLive ??= this.build.hasLive());
  }

  get deleteRow(): string {
    return (this.built.deleteRow ??= this.build.deleteRow());
  }

  get insertClock(): string {
    return (this.built.insertClock ??= this.build.insertClock());
  }

  get updateClock(): string {
    return (this.built.updateClock ??= this.build.updateClock());
  }

  get deleteClock(): string {
    return (this.built.deleteClock ??= this.build.deleteClock());
  }

  get upsertTomb(): string {
    return (this.built.upsertTomb ??= this.build.upsertTomb());
  }

  get deleteTomb(): string {
    return (this.built.deleteTomb ??= this.build.deleteTomb());
  }

  get hasTombs(): string {
    return (this.built.hasTombs ??= this.build.hasTombs());
  }

  get hasDeleted(): string {
    return (this.built.hasDeleted ??= this.build.hasDeleted());
  }

  get hasUpdated(): string {
    return (this.built.hasUpdated ??= this.build.hasUpdated());
  }

  get updateLogEnd(): string {
    return (this.built.updateLogEnd ??= this.build.updateLogEnd());
  }

  get updateLogFirstV(): string {
    return (this.built.updateLogFirstV ??= this.build.updateLogFirstV());
  }

  get changedAt(): string {
    return (this.built.changedAt ??= this.build.changedAt());
  }

  get selectExtra(): string {
    return (this.built.selectExtra ??= this.build.selectExtra());
  }

  get upsertExtra(): string {
    return (this.built.upsertExtra ??= this.build.upsertExtra());
  }

  get extraSince(): string {
    return (this.built.extraSince ??= this.build.extraSince());
  }

  get extraAt(): string {
    return (this.built.extraAt ??= this.build.extraAt());
  }

  get liveSince(): string {
    return (this.built.liveSince ??= this.build.liveSince());
  }

  get tombSince(): string {
    return (this.built.tombSince ??= this.build.tombSince());
  }

  get liveAt(): string {
    return (this.built.liveAt ??= this.build.liveAt());
  }

  get liveAtJoined(): string {
    return (this.built.liveAtJoined ??= this.build.liveAtJoined());
  }

  get tombAt(): string {
    return (this.built.tombAt ??= this.build.tombAt());
  }

  get pendingAt(): string {
    return (this.built.pendingAt ??= this.build.pendingAt());
  }

  get mixedAt(): string {
    return (this.built.mixedAt ??= this.build.mixedAt());
  }
}

/** `UPDATE T SET <only these columns> WHERE rowid = ?` (user triggers `UPDATE OF c` stay precise). */
export function updateCellsSql(table: SyncedTable, colIdx: number[]): string {
  const sets = colIdx.map((i) => `${quoteIdent(table.shape.cols[i]!.name)} = ?`).join(', ');
  return `UPDATE ${quoteIdent(table.shape.name)} SET ${sets} WHERE rowid = ?`;
}
