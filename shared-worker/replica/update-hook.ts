/**
 * sqlite3_update_hook installed straight on the connection, for a JS call per written row that
 * costs next to nothing. sql.js's own Database.updateHook decodes the database and table names
 * from wasm memory into new JS strings on every call, which made a large synced UPDATE (that
 * also writes our log rows) about 15% slower; the same hook without the decoding costs nothing
 * measurable.
 *
 * So names are decoded once per table-name pointer (the address of SQLite's Table.zName) and kept
 * in a map. An address names one table only while the schema object lives: DDL can free it and
 * the allocator can hand the address to another table's name. Schema changes happen only between
 * statements, so the owner calls forgetNames() after any statement that may change the schema
 * (SqlDatabase does it in execRaw; exec-runner after user statements).
 */
import type { Database, SqlJsStatic } from 'sql.js';

/** The row operation SQLite's update hook reports. */
export type HookOp = 'insert' | 'update' | 'delete';

export type UpdateListener = (op: HookOp, dbName: string, table: string, rowid: number) => void;

/** The parts of the Emscripten runtime sql.js exports that this needs (not in its typings). */
interface SqlJsRuntime {
  addFunction(f: (...args: never[]) => void, signature: string): number;
  removeFunction(pointer: number): void;
  UTF8ToString(pointer: number): string;
  _sqlite3_update_hook(db: number, callback: number, arg: number): number;
}

// SQLITE_INSERT, SQLITE_UPDATE and SQLITE_DELETE (sqlite3.h).
const OPS: Record<number, HookOp> = { 18: 'insert', 23: 'update', 9: 'delete' };

export class UpdateHook {
  private readonly runtime: SqlJsRuntime;
  private callback = 0;
  private names = new Map<number, [dbName: string, table: string]>();

  constructor(
    sql: SqlJsStatic,
    private readonly listener: UpdateListener,
  ) {
    const r = sql as unknown as Partial<SqlJsRuntime>;
    if (typeof r.addFunction !== 'function' || typeof r._sqlite3_update_hook !== 'function' || typeof r.UTF8ToString !== 'function') {
      throw new Error('this sql.js build does not export addFunction, UTF8ToString and _sqlite3_update_hook');
    }
    this.runtime = r as SqlJsRuntime;
  }

  private readonly onEvent = (_arg: number, op: number, dbName: number, table: number, rowid: bigint | number): void => {
    let names = this.names.get(table);
    if (names === undefined) {
      names = [this.runtime.UTF8ToString(dbName), this.runtime.UTF8ToString(table)];
      this.names.set(table, names);
    }
    this.listener(OPS[op]!, names[0], names[1], Number(rowid));
  };

  /** Starts calling the listener for writes on `raw`. */
  install(raw: Database): void {
    // 'viiiij': void (void *arg, int op, char const *db, char const *table, sqlite3_int64 rowid).
    if (this.callback === 0) this.callback = this.runtime.addFunction(this.onEvent as never, 'viiiij');
    this.forgetNames();
    this.runtime._sqlite3_update_hook(pointerOf(raw), this.callback, 0);
  }

  uninstall(raw: Database): void {
    this.runtime._sqlite3_update_hook(pointerOf(raw), 0, 0);
  }

  forgetNames(): void {
    if (this.names.size > 0) this.names = new Map();
  }

  /** Frees the wasm function-table slot (after uninstall on every connection it was on). */
  dispose(): void {
    if (this.callback !== 0) this.runtime.removeFunction(this.callback);
    this.callback = 0;
  }
}

/** The sqlite3* of a sql.js Database (its `db` field). */
function pointerOf(raw: Database): number {
  const p = (raw as unknown as { db: unknown }).db;
  if (typeof p !== 'number' || p === 0) throw new Error('sql.js Database has no open connection pointer');
  return p;
}
