/**
 * Checks a change set from a peer (or from storage) completely before anything is written, so a
 * hostile or corrupt batch is refused as a whole (BAD_OP) and changes nothing.
 */
import type { ChangeSet, RowDelta, SqlValue } from './contracts/change-set.js';
import { BatteryError } from '../protocol/errors.js';
import { isValidHlc } from './hlc.js';
import { isInternalName } from './internal-schema.js';
import { keyAffinities, nonCanonicalKey } from './key-affinity.js';
import { isNodeId } from '../protocol/ids.js';
import type { SyncedTable } from './synced-table.js';
import {
  MAX_BATCH_BYTES, MAX_CELLS_PER_BATCH, MAX_NODES_PER_BATCH, MAX_ROWS_PER_BATCH, MAX_TABLES_PER_BATCH,
  MAX_VALUE_BYTES, valueBytes,
} from '../protocol/limits.js';


export interface ValidatedTable {
  table: SyncedTable;
  /** Delta column index -> local non-key column index, or -1 - j for unknown column j. */
  colMap: number[];
  /**
   * Columns this replica's table does not have (a peer on another schema version has them):
   * their cells are kept as extra cells and forwarded (schema-evolution.ts).
   */
  unknown: string[];
  rows: RowDelta[];
}

export interface ValidatedBatch {
  nodes: string[];
  tables: ValidatedTable[];
  /** Highest hlc per node id in the batch (moves the version vector and the clock). */
  maxHlcByNode: Map<string, number>;
  maxHlc: number;
}

function bad(message: string, detail?: Record<string, unknown>): never {
  throw new BatteryError('BAD_OP', `invalid change set: ${message}`, detail);
}

/** Byte size of a valid value (protocol/limits.ts), or -1 if the value is not a SqlValue. */
function sizeOf(v: unknown): number {
  if (v === null || typeof v === 'string' || v instanceof Uint8Array) return valueBytes(v);
  return typeof v === 'number' && Number.isFinite(v) ? 8 : -1;
}

/**
 * `caps` false: no per-batch caps on rows, cells, bytes, tables and nodes (enableSync merging
 * its parked rows, which came in batches checked one by one).
 */
