/**
 * What sql.js has but does not declare in its types: the C handle of a Database, and the C
 * functions it exports next to its JS API (sql.js 1.16 dist/sql-wasm.js). Used where the JS API
 * costs more than the work (sql-database.ts execRaw) or lacks a function (export-cursor.ts).
 */
import type { Database, SqlJsStatic } from 'sql.js';

/** The C handle (sqlite3*) of a sql.js Database. */
export function handleOf(db: Database): number {
  return (db as unknown as { db: number }).db;
}

/** The C functions execRaw calls directly. */
export interface ExecApi {
  _malloc(bytes: number): number;
  _free(at: number): void;
  writeArrayToMemory(bytes: Uint8Array, at: number): void;
  UTF8ToString(at: number): string;
  _sqlite3_exec(db: number, sql: number, callback: number, arg: number, errmsg: number): number;
  _sqlite3_errmsg(db: number): number;
}

/** sql.js's ExecApi, or null for a build that lacks one of them (the caller then uses its JS API). */
export function execApiOf(sql: SqlJsStatic): ExecApi | null {
  const c = sql as unknown as Partial<ExecApi>;
  const names = ['_malloc', '_free', 'writeArrayToMemory', 'UTF8ToString', '_sqlite3_exec', '_sqlite3_errmsg'] as const;
  return names.every((n) => typeof c[n] === 'function') ? (c as ExecApi) : null;
}
