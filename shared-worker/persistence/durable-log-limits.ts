/**
 * Whether a commit's changes can be replayed from the log at all. Replay goes through
 * applyChanges, which checks every batch against the caps for hostile peer input
 * (replica/remote-validation.ts, caps in protocol/limits.ts) even for our own trusted records. A local exec is held to the per-value
 * cap (protocol/limits.ts: it refuses a bigger value in a synced table) but not to the batch caps
 * (a 300k-row insert). Logging such a commit would make the database fail to open, so it is
 * persisted by a snapshot instead (needsSnapshot).
 */
import type { ChangeSet, SqlValue } from '../replica/contracts/change-set.js';
import {
  MAX_BATCH_BYTES, MAX_CELLS_PER_BATCH, MAX_NODES_PER_BATCH, MAX_ROWS_PER_BATCH, MAX_TABLES_PER_BATCH,
  MAX_VALUE_BYTES, valueBytes,
} from '../protocol/limits.js';

/** Totals of a change set, in the units the replay caps are stated in. */
export interface ReplaySize {
  rows: number;
  cells: number;
  bytes: number;
  /** Largest single value. */
  maxValue: number;
}

export function replaySize(cs: ChangeSet): ReplaySize {
  const size: ReplaySize = { rows: 0, cells: 0, bytes: 0, maxValue: 0 };
  const add = (v: SqlValue) => {
    const n = valueBytes(v);
    size.bytes += n;
    if (n > size.maxValue) size.maxValue = n;
  };
  for (const t of cs.tables) {
    size.rows += t.rows.length;
    for (const r of t.rows) {
      size.cells += r.cells.length;
      for (const v of r.pk) add(v);
      for (const c of r.cells) add(c[1]);
    }
  }
  return size;
}

export function exceedsReplayLimits(cs: ChangeSet): boolean {
  if (cs.nodes.length > MAX_NODES_PER_BATCH || cs.tables.length > MAX_TABLES_PER_BATCH) return true;
  const s = replaySize(cs);
  return s.rows > MAX_ROWS_PER_BATCH || s.cells > MAX_CELLS_PER_BATCH || s.bytes > MAX_BATCH_BYTES || s.maxValue > MAX_VALUE_BYTES;
}