export function validateChangeSet(cs: unknown, resolveTable: (name: string) => SyncedTable | undefined, caps = true): ValidatedBatch {
  if (typeof cs !== 'object' || cs === null) bad('not an object');
  const { nodes, tables } = cs as ChangeSet;
  if (!Array.isArray(nodes) || !Array.isArray(tables)) bad('nodes and tables must be arrays');
  if (caps && nodes.length > MAX_NODES_PER_BATCH) bad(`more than ${MAX_NODES_PER_BATCH} nodes`);
  if (caps && tables.length > MAX_TABLES_PER_BATCH) bad(`more than ${MAX_TABLES_PER_BATCH} tables`);
  nodes.forEach((id, i) => {
    if (!isNodeId(id)) bad(`node ${i} is not a node id (16 lowercase hex chars)`);
  });

  // Per node index, the highest hlc seen. Messages are built only on failure: this loop runs for
  // every value of every row, so it allocates nothing per value.
  const maxByIdx: number[] = new Array(nodes.length).fill(-1);
  let maxHlc = 0;
  // Where a failure is (built only on failure): the current table and row, read by one function
  // made once per batch, not a closure per row.
  let whereTable: string | null = null;
  let whereRow = 0;
  const where = (): string => (whereTable === null ? '' : `table ${whereTable} row ${whereRow}`);
  const stamp = (hlc: unknown, node: unknown, what: string) => {
    if (typeof hlc !== 'number' || !isValidHlc(hlc)) bad(`${where()} ${what}: hlc must be a non-negative safe integer`);
    if (typeof node !== 'number' || !Number.isInteger(node) || node < 0 || node >= nodes.length) bad(`${where()} ${what}: node index out of range`);
    if (maxByIdx[node]! < hlc) maxByIdx[node] = hlc;
    if (hlc > maxHlc) maxHlc = hlc;
  };
  let rowCount = 0;
  let cellCount = 0;
  let bytes = 0;
  const value = (v: unknown) => {
    const b = sizeOf(v);
    if (b < 0) bad(`${where()}: values must be null, a finite number, a string or a Uint8Array`);
    if (b > MAX_VALUE_BYTES) bad(`${where()}: value larger than ${MAX_VALUE_BYTES} bytes`);
    bytes += b;
  };

  const out: ValidatedTable[] = [];
  tables.forEach((td, ti) => {
    if (typeof td !== 'object' || td === null) bad(`table ${ti} is not an object`);
    const { table: name, columns, rows } = td;
    if (typeof name !== 'string' || name.length > 1024) bad(`table ${ti}: name must be a string`);
    if (isInternalName(name)) bad(`table ${ti}: internal tables cannot be written`, { table: name.slice(0, 100) });
    const table = resolveTable(name);
    if (!table) bad(`table ${ti} is not a synced table here`, { table: name.slice(0, 100) });
    if (!Array.isArray(columns) || !Array.isArray(rows)) bad(`table ${ti}: columns and rows must be arrays`);
    const colMap: number[] = [];
    const unknown: string[] = [];
    const seen = new Set<string>();
    columns.forEach((c, ci) => {
      if (typeof c !== 'string' || c.length === 0 || c.length > 1024) bad(`table ${table.shape.name}: column ${ci} must be a name`);
      const lower = c.toLowerCase();
      if (seen.has(lower)) bad(`table ${table.shape.name}: column ${ci} repeats another column`);
      seen.add(lower);
      const idx = table.colIndex.get(lower);
      if (idx !== undefined) colMap.push(idx);
      else if (table.shape.pk.some((k) => k.name.toLowerCase() === lower) || ['rowid', 'oid', '_rowid_'].includes(lower)) {
        bad(`table ${table.shape.name}: column ${ci} names a key column`);
      } else {
        colMap.push(-1 - unknown.length);
        unknown.push(c);
      }
    });
    const k = table.shape.pk.length;
    const affinities = keyAffinities(table.shape.pk);
    const rowid = table.shape.rowidAlias === true;
    rowCount += rows.length;
    if (caps && rowCount > MAX_ROWS_PER_BATCH) bad(`more than ${MAX_ROWS_PER_BATCH} rows`);
    for (let ri = 0; ri < rows.length; ri++) {
      whereTable = table.shape.name;
      whereRow = ri;
      const r = rows[ri];
      if (typeof r !== 'object' || r === null) bad(`${where()} is not an object`);
      const { pk, put, del, cells } = r as RowDelta;
      if (!Array.isArray(pk) || pk.length !== k) bad(`${where()}: primary key must have ${k} value(s)`);
      for (let i = 0; i < k; i++) {
        if (pk[i] === null) bad(`${where()}: primary key values cannot be null`);
        value(pk[i]);
        // Only keys as SQLite stores them: the merge compares keys by JS type (key-affinity.ts).
        const why = nonCanonicalKey(affinities[i]!, pk[i]!, rowid);
        if (why !== null) bad(`${where()}: key value ${i}: ${why}`);
      }
      if (put !== null) {
        if (!Array.isArray(put) || put.length !== 2) bad(`${where()}: put must be null or [hlc, node]`);
        stamp(put[0], put[1], 'put');
      }
      if (del !== null) {
        if (!Array.isArray(del) || del.length !== 2) bad(`${where()}: del must be null or [hlc, node]`);
        stamp(del[0], del[1], 'del');
      }
      if (!Array.isArray(cells)) bad(`${where()}: cells must be an array`);
      cellCount += cells.length;
      if (caps && cellCount > MAX_CELLS_PER_BATCH) bad(`more than ${MAX_CELLS_PER_BATCH} cells`);
      for (let ci = 0; ci < cells.length; ci++) {
        const cell = cells[ci];
        if (!Array.isArray(cell) || cell.length !== 4) bad(`${where()}: a cell must be [column, value, hlc, node]`);
        const col = cell[0] as unknown;
        if (typeof col !== 'number' || !Number.isInteger(col) || col < 0 || col >= colMap.length) bad(`${where()}: cell column index out of range`);
        value(cell[1]);
        stamp(cell[2], cell[3], 'cell');
      }
    }
    if (caps && bytes > MAX_BATCH_BYTES) bad(`more than ${MAX_BATCH_BYTES} bytes of values`);
    out.push({ table, colMap, unknown, rows });
  });
  const maxHlcByNode = new Map<string, number>();
  maxByIdx.forEach((hlc, i) => {
    if (hlc >= 0 && (maxHlcByNode.get(nodes[i]!) ?? -1) < hlc) maxHlcByNode.set(nodes[i]!, hlc);
  });
  return { nodes, tables: out, maxHlcByNode, maxHlc };
}
