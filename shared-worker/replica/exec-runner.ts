/**
 * Runs user SQL statement by statement (the caller holds the transaction): parameter checks,
 * per-statement policy, result rows as objects for the last statement that returned rows.
 */
import type { Statement } from 'sql.js';
import { BatteryError } from '../protocol/errors.js';
import type { ExecResult, SqlParams, SqlValue } from '../protocol/values.js';

type Bindable = SqlParams;

/** A statement that may take parameters (a module constant: see sql-text.ts). */
const PARAMETER_MARKER = /[?:@$]/;
import type { SqlDatabase, UserStatement } from './sql-database.js';
import { firstKeyword, stripLiteralsAndComments } from './sql-text.js';
import { isLazyCaptureRequest } from './lazy-capture.js';

/**
 * How a statement runs again when a capture guard aborted it to ask for the TEMP capture
 * triggers (lazy-capture.ts): `statementStarts` before each statement runs, then, if it was so
 * aborted, `install` (the triggers, and the replica forgets what the aborted run recorded) and
 * the same statement with the same parameters once more.
 */
export interface LazyCaptureRetry {
  statementStarts(): void;
  install(): void;
}

/**
 * Steps `stmt` to its end, binding with `bind` first; the rows as objects when `columns` has any.
 * A statement aborted by a guard (ABORT undid all it did) is reset and run again after `retry.install`.
 */
function stepAll(stmt: Statement, columns: string[], bind: () => void, retry: LazyCaptureRetry | undefined): Record<string, SqlValue>[] {
  retry?.statementStarts();
  try {
    return stepOnce(stmt, columns, bind);
  } catch (e) {
    if (!retry || !isLazyCaptureRequest(e)) throw e;
    stmt.reset();
    retry.install();
    return stepOnce(stmt, columns, bind);
  }
}

function stepOnce(stmt: Statement, columns: string[], bind: () => void): Record<string, SqlValue>[] {
  bind();
  const rows: Record<string, SqlValue>[] = [];
  while (stmt.step()) rows.push(rowObject(columns, stmt.get() as SqlValue[]));
  return rows;
}

function rowObject(columns: string[], values: SqlValue[]): Record<string, SqlValue> {
  const row: Record<string, SqlValue> = {};
  for (let i = 0; i < columns.length; i++) row[columns[i]!] = values[i]!;
  return row;
}

/**
 * Runs every statement of `sql`. Array parameters bind to each statement that has a parameter
 * marker (so "INSERT ... (?); SELECT 1" works); named parameters bind by name wherever they occur.
 */
function runStatements(
  db: SqlDatabase,
  sql: string,
  params: Bindable | undefined,
  check: (stripped: string, text: string) => void,
  after?: () => void,
  retry?: LazyCaptureRetry,
): ExecResult {
  if (typeof sql !== 'string') throw new BatteryError('SQL', 'sql must be a string');
  let result: ExecResult = { columns: [], rows: [] };
  let fallbackColumns: string[] = [];
  const it = db.raw.iterateStatements(sql);
  let stmt: Statement | null = null;
  try {
    for (const s of it) {
      stmt = s;
      const stripped = stripLiteralsAndComments(stmt.getSQL());
      check(stripped, stmt.getSQL());
      const bound = params !== undefined && (!Array.isArray(params) || PARAMETER_MARKER.test(stripped));
      const columns = stmt.getColumnNames();
      const rows = stepAll(s, columns, () => bound && s.bind(params as never), retry);
      if (rows.length > 0) result = { columns, rows };
      else if (columns.length > 0) fallbackColumns = columns;
      stmt.free();
      stmt = null;
      db.forgetTableNames();
      after?.();
    }
  } finally {
    if (stmt) stmt.free();
  }
  if (result.rows.length === 0 && fallbackColumns.length > 0) result = { columns: fallbackColumns, rows: [] };
  return result;
}

/** Statements that write rows and nothing else, kept prepared when they stand alone. */
const LONE_WRITES = new Set(['INSERT', 'UPDATE', 'DELETE', 'REPLACE']);

/**
 * `sql` prepared when it is exactly one statement worth keeping prepared (a SELECT, or a row write
 * that can never change the schema) and it passes `check`, else null. Throws what prepare throws.
 */
