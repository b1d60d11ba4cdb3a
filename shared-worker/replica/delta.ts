/**
 * Reading registers out: deltas for peers (changesSince) and the changes of one commit.
 */
import type { CellChange, ChangeSet, RowDelta, SqlValue, StampRef, TableDelta } from './contracts/change-set.js';
import type { SqlDatabase } from './sql-database.js';
import type { Stamp, StampStore } from './stamps.js';
import type { SyncedTable } from './synced-table.js';
import type { VersionVector } from './contracts/version-vector.js';

/** Builds a ChangeSet with its node table. */
export class ChangeSetBuilder {
  private readonly nodes: string[] = [];
  private readonly nodeIdx = new Map<string, number>();
  private readonly tables: TableDelta[] = [];

  ref(s: Stamp): StampRef {
    let i = this.nodeIdx.get(s.node);
    if (i === undefined) {
      i = this.nodes.length;
      this.nodes.push(s.node);
      this.nodeIdx.set(s.node, i);
    }
    return [s.hlc, i];
  }

  addTable(t: TableDelta): void {
    if (t.rows.length > 0) this.tables.push(t);
  }

  build(): ChangeSet {
    return { nodes: this.nodes, tables: this.tables };
  }
}

/**
 * Rows in the layout put, del, s0.., pk.., values.. -> RowDeltas holding the registers `wanted`
 * accepts. A live row's values come from the data table, a deleted row's from its tombstone.
 */
function collect(
  db: SqlDatabase,
  stamps: StampStore,
  out: ChangeSetBuilder,
  t: SyncedTable,
  queries: Array<[sql: string, params: number[]]>,
  /** Which registers to take: a test, or the one stamp id to take (a commit's own changes). */
  wanted: ((v: number, s: Stamp) => boolean) | number,
  extra: [sql: string, params: number[]] | null,
): void {
  const n = t.shape.cols.length;
  const k = t.shape.pk.length;
  const rows: RowDelta[] = [];
  const only = typeof wanted === 'number' ? stamps.stamp(wanted) : null;
  const pick = typeof wanted === 'number'
    ? (v: SqlValue): Stamp | null => (v === wanted ? only! : null)
    : (v: SqlValue): Stamp | null => {
      if (v === null) return null;
      const s = stamps.stamp(v as number);
      return wanted(v as number, s) ? s : null;
    };
  for (const [sql, params] of queries) {
    if (!sql) continue;
    const stmt = db.prepare(sql);
    try {
      stmt.bind(params);
      while (stmt.step()) {
        const r = stmt.get() as SqlValue[];
        const put = pick(r[0]!);
        const del = pick(r[1]!);
        const cells: CellChange[] = [];
        for (let i = 0; i < n; i++) {
          const s = pick(r[2 + i]!);
          if (s) {
            const [hlc, node] = out.ref(s);
            cells.push([i, r[2 + n + k + i]!, hlc, node]);
          }
        }
        if (!put && !del && cells.length === 0) continue;
        rows.push({ pk: r.slice(2 + n, 2 + n + k), put: put ? out.ref(put) : null, del: del ? out.ref(del) : null, cells });
      }
    } finally {
      stmt.reset();
    }
  }
  const columns = t.shape.cols.map((c) => c.name);
  if (extra) collectExtra(db, out, t, extra, (v) => pick(v), rows, columns);
  out.addTable({ table: t.shape.name, columns, rows });
}

/**
 * Extra cells (columns this table lacks, schema-evolution.ts) as rows of their own with no put or
 * delete register; their columns are appended to `columns`.
 */
