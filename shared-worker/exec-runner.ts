/**
 * Runs user SQL statement by statement (the caller holds the transaction): parameter checks,
 * per-statement policy, result rows as objects for the last statement that returned rows.
 */
import type { Statement } from 'sql.js';
import type { SqlValue } from './change-set.js';
import { BatteryError } from './errors.js';
import type { ExecResult, SqlParams } from './replica-types.js';
import type { SqlDatabase, UserStatement } from './sql-database.js';
import { firstKeyword, stripLiteralsAndComments } from './sql-text.js';

type Bindable = SqlValue[] | Record<string, SqlValue>;

function checkValue(v: unknown, where: string): SqlValue {
  if (v === null || typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new BatteryError('SQL', `parameter ${where} is ${v}; SQLite stores only finite numbers`);
    return v;
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') {
    // sql.js would bind a bigint as TEXT; a safe one is passed as a number instead.
    if (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
    throw new BatteryError('SQL', `parameter ${where} is a bigint outside the safe integer range`);
  }
  if (v instanceof Uint8Array) return v;
  const kind = v === undefined ? 'undefined' : typeof v === 'function' ? 'a function' : Array.isArray(v) ? 'an array' : `a ${typeof v}`;
  throw new BatteryError('SQL', `parameter ${where} is ${kind}; use null, a number, a string or a Uint8Array`);
}

/** Validates and normalizes exec parameters (array, or object keyed by ':name'/'@name'/'$name'). */
export function checkParams(params: unknown): Bindable | undefined {
  if (params === undefined || params === null) return undefined;
  if (Array.isArray(params)) return params.map((v, i) => checkValue(v, `#${i + 1}`));
  if (typeof params === 'object' && !(params instanceof Uint8Array)) {
    const proto = Object.getPrototypeOf(params);
    if (proto === Object.prototype || proto === null) {
      const out: Record<string, SqlValue> = {};
      for (const [k, v] of Object.entries(params as SqlParams)) out[k] = checkValue(v, JSON.stringify(k));
      return out;
    }
  }
  throw new BatteryError('SQL', 'parameters must be an array or a plain object');
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
export function runStatements(
  db: SqlDatabase,
  sql: string,
  params: Bindable | undefined,
  check: (stripped: string, text: string) => void,
  after?: () => void,
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
      if (params !== undefined && (!Array.isArray(params) || /[?:@$]/.test(stripped))) stmt.bind(params as never);
      const columns = stmt.getColumnNames();
      const rows: Record<string, SqlValue>[] = [];
      while (stmt.step()) rows.push(rowObject(columns, stmt.get() as SqlValue[]));
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

/** `sql` prepared when it is exactly one SELECT that passes `check`, else null. Throws what prepare throws. */
function prepareLoneSelect(db: SqlDatabase, sql: string, check: (stripped: string) => void): UserStatement | null {
  const it = db.raw.iterateStatements(sql);
  let stripped = '';
  let lone = false;
  for (const first of it) {
    stripped = stripLiteralsAndComments(first.getSQL());
    lone = firstKeyword(stripped) === 'SELECT' && stripLiteralsAndComments(it.getRemainingSQL()).trim() === '';
    break; // frees the statement and the iterator
  }
  if (!lone) return null;
  check(stripped);
  return { stmt: db.raw.prepare(sql), markers: /[?:@$]/.test(stripped) };
}

/**
 * Runs `sql` if it is one SELECT, on a statement kept prepared per SQL text, and returns null for
 * anything else (the caller then runs it as a write). A SELECT cannot write (this library
 * registers no SQL functions), so it needs no transaction, stamp or capture fold: a primary-key
 * read through exec() went from ~89 to ~5 µs (Node, CPU time). Outside a call nothing holds a
 * transaction open, so it reads the latest committed state, as a transaction would.
 */
export function runLoneSelect(db: SqlDatabase, sql: string, params: Bindable | undefined, check: (stripped: string) => void): ExecResult | null {
  if (typeof sql !== 'string') return null;
  const entry = db.userStatement(sql, () => prepareLoneSelect(db, sql, check));
  if (!entry) return null;
  const { stmt } = entry;
  try {
    // Array parameters bind only to a statement with markers, as in runStatements.
    if (params !== undefined && (entry.markers || !Array.isArray(params))) stmt.bind(params as never);
    const columns = stmt.getColumnNames();
    const rows: Record<string, SqlValue>[] = [];
    while (stmt.step()) rows.push(rowObject(columns, stmt.get() as SqlValue[]));
    return { columns, rows };
  } finally {
    stmt.reset();
  }
}

/** Statements that write rows but never change the schema (see update-hook.ts). */
const ROW_WRITES = new Set(['INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'SELECT', 'WITH', 'VALUES']);

/** One statement run once per parameter row (execMany); the caller holds the transaction. */
export function runForEachRow(db: SqlDatabase, sql: string, rows: Array<Bindable | undefined>, check: (stripped: string, text: string) => void): ExecResult {
  const stmt = db.raw.prepare(sql);
  try {
    const stripped = stripLiteralsAndComments(stmt.getSQL());
    check(stripped, stmt.getSQL());
    const mayChangeSchema = !ROW_WRITES.has(firstKeyword(stripped));
    for (const p of rows) {
      if (p) stmt.bind(p as never);
      while (stmt.step());
      stmt.reset();
      if (mayChangeSchema) db.forgetTableNames();
    }
  } finally {
    stmt.free();
  }
  return { columns: [], rows: [] };
}
