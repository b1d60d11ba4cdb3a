/**
 * Cuts a delta into pieces that are safe to apply one by one, even if the link dies in between.
 *
 * Why not plain splitChangeSet: applying a piece moves the receiver's version vector to the
 * highest stamp per origin it contained, and the vector means "I hold every change of that origin
 * up to here". If piece 1 held (A:9) and piece 2 held an older (A:4), a link lost after piece 1
 * leaves the receiver claiming A:9 without A:4, and no later delta would ever send A:4.
 * So registers are ordered by hlc and pieces are cut only where the hlc changes: after any prefix
 * of pieces, the receiver holds every delta register at or below each hlc it was sent. A row
 * whose registers carry several hlcs is sent as several partial rows (a RowDelta may carry any
 * subset of its registers); since a row's `put` is at least as new as each of its cells, a row
 * becomes visible only together with (or after) all its cells.
 *
 * One exec's changes share one hlc, so a huge single exec is one piece; only above
 * `maxUnsplitRows` rows is such a group split by rows (then a link lost mid-group can leave that
 * gap; documented limit, 50k rows by default, see sync-options.ts).
 */
import type { ChangeSet, RowDelta, TableDelta } from '../change-set.js';
import type { VersionVector } from '../version-vector.js';

interface Unit {
  hlc: number;
  table: number;
  row: RowDelta;
}

export function orderedPieces(cs: ChangeSet, pieceRows: number, maxUnsplitRows: number): ChangeSet[] {
  const units = toUnits(cs);
  if (units.length === 0) return [];
  let sorted = true;
  for (let i = 1; i < units.length && sorted; i++) sorted = units[i - 1]!.hlc <= units[i]!.hlc;
  if (!sorted) units.sort((a, b) => a.hlc - b.hlc);
  const pieces: ChangeSet[] = [];
  // Pieces of several groups never need splitting; only a single oversized group does.
  const target = Math.min(pieceRows, maxUnsplitRows);
  let start = 0;
  while (start < units.length) {
    let end = start;
    // Take whole hlc groups until the piece is full; always at least one group.
    while (end < units.length) {
      let groupEnd = end + 1;
      while (groupEnd < units.length && units[groupEnd]!.hlc === units[end]!.hlc) groupEnd++;
      if (end > start && groupEnd - start > target) break;
      end = groupEnd;
      if (end - start >= target) break;
    }
    for (let s = start; s < end; s += maxUnsplitRows) pieces.push(build(cs, units, s, Math.min(end, s + maxUnsplitRows)));
    start = end;
  }
  return pieces;
}

function toUnits(cs: ChangeSet): Unit[] {
  const units: Unit[] = [];
  cs.tables.forEach((t, table) => {
    for (const row of t.rows) {
      const h = singleHlc(row);
      if (h !== null) {
        units.push({ hlc: h, table, row });
        continue;
      }
      const byHlc = new Map<number, RowDelta>();
      const part = (hlc: number): RowDelta => {
        let r = byHlc.get(hlc);
        if (r === undefined) byHlc.set(hlc, (r = { pk: row.pk, put: null, del: null, cells: [] }));
        return r;
      };
      if (row.put) part(row.put[0]).put = row.put;
      if (row.del) part(row.del[0]).del = row.del;
      for (const c of row.cells) part(c[2]).cells.push(c);
      for (const [hlc, r] of byHlc) units.push({ hlc, table, row: r });
    }
  });
  return units;
}

/** The one hlc of all of a row's registers (the common case: written by one exec), else null. */
function singleHlc(row: RowDelta): number | null {
  let h: number | null = row.put ? row.put[0] : row.del ? row.del[0] : row.cells.length > 0 ? row.cells[0]![2] : 0;
  if (row.del && row.del[0] !== h) return null;
  for (const c of row.cells) if (c[2] !== h) return null;
  return h;
}

function build(cs: ChangeSet, units: Unit[], from: number, to: number): ChangeSet {
  const byTable = new Map<number, RowDelta[]>();
  for (let i = from; i < to; i++) {
    const u = units[i]!;
    let rows = byTable.get(u.table);
    if (rows === undefined) byTable.set(u.table, (rows = []));
    rows.push(u.row);
  }
  const tables: TableDelta[] = [...byTable.keys()]
    .sort((a, b) => a - b)
    .map((i) => ({ table: cs.tables[i]!.table, columns: cs.tables[i]!.columns, rows: byTable.get(i)! }));
  return { nodes: cs.nodes, tables };
}

/** Highest hlc per origin node among a change set's stamps. */
export function vectorOfChanges(cs: ChangeSet): VersionVector {
  const max = new Array<number>(cs.nodes.length).fill(-1);
  const see = (hlc: number, node: number) => {
    if (hlc > max[node]!) max[node] = hlc;
  };
  for (const t of cs.tables) {
    for (const r of t.rows) {
      if (r.put) see(r.put[0], r.put[1]);
      if (r.del) see(r.del[0], r.del[1]);
      for (const c of r.cells) see(c[2], c[3]);
    }
  }
  const out: VersionVector = {};
  cs.nodes.forEach((n, i) => {
    if (max[i]! >= 0 && (out[n] === undefined || out[n]! < max[i]!)) out[n] = max[i]!;
  });
  return out;
}

/** The part of a change set that touches `tables` (same node list). */
export function restrictToTables(cs: ChangeSet, tables: ReadonlySet<string>): ChangeSet {
  if (cs.tables.every((t) => tables.has(t.table))) return cs;
  return { nodes: cs.nodes, tables: cs.tables.filter((t) => tables.has(t.table)) };
}