function collectExtra(db: SqlDatabase, out: ChangeSetBuilder, t: SyncedTable, [sql, params]: [string, number[]], pick: (v: SqlValue) => Stamp | null, rows: RowDelta[], columns: string[]): void {
  const k = t.shape.pk.length;
  const index = new Map<string, number>();
  const stmt = db.prepare(sql);
  let current: RowDelta | null = null;
  try {
    stmt.bind(params);
    while (stmt.step()) {
      const r = stmt.get() as SqlValue[];
      const s = pick(r[k + 2]!);
      if (!s) continue;
      const name = String(r[k]);
      let ci = index.get(name.toLowerCase());
      if (ci === undefined) {
        ci = columns.length;
        columns.push(name);
        index.set(name.toLowerCase(), ci);
      }
      const pk = r.slice(0, k);
      if (!current || !sameKey(current.pk, pk)) rows.push((current = { pk, put: null, del: null, cells: [] }));
      const [hlc, node] = out.ref(s);
      current.cells.push([ci, r[k + 1]!, hlc, node]);
    }
  } finally {
    stmt.reset();
  }
}

function sameKey(a: SqlValue[], b: SqlValue[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x instanceof Uint8Array || y instanceof Uint8Array) {
      if (!(x instanceof Uint8Array && y instanceof Uint8Array) || x.length !== y.length || x.some((byte, j) => byte !== y[j])) return false;
    } else if (x !== y) return false;
  }
  return true;
}

/** Every register whose stamp is above since[its origin] (all of them for an empty vector). */
export function changesSince(db: SqlDatabase, stamps: StampStore, tables: SyncedTable[], since: VersionVector): ChangeSet {
  const out = new ChangeSetBuilder();
  const minV = stamps.minVAbove(since);
  if (minV === null) return out.build();
  const newer = (_v: number, s: Stamp) => s.hlc > (Object.prototype.hasOwnProperty.call(since, s.node) ? since[s.node]! : -1);
  for (const t of tables) collect(db, stamps, out, t, [[t.sql.liveSince, [minV]], [t.sql.tombSince, [minV]]], newer, [t.sql.extraSince, [minV]]);
  return out.build();
}

/** What changesAt may skip or must choose, from what the exec is known to have done. */
export interface ChangesAtHints {
  /** The update-log rowid after which the exec's entries start (see updateLogStart); default 0. */
  logStart?: (t: SyncedTable) => number;
  /**
   * May the exec have stamped extra cells? A DROP COLUMN moves cells there (schema-evolution.ts),
   * a key change copies them to the new key (capture.ts); any other exec skips the query: it sorts in a
   * temporary b-tree even when nothing matches (~25% of a one-row exec's SQL time, measured).
   * Default true.
   */
  extras?: boolean;
  /** The exec wrote many rows: live rows are read with a join (see liveAtJoined). */
  manyRows?: boolean;
  /**
   * Tables the exec only inserted into (capture-fold.ts, insertedOnly): no update-log entries or
   * tombstones of its stamp can exist there, so only live rows are read.
   */
  insertedOnly?: (t: SyncedTable) => boolean;
}

/** The registers stamped with stamp id `v` (what one local exec or enableSync changed). */
export function changesAt(db: SqlDatabase, stamps: StampStore, tables: SyncedTable[], v: number, hints: ChangesAtHints = {}): ChangeSet {
  const out = new ChangeSetBuilder();
  for (const t of tables) {
    const live: [string, number[]] = [hints.manyRows ? t.sql.liveAtJoined : t.sql.liveAt, [v]];
    const extra: [string, number[]] | null = hints.extras === false ? null : [t.sql.extraAt, [v]];
    if (hints.insertedOnly?.(t)) {
      collect(db, stamps, out, t, [live], v, extra);
      continue;
    }
    const start = hints.logStart?.(t) ?? 0;
    // Reading the update log groups it in a temporary b-tree even when it is empty: ask first
    // whether anything was appended after `start`.
    const pending = t.sql.pendingAt && Number(db.get(t.sql.updateLogEnd)![0]) > start ? t.sql.pendingAt : '';
    collect(db, stamps, out, t, [live, [pending, [v, start]], [t.sql.tombAt, [v]]], v, extra);
  }
  return out.build();
}
