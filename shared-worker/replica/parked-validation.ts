/**
 * The checks around parked registers (parked-registers.ts): the shape of registers to park (no
 * table to check them against), and which rows of signed sets fit a table synced here.
 */
import type { ChangeSet, RowDelta, TableDelta } from './contracts/change-set.js';
import { keyAffinities, nonCanonicalKey } from './key-affinity.js';
import { validateChangeSet, type ValidatedBatch } from './remote-validation.js';
import type { SyncedTable } from './synced-table.js';

/**
 * Registers to park, checked as change sets of tables whose only known part is their key width
 * (rows grouped by it: sets of several authors may disagree; any key value, no column is a key
 * column): every name, key, value and stamp must be well formed, or the batch is refused as a
 * whole (BAD_OP). Returns the highest stamps, as validateChangeSet does.
 */
export function validateParked(cs: ChangeSet): Pick<ValidatedBatch, 'maxHlcByNode' | 'maxHlc'> {
  const out: Pick<ValidatedBatch, 'maxHlcByNode' | 'maxHlc'> = { maxHlcByNode: new Map(), maxHlc: 0 };
  for (const t of Array.isArray(cs?.tables) ? cs.tables : [null as unknown as TableDelta]) {
    const byWidth = new Map<number, RowDelta[]>([[1, []]]);
    for (const r of Array.isArray(t?.rows) ? t.rows : []) {
      const w = Math.max(1, Array.isArray(r?.pk) ? r.pk.length : 1);
      let list = byWidth.get(w);
      if (!list) byWidth.set(w, (list = []));
      list.push(r);
    }
    for (const [w, rows] of byWidth) {
      const anyKey = Array.from({ length: w }, () => ({ name: '', type: '' }));
      const v = validateChangeSet({ nodes: cs?.nodes, tables: [{ ...t, rows }] }, (name) => ({ shape: { name, pk: anyKey, cols: [] }, colIndex: new Map() }) as unknown as SyncedTable);
      for (const [node, hlc] of v.maxHlcByNode) if ((out.maxHlcByNode.get(node) ?? -1) < hlc) out.maxHlcByNode.set(node, hlc);
      out.maxHlc = Math.max(out.maxHlc, v.maxHlc);
    }
  }
  return out;
}

/**
 * Splits rows of signed sets into those that fit a table synced here (its key width and key
 * values as its key stores them, no cell naming a key column) and the rest, which are parked.
 * A relayed set carries column names, not types: a shared column's declared type cannot be
 * checked (as for extra cells, docs/schema-evolution.md).
 */
export function splitByFit(cs: ChangeSet, resolveTable: (name: string) => SyncedTable | undefined): { fit: ChangeSet | null; unfit: ChangeSet | null } {
  const fit: TableDelta[] = [];
  const unfit: TableDelta[] = [];
  for (const t of cs.tables) {
    const table = typeof t.table === 'string' ? resolveTable(t.table) : undefined;
    const keyNames = new Set(table ? [...table.shape.pk.map((c) => c.name.toLowerCase()), 'rowid', 'oid', '_rowid_'] : []);
    if (!table || !Array.isArray(t.columns) || t.columns.some((c) => typeof c !== 'string' || keyNames.has(c.toLowerCase()))) {
      unfit.push(t);
      continue;
    }
    const affinities = keyAffinities(table.shape.pk);
    const rowid = table.shape.rowidAlias === true;
    const yes: RowDelta[] = [];
    const no: RowDelta[] = [];
    for (const r of t.rows) {
      const fits = Array.isArray(r.pk) && r.pk.length === affinities.length && r.pk.every((v, i) => v !== null && nonCanonicalKey(affinities[i]!, v, rowid) === null);
      (fits ? yes : no).push(r);
    }
    if (yes.length > 0) fit.push({ table: t.table, columns: t.columns, rows: yes });
    if (no.length > 0) unfit.push({ table: t.table, columns: t.columns, rows: no });
  }
  return { fit: fit.length > 0 ? { nodes: cs.nodes, tables: fit } : null, unfit: unfit.length > 0 ? { nodes: cs.nodes, tables: unfit } : null };
}
