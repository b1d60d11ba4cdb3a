import type { ChangeSet, TableDelta } from '../replica/contracts/change-set.js';

/**
 * Splits an upload into blobs of at most `maxRows` rows (whole rows stay together, so each blob
 * applies on its own); node and column lists repeat per blob. Unlike peer delta pieces
 * (delta-pieces.ts) no stamp order is needed: a mailbox reader credits the mailbox only with the
 * `upTo` vector of an upload's last blob.
 */
export function splitIntoBlobs(cs: ChangeSet, maxRows: number): ChangeSet[] {
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
