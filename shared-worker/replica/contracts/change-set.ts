/**
 * The unit of replication: a set of CRDT register values. The same shape is the payload of live
 * batches and deltas between peers, and the record the durable log replays at start-up.
 *
 * State model (docs/merge-rules.md): per synced table and primary key, a row has
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

/**
 * A signed change set of another replica, kept verbatim so it can be forwarded unchanged
 * (docs/security.md, "Authorship"): the stamp it holds the registers of, and its bytes.
 * The replica stores bodies opaquely; sync/change-set-signature.ts makes and checks them.
 */
export interface SignedBody {
  node: string;
  hlc: number;
  body: Uint8Array;
}

export const EMPTY_CHANGE_SET: ChangeSet = Object.freeze({ nodes: [], tables: [] }) as ChangeSet;

export function isEmptyChangeSet(cs: ChangeSet): boolean {
  return cs.tables.every((t) => t.rows.length === 0);
}

/** One change set carrying all of `sets` (node indexes remapped, same table/columns joined). */
export function mergeChangeSets(sets: ChangeSet[]): ChangeSet {
  if (sets.length === 1) return sets[0]!;
  const nodes: string[] = [];
  const nodeIndex = new Map<string, number>();
  const tables = new Map<string, TableDelta>();
  for (const cs of sets) {
    const remap = cs.nodes.map((n) => {
      let i = nodeIndex.get(n);
      if (i === undefined) {
        i = nodes.length;
        nodes.push(n);
        nodeIndex.set(n, i);
      }
      return i;
    });
    for (const t of cs.tables) {
      const key = `${t.table}\u0000${t.columns.join('\u0000')}`;
      let out = tables.get(key);
      if (!out) tables.set(key, out = { table: t.table, columns: t.columns, rows: [] });
      for (const r of t.rows) {
        out.rows.push({
          pk: r.pk,
          put: r.put && [r.put[0], remap[r.put[1]]!],
          del: r.del && [r.del[0], remap[r.del[1]]!],
          cells: r.cells.map(([c, v, hlc, node]) => [c, v, hlc, remap[node]!]),
        });
      }
    }
  }
  return { nodes, tables: [...tables.values()] };
}
