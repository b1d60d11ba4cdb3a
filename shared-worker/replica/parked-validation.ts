/**
 * The checks around parked registers (parked-registers.ts): the shape of registers to park (no
 * table to check them against: every name, key, value and stamp must still be well formed, or
 * the batch is refused as a whole, BAD_OP), and which rows of signed sets fit a table synced here.
 */
import type { ChangeSet, RowDelta, TableDelta } from './contracts/change-set.js';
import { BatteryError } from '../protocol/errors.js';
import { isNodeId } from '../protocol/ids.js';
import { MAX_VALUE_BYTES, valueBytes } from '../protocol/limits.js';
import { isValidHlc } from './hlc.js';
import { isInternalName } from './internal-schema.js';
import { keyAffinities, nonCanonicalKey } from './key-affinity.js';
import type { SyncedTable } from './synced-table.js';

function bad(message: string): never {
  throw new BatteryError('BAD_OP', `invalid registers to park: ${message}`);
}

function checkValue(v: unknown, key: boolean): void {
  if (v === null ? key : !(typeof v === 'string' || v instanceof Uint8Array || (typeof v === 'number' && Number.isFinite(v)))) bad(key ? 'a key value must be a non-null value' : 'a value must be null, a finite number, a string or bytes');
  if (v !== null && valueBytes(v as never) > MAX_VALUE_BYTES) bad(`a value is larger than ${MAX_VALUE_BYTES} bytes`);
}

/** Highest hlc per node of a well-formed change set to park; throws BAD_OP when it is not one. */
export function validateParked(cs: unknown): { maxHlcByNode: Map<string, number>; maxHlc: number } {
  if (typeof cs !== 'object' || cs === null) bad('not an object');
  const { nodes, tables } = cs as ChangeSet;
  if (!Array.isArray(nodes) || !Array.isArray(tables)) bad('nodes and tables must be arrays');
  for (const id of nodes) if (!isNodeId(id)) bad('a node is not a node id');
  const maxHlcByNode = new Map<string, number>();
  let maxHlc = 0;
  const stamp = (hlc: unknown, node: unknown) => {
    if (typeof hlc !== 'number' || !isValidHlc(hlc)) bad('an hlc must be a non-negative safe integer');
    if (typeof node !== 'number' || !Number.isInteger(node) || node < 0 || node >= nodes.length) bad('node index out of range');
    const id = nodes[node]!;
    if ((maxHlcByNode.get(id) ?? -1) < hlc) maxHlcByNode.set(id, hlc);
    if (hlc > maxHlc) maxHlc = hlc;
  };
  for (const t of tables as unknown[]) {
    const { table, columns, rows } = (t ?? {}) as TableDelta;
    if (typeof table !== 'string' || table.length === 0 || table.length > 1024 || isInternalName(table)) bad('a table name must be a user table name');
    if (!Array.isArray(columns) || !Array.isArray(rows)) bad('columns and rows must be arrays');
    for (const c of columns) if (typeof c !== 'string' || c.length === 0 || c.length > 1024) bad('a column must be a name');
    for (const r of rows as unknown[]) {
      const { pk, put, del, cells } = (r ?? {}) as RowDelta;
      if (!Array.isArray(pk) || pk.length === 0 || !Array.isArray(cells)) bad('a row needs a key and cells');
      for (const v of pk) checkValue(v, true);
      for (const s of [put, del]) {
        if (s === null) continue;
        if (!Array.isArray(s) || s.length !== 2) bad('put and del must be null or [hlc, node]');
        stamp(s[0], s[1]);
      }
      for (const c of cells as unknown[]) {
        if (!Array.isArray(c) || c.length !== 4 || typeof c[0] !== 'number' || !Number.isInteger(c[0]) || c[0] < 0 || c[0] >= columns.length) bad('a cell must be [column index, value, hlc, node]');
        checkValue(c[1], false);
        stamp(c[2], c[3]);
      }
    }
  }
  return { maxHlcByNode, maxHlc };
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
