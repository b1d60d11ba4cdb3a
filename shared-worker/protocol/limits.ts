/**
 * Size limits that more than one runtime enforces.
 *
 * The one cap on a single value of a synced table, and how a value is measured against it.
 * Every layer uses this definition: a local exec refuses to store a bigger value in a synced table
 * (value-cap.ts), remote validation refuses it in a change set, the peer protocol bounds values
 * on the wire with it, and the durable log's replay limits follow it. With one number, a value a
 * replica accepts from its user can always reach its peers; two different caps made a peer that
 * stored a bigger value stall every other peer's sync on it for good.
 *
 * Values of tables that are not synced never leave the replica and are not capped here.
 */
import type { SqlValue } from './values.js';

/**
 * 1 MiB, measured as SQLite stores it (UTF-8 bytes of text, bytes of a blob). SQLite's own limit
 * (SQLITE_MAX_LENGTH, 1e9) is far above; 1 MiB keeps a batch's memory and a wire frame (64 MiB
 * reassembly cap) bounded. Bigger payloads belong in non-synced tables or outside the database.
 */
export const MAX_VALUE_BYTES = 1 << 20;

/** UTF-8 length of a JS string as sql.js stores it (a lone surrogate takes 3 bytes, as U+FFFD). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * Bytes a value counts for against MAX_VALUE_BYTES (numbers: 8; null: 0). Exact above the cap; a
 * string that cannot exceed it counts 3 bytes per UTF-16 unit (an upper bound, no scan).
 */
export function valueBytes(v: SqlValue): number {
  if (v === null) return 0;
  if (typeof v === 'number') return 8;
  // UTF-8 needs at most 3 bytes per UTF-16 unit: only strings that might be too big are measured.
  if (typeof v === 'string') return v.length * 3 <= MAX_VALUE_BYTES ? v.length * 3 : utf8Length(v);
  return v.byteLength;
}

/** Caps on one change set from a peer (or replayed from the log): bounded work and memory per batch. */
/** Rows in one batch: the sync engine chunks larger deltas (splitChangeSet); 250k fits a 100k-row bulk insert with room. */
export const MAX_ROWS_PER_BATCH = 250_000;
/** Cells in one batch (~10 per row at the row cap). */
export const MAX_CELLS_PER_BATCH = 2_500_000;
/** All value bytes of one batch together. */
export const MAX_BATCH_BYTES = 256 << 20;
export const MAX_NODES_PER_BATCH = 10_000;
export const MAX_TABLES_PER_BATCH = 1_000;
/**
 * Entries in one version vector, hence node ids a replica admits and per-peer vectors may hold:
 * far more nodes than a room will ever see, small enough to bound work. A replica past it would
 * send hellos every honest peer refuses (docs/security.md, "Bounded per-peer state").
 */
export const MAX_VECTOR_ENTRIES = 100_000;

/** Largest frame on a DataConnection; why 64 KiB: sync/framing.ts. The leader tab drops bigger ones. */
export const MAX_FRAME_BYTES = 64 * 1024;
