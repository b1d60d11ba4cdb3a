/**
 * What sql.js's update hook tells the capture about synced tables during one transaction:
 *  - Capture mode (exec): the rowids of inserted rows, which get their clock rows at the end of
 *    the exec (capture.ts explains why inserts have no trigger), and whether the exec also
 *    deleted or updated rows of the table (then a listed rowid may have no row anymore);
 *  - Forbid mode (execLocal, row replay): the first synced table written, which the replica
 *    refuses before COMMIT. Updates and deletes are refused by the triggers already; inserts,
 *    having no trigger, only show up here.
 * The hook cannot throw: the exception would unwind through SQLite's C frames (compiled to wasm)
 * and leave the connection in an unknown state. So it only records, and the replica acts later.
 *
 * The hook misses nothing an insert capture needs (SQLite docs, sqlite3_update_hook): it skips
 * WITHOUT ROWID tables (enableSync refuses them), the truncate optimization (disabled by our
 * delete trigger) and rows REPLACE removes (a delete, which the delete trigger sees).
 */
import { CaptureMode } from './internal-schema.js';
import type { HookOp } from './update-hook.js';


export interface TableInserts {
  rowids: number[];
  /** The exec also deleted or updated rows of this table. */
  checked: boolean;
}

export class InsertCapture {
  private mode: CaptureMode = CaptureMode.Forbid;
  private byTable = new Map<string, TableInserts>();
  /** Canonical name of the first synced table written in Forbid mode, else null. */
  forbidden: string | null = null;
  /** The first row an exec put at a rowid beyond ±(2^53 - 1) (exact-integers.ts), else null. */
  unsafeRowid: { table: string; rowid: number } | null = null;

  /** Clears what was recorded and sets the mode the hook events are read in. */
  begin(mode: CaptureMode): void {
    this.mode = mode;
    this.byTable = new Map();
    this.forbidden = null;
    this.unsafeRowid = null;
  }

  /** A hook event on synced table `table` (canonical name, main schema). */
  note(op: HookOp, table: string, rowid: number): void {
    if (this.mode === CaptureMode.Off) return;
    if (this.mode === CaptureMode.Forbid) {
      this.forbidden ??= table;
      return;
    }
    if (op !== 'delete' && !Number.isSafeInteger(rowid)) this.unsafeRowid ??= { table, rowid };
    let t = this.byTable.get(table);
    if (!t) this.byTable.set(table, (t = { rowids: [], checked: false }));
    if (op === 'insert') t.rowids.push(rowid);
    else t.checked = true;
  }

  /**
   * Runs `body` with hook events on synced tables ignored: the replica merging others' registers
   * (their own stamps) in the middle of an exec, which must not take them as the exec's inserts.
   */
  ignoring<T>(body: () => T): T {
    const mode = this.mode;
    this.mode = CaptureMode.Off;
    try {
      return body();
    } finally {
      this.mode = mode;
    }
  }

  /**
   * The running statement was aborted and runs again (lazy-capture.ts): the rowids it recorded
   * may have no row now, or get one again. Every list is checked against its table from now on
   * (materializeInsertsSql's `checked` form), which skips a rowid with no row and gives a rowid
   * listed twice one clock row; an unsafe rowid seen only in the aborted run is forgotten.
   */
  rewindStatement(unsafeBefore: InsertCapture['unsafeRowid']): void {
    for (const t of this.byTable.values()) t.checked = true;
    this.unsafeRowid = unsafeBefore;
  }

  /** Drops what was recorded for `table` (its inserts were folded early, before an ALTER of it). */
  forget(table: string): void {
    this.byTable.delete(table);
  }

  /**
   * Did the exec only insert rows into `table` (no update or delete event)? Rows that REPLACE
   * removes have no event (see the header), so the caller also checks that no capture trigger
   * wrote its log (WriteRecorder.captureLogWrites); then every inserted row still exists and no
   * update log entry or tombstone got this exec's stamp.
   */
  insertedOnly(table: string): boolean {
    const t = this.byTable.get(table);
    return t !== undefined && !t.checked && t.rowids.length > 0;
  }

  /** The rows inserted into `table` since begin(), or undefined if none. */
  inserted(table: string): TableInserts | undefined {
    const t = this.byTable.get(table);
    return t && t.rowids.length > 0 ? t : undefined;
  }
}