function prepareLone(db: SqlDatabase, sql: string, check: (stripped: string, text: string) => void): UserStatement | null {
  // Text that starts with another statement (DDL, BEGIN, PRAGMA...) is never kept: no need to
  // prepare it here only to run it again (preparing an ALTER does most of its work). Only the
  // head is read; a keyword cut by it at worst leaves a statement unkept, which runs all the same.
  const lead = firstKeyword(stripLiteralsAndComments(sql.slice(0, 256)));
  if (lead !== '' && lead !== 'SELECT' && !LONE_WRITES.has(lead)) return null;
  const it = db.raw.iterateStatements(sql);
  let stripped = '';
  let kind: UserStatement['kind'] | null = null;
  for (const first of it) {
    stripped = stripLiteralsAndComments(first.getSQL());
    const keyword = firstKeyword(stripped);
    const lone = stripLiteralsAndComments(it.getRemainingSQL()).trim() === '';
    if (lone && keyword === 'SELECT') kind = 'select';
    else if (lone && LONE_WRITES.has(keyword)) kind = 'write';
    break; // frees the statement and the iterator
  }
  if (kind === null) return null;
  check(stripped, sql);
  return { stmt: db.raw.prepare(sql), markers: PARAMETER_MARKER.test(stripped), kind };
}

/** Steps a cached statement to its end and resets it (bindings cleared), as runStatements would run it. */
function runCached(entry: UserStatement, params: Bindable | undefined, retry?: LazyCaptureRetry): ExecResult {
  const { stmt } = entry;
  try {
    // Array parameters bind only to a statement with markers, as in runStatements.
    const bound = params !== undefined && (entry.markers || !Array.isArray(params));
    const columns = stmt.getColumnNames();
    return { columns, rows: stepAll(stmt, columns, () => bound && stmt.bind(params as never), retry) };
  } finally {
    stmt.reset();
  }
}

/**
 * Runs `sql` if it is one SELECT, on a statement kept prepared per SQL text, and returns null for
 * anything else (the caller then runs it as a write). A SELECT cannot write (this library
 * registers no SQL functions), so it needs no transaction, stamp or capture fold: a primary-key
 * read through exec() costs one prepared-statement step instead of a write transaction. Outside a call nothing holds a
 * transaction open, so it reads the latest committed state, as a transaction would.
 */
export function runLoneSelect(db: SqlDatabase, sql: string, params: Bindable | undefined, check: (stripped: string, text: string) => void): ExecResult | null {
  if (typeof sql !== 'string') return null;
  const entry = db.userStatement(sql, () => prepareLone(db, sql, check));
  if (!entry || entry.kind !== 'select') return null;
  return runCached(entry, params);
}

/**
 * runStatements, except that a lone row write (one INSERT/UPDATE/DELETE/REPLACE) runs on a
 * statement kept prepared per SQL text: an app repeats the same few writes, and preparing one
 * costs more than running it on one row. The caller holds the transaction.
 */
export function runUserSql(
  db: SqlDatabase,
  sql: string,
  params: Bindable | undefined,
  check: (stripped: string, text: string) => void,
  after?: () => void,
  retry?: LazyCaptureRetry,
): ExecResult {
  if (typeof sql !== 'string') throw new BatteryError('SQL', 'sql must be a string');
  // A cached lone write is an INSERT/UPDATE/DELETE/REPLACE: never a schema change, so no `after`.
  const entry = db.userStatement(sql, () => prepareLone(db, sql, check));
  if (entry?.kind === 'write') return runCached(entry, params, retry);
  return runStatements(db, sql, params, check, after, retry);
}

/**
 * Did runUserSql run `sql` as a cached lone row write? Such a statement cannot change the schema
 * (a trigger it fires cannot run DDL), so the caller need not ask SQLite whether it did.
 */
export function ranAsLoneWrite(db: SqlDatabase, sql: string): boolean {
  return db.peekUserStatement(sql)?.kind === 'write';
}

/** Statements that write rows but never change the schema (see update-hook.ts). */
const ROW_WRITES = new Set(['INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'SELECT', 'WITH', 'VALUES']);

/** One statement run once per parameter row (execMany); the caller holds the transaction. */
export function runForEachRow(db: SqlDatabase, sql: string, rows: Array<Bindable | undefined>, check: (stripped: string, text: string) => void, retry?: LazyCaptureRetry): ExecResult {
  const stmt = db.raw.prepare(sql);
  try {
    const stripped = stripLiteralsAndComments(stmt.getSQL());
    check(stripped, stmt.getSQL());
    const mayChangeSchema = !ROW_WRITES.has(firstKeyword(stripped));
    const none: string[] = [];
    for (const p of rows) {
      stepAll(stmt, none, () => p && stmt.bind(p as never), retry);
      stmt.reset();
      if (mayChangeSchema) db.forgetTableNames();
    }
  } finally {
    stmt.free();
  }
  return { columns: [], rows: [] };
}
