/**
 * Row images of writes to NON-synced tables, for the durable log (Commit.rows). Synced tables
 * are covered by their registers; internal tables are rebuilt by replaying those.
 *
 * Captured with sql.js's update hook, then each written row is read back just before COMMIT.
 * The hook misses some writes (SQLite docs, sqlite3_update_hook): WITHOUT ROWID tables, the
 * truncate optimization of an unqualified DELETE, rows removed by REPLACE conflict resolution.
 * The first two still count in total_changes(), so a count that exceeds the hook's events, or
 * REPLACE in the SQL, makes the commit ask for a snapshot instead (`complete = false`).
 */
import type { SqlValue } from './contracts/change-set.js';
import type { HookOp } from './update-hook.js';
import { BatteryError } from '../protocol/errors.js';
import { isInternalName } from './internal-schema.js';
import type { RowWrite } from './contracts/replica-types.js';
import type { SqlDatabase } from './sql-database.js';
import { quoteIdent } from './sql-text.js';


export class WriteRecorder {
  /** Every hook event (any table), compared with total_changes(). */
  count = 0;
  /**
   * Rows written to the capture triggers' logs (_rb_x*, _rb_u*): a trigger of a synced table ran.
   * Rows REPLACE removes fire the delete trigger but no hook event of their own (see the header).
   */
  captureLogWrites = 0;
  /**
   * Rows written to the extra-cell tables (_rb_e*) by the exec: a key change moved cells of
   * columns this replica lacks (capture.ts), so its change set must read them (delta.ts extras).
   */
  extraCellWrites = 0;
  private events: Array<[op: HookOp, table: string, rowid: number]> = [];
  private tablesTouched = new Set<string>();
  /** What was recorded when the running statement started (markStatement). */
  private statementMark = { count: 0, captureLogWrites: 0, extraCellWrites: 0, events: 0 };

  constructor(
    private readonly isSynced: (table: string) => boolean,
    /** Events on synced tables go here (insert-capture.ts) instead of becoming row images. */
    private readonly onSynced: (op: HookOp, table: string, rowid: number) => void,
  ) {}

  readonly onHook = (op: HookOp, dbName: string, table: string, rowid: number): void => {
    this.count++;
    // Most events are our own clock rows: test the cheap things first (this runs per row).
    if (table.charCodeAt(0) === 95 /* _ */ && table.startsWith('_rb_')) {
      const kind = table.charCodeAt(4);
      if (kind === 120 /* x */ || kind === 117 /* u */) this.captureLogWrites++;
      else if (kind === 101 /* e */) this.extraCellWrites++;
      return;
    }
    if (dbName !== 'main' || isInternalName(table)) return;
    if (this.isSynced(table)) {
      this.tablesTouched.add(table);
      this.onSynced(op, table, rowid);
      return;
    }
    this.events.push([op, table, rowid]);
    this.tablesTouched.add(table);
  };

  reset(): void {
    this.count = 0;
    this.captureLogWrites = 0;
    this.extraCellWrites = 0;
    this.events = [];
    this.tablesTouched = new Set();
  }

  /** Remembers what is recorded so far: the running statement starts. */
  markStatement(): void {
    const m = this.statementMark;
    m.count = this.count;
    m.captureLogWrites = this.captureLogWrites;
    m.extraCellWrites = this.extraCellWrites;
    m.events = this.events.length;
  }

  /**
   * Forgets what the running statement recorded: it was aborted (nothing it did remains) and runs
   * again (lazy-capture.ts). total_changes() does not count an aborted statement's rows either.
   * Tables it touched stay touched: that only makes the exec look at more tables.
   */
  rewindStatement(): void {
    const m = this.statementMark;
    this.count = m.count;
    this.captureLogWrites = m.captureLogWrites;
    this.extraCellWrites = m.extraCellWrites;
    this.events.length = m.events;
  }

  /** Non-internal tables (synced or not) the hook saw written. */
  touched(): string[] {
    return [...this.tablesTouched];
  }

  /** Final image of each written row, in order of its last write; `complete` false when unsure. */
  images(db: SqlDatabase): { rows: RowWrite[]; complete: boolean } {
    const last = new Map<string, [string, number]>();
    for (const [, table, rowid] of this.events) {
      const key = `${table}\u0000${rowid}`;
      last.delete(key);
      last.set(key, [table, rowid]);
    }
    const columns = new Map<string, string[] | null>();
    const rows: RowWrite[] = [];
    let complete = true;
    for (const [table, rowid] of last.values()) {
      let cols = columns.get(table);
      if (cols === undefined) {
        const names = db.all('SELECT name FROM pragma_table_xinfo(?) WHERE hidden = 0', [table]).map((r) => String(r[0]));
        // No columns: the table was dropped or renamed later in the same call (the snapshot that
        // DDL asks for covers it). A shadowed rowid: a row image could not name the row.
        cols = names.length === 0 || names.some((c) => ['rowid', 'oid', '_rowid_'].includes(c.toLowerCase())) ? null : names;
        columns.set(table, cols);
      }
      if (cols === null) {
        complete = false;
        continue;
      }
      const values = db.get(`SELECT ${cols.map(quoteIdent).join(', ')} FROM ${quoteIdent(table)} WHERE rowid = ?`, [rowid]);
      rows.push(values ? { op: 'upsert', table, rowid, columns: cols, values: values as SqlValue[] } : { op: 'delete', table, rowid });
    }
    return { rows, complete };
  }
}

/** Re-applies row images (log replay) to non-synced tables; the caller holds the transaction. */
export function replayRowImages(db: SqlDatabase, rows: RowWrite[], isSynced: (table: string) => boolean): void {
  for (const w of rows) {
    if (typeof w?.table !== 'string' || isInternalName(w.table) || isSynced(w.table)) {
      throw new BatteryError('BAD_OP', `row images can only restore non-synced user tables (got ${String(w?.table).slice(0, 80)})`);
    }
    if (!Number.isSafeInteger(w.rowid)) throw new BatteryError('BAD_OP', 'row image rowid must be a safe integer');
    const T = quoteIdent(w.table);
    if (w.op === 'delete') db.run(`DELETE FROM ${T} WHERE rowid = ?`, [w.rowid]);
    else if (w.op === 'upsert' && Array.isArray(w.columns) && Array.isArray(w.values) && w.columns.length === w.values.length) {
      const cols = ['rowid', ...w.columns.map(quoteIdent)];
      db.run(`INSERT OR REPLACE INTO ${T}(${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`, [w.rowid, ...w.values]);
    } else throw new BatteryError('BAD_OP', 'malformed row image');
  }
}
