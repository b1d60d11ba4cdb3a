/**
 * Merging a validated change set into the registers (inside the caller's transaction, capture
 * triggers off). Per row: read the current registers (live clock row or tombstone), take every
 * incoming register that is newer by (hlc, node), then make the data table show exactly what the
 * registers say: visible iff put > del, each column = its cell register's value (NULL if none).
 * Because the result depends only on the registers, any order of batches, with duplicates, ends
 * in the same tables.
 */
import type { CellChange, ChangeSet, SqlValue } from './change-set.js';
import { ChangeSetBuilder } from './delta.js';
import type { ValidatedBatch, ValidatedTable } from './remote-validation.js';
import type { SqlDatabase } from './sql-database.js';
import { compareStamps, type Stamp, type StampStore } from './stamps.js';
import { updateCellsSql } from './synced-table.js';

export interface MergeResult {
  applied: number;
  changes: ChangeSet | null;
  tables: string[];
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

export function mergeBatch(db: SqlDatabase, stamps: StampStore, batch: ValidatedBatch): MergeResult {
  const out = new ChangeSetBuilder();
  const interned = new Map<string, number>();
  const intern = (s: Stamp): number => {
    const key = `${s.hlc}/${s.node}`;
    let v = interned.get(key);
    if (v === undefined) {
      v = stamps.intern(s.hlc, s.node);
      interned.set(key, v);
    }
    return v;
  };
  let applied = 0;
  const touched: string[] = [];
  for (const vt of batch.tables) {
    const taken = mergeTable(db, stamps, batch.nodes, vt, intern, out);
    if (taken > 0) {
      applied += taken;
      if (!touched.includes(vt.table.shape.name)) touched.push(vt.table.shape.name);
    }
  }
  const changes = out.build();
  return { applied, changes: changes.tables.length > 0 ? changes : null, tables: touched };
}

function mergeTable(db: SqlDatabase, stamps: StampStore, nodes: string[], vt: ValidatedTable, intern: (s: Stamp) => number, out: ChangeSetBuilder): number {
  const { table, colMap } = vt;
  const { sql } = table;
  const n = table.shape.cols.length;
  let hasTombs = db.get(sql.hasTombs)?.[0] === 1;
  let applied = 0;
  const outRows: ReturnType<ChangeSetBuilder['build']>['tables'][number]['rows'] = [];
  // regs: [put, del, s0..s(n-1)] as stamp ids; cur: the same as stamps (null = never written).
  const regs: Array<number | null> = new Array(2 + n);
  const cur: Array<Stamp | null> = new Array(2 + n);
  const vals: SqlValue[] = new Array(n);
  const valTaken: boolean[] = new Array(n);

  for (const row of vt.rows) {
    let rid: number | null = null;
    let ver = 0;
    let fromTomb = false;
    const live = getRow(db, sql.selectLive, row.pk);
    if (live) {
      rid = live[0] as number;
      ver = live[1] as number;
      for (let i = 0; i < 2 + n; i++) regs[i] = live[2 + i] as number | null;
    } else {
      const tomb = hasTombs ? getRow(db, sql.selectTomb, row.pk) : undefined;
      if (tomb) {
        fromTomb = true;
        ver = tomb[0] as number;
        for (let i = 0; i < 2 + n; i++) regs[i] = tomb[1 + i] as number | null;
        for (let i = 0; i < n; i++) vals[i] = tomb[3 + n + i]!;
      } else {
        regs.fill(null);
        vals.fill(null);
      }
    }
    for (let i = 0; i < 2 + n; i++) cur[i] = regs[i] === null ? null : stamps.stamp(regs[i]!);
    valTaken.fill(false);

    let takenHere = 0;
    const offer = (i: number, hlc: number, nodeIdx: number): boolean => {
      const s: Stamp = { hlc, node: nodes[nodeIdx]! };
      const c = cur[i];
      if (c !== null && compareStamps(s, c) <= 0) return false;
      cur[i] = s;
      const v = intern(s);
      regs[i] = v;
      if (v > ver) ver = v;
      takenHere++;
      return true;
    };
    const putTaken = row.put !== null && offer(0, row.put[0], row.put[1]);
    const delTaken = row.del !== null && offer(1, row.del[0], row.del[1]);
    const cellsOut: CellChange[] = [];
    for (const [c, value, hlc, nodeIdx] of row.cells) {
      const col = colMap[c]!;
      if (offer(2 + col, hlc, nodeIdx)) {
        vals[col] = value;
        valTaken[col] = true;
      }
    }
    if (takenHere === 0) continue;
    applied += takenHere;
    for (let col = 0; col < n; col++) {
      if (valTaken[col]) {
        const [hlc, node] = out.ref(cur[2 + col]!);
        cellsOut.push([col, vals[col]!, hlc, node]);
      }
    }
    outRows.push({ pk: row.pk, put: putTaken ? out.ref(cur[0]!) : null, del: delTaken ? out.ref(cur[1]!) : null, cells: cellsOut });

    const visible = cur[0] !== null && (cur[1] === null || compareStamps(cur[0], cur[1]) > 0);
    if (rid !== null && visible) {
      const changed = [];
      for (let col = 0; col < n; col++) if (valTaken[col]) changed.push(col);
      if (changed.length > 0) db.run(updateCellsSql(table, changed), [...changed.map((col) => vals[col]!), rid]);
      db.run(sql.updateClock, [ver, ...regs, rid] as SqlValue[]);
    } else if (rid !== null) {
      const current = db.get(sql.selectValues, [rid])!;
      for (let col = 0; col < n; col++) if (!valTaken[col]) vals[col] = current[col]!;
      db.run(sql.deleteRow, [rid]);
      db.run(sql.deleteClock, [rid]);
      db.run(sql.upsertTomb, [...row.pk, ver, ...regs, ...vals] as SqlValue[]);
      hasTombs = true;
    } else if (visible) {
      if (fromTomb) db.run(sql.deleteTomb, row.pk);
      const newRid = getRow(db, sql.insertRow, [...row.pk, ...vals])![0] as number;
      db.run(sql.insertClock, [newRid, ver, ...regs] as SqlValue[]);
    } else {
      db.run(sql.upsertTomb, [...row.pk, ver, ...regs, ...vals] as SqlValue[]);
      hasTombs = true;
    }
  }
  out.addTable({ table: table.shape.name, columns: table.shape.cols.map((c) => c.name), rows: outRows });
  return applied;
}
