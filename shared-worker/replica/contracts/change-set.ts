/**
 * The unit of replication: a set of CRDT register values. The same shape is the payload of live
 * batches and deltas between peers, and the record the durable log replays at start-up.
 *
 * State model (DESIGN.md "Replica semantics"): per synced table and primary key, a row has
 *   - one last-writer-wins register per non-key column (value + stamp),
 *   - a row write register `put` (stamp of the newest insert/update of the row),
 *   - a row delete register `del` (stamp of the newest delete).
 * A row is visible iff put > del. A cell register keeps its value while the row is deleted, so an
 * update made after a delete brings the row back with the newest value of every column.
 * Stamps are ordered by (hlc, nodeId); see hlc.ts for the hlc number format.
 */

import type { SqlValue } from '../../protocol/values.js';

export type { SqlValue };

/** A stamp inside a ChangeSet: the hlc number and an index into `ChangeSet.nodes`. */
export type StampRef = [hlc: number, node: number];

/** One cell: column index into `TableDelta.columns`, value, and its stamp. */
export type CellChange = [column: number, value: SqlValue, hlc: number, node: number];

export interface RowDelta {
  /** Primary-key values in the table's key column order. */
  pk: SqlValue[];
  /** The row write register, when newer than what the receiver is known to hold. */
  put: StampRef | null;
  /** The row delete register, when newer than what the receiver is known to hold. */
  del: StampRef | null;
  cells: CellChange[];
}

export interface TableDelta {
  table: string;
  /** Non-key column names that `cells` refer to by index. */
  columns: string[];
  rows: RowDelta[];
}

export interface ChangeSet {
  /** Origin node ids referenced by index from stamps. */
  nodes: string[];
  tables: TableDelta[];
}

export const EMPTY_CHANGE_SET: ChangeSet = Object.freeze({ nodes: [], tables: [] }) as ChangeSet;

/** Number of register values a change set carries (what the `sync(count)` event reports). */
export function countChanges(cs: ChangeSet): number {
  let n = 0;
  for (const t of cs.tables) {
    for (const r of t.rows) n += r.cells.length + (r.put ? 1 : 0) + (r.del ? 1 : 0);
  }
  return n;
}

export function isEmptyChangeSet(cs: ChangeSet): boolean {
  return cs.tables.every((t) => t.rows.length === 0);
}

/**
 * Splits a change set into pieces of at most `maxRows` rows each (whole rows stay together, so
 * each piece applies on its own). Node and column tables are repeated per piece.
 */
export function splitChangeSet(cs: ChangeSet, maxRows: number): ChangeSet[] {
  if (maxRows < 1) throw new RangeError('maxRows must be >= 1');
  const pieces: ChangeSet[] = [];
  let current: TableDelta[] = [];
  let rowsInCurrent = 0;
  for (const t of cs.tables) {
    let start = 0;
    while (start < t.rows.length) {
      const take = Math.min(maxRows - rowsInCurrent, t.rows.length - start);
      current.push({ table: t.table, columns: t.columns, rows: t.rows.slice(start, start + take) });
      rowsInCurrent += take;
      start += take;
      if (rowsInCurrent === maxRows) {
        pieces.push({ nodes: cs.nodes, tables: current });
        current = [];
        rowsInCurrent = 0;
      }
    }
  }
  if (current.length > 0) pieces.push({ nodes: cs.nodes, tables: current });
  return pieces;
}
