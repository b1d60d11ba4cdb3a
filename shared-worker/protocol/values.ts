/**
 * The values and results every runtime exchanges with the database: what a cell may hold, how
 * parameters are given, what a query returns, and the one check that parameters pass wherever they
 * enter (the page before posting, the worker's tab guard, the replica itself).
 */
import { BatteryError } from './errors.js';

/** The values a cell may hold: SQLite's storage classes, minus what JS can't round-trip. */
export type SqlValue = null | number | string | Uint8Array;

export type SqlParams = SqlValue[] | Record<string, SqlValue>;

/** A row as the replica returns it, keyed by column name. */
export type SqlRow = Record<string, SqlValue>;

/**
 * `Row` is what the caller says a row looks like (`exec<Note>(...)`); nothing checks it at run
 * time, as with any SQL driver: it names the columns the statement selects.
 */
export interface ExecResult<Row extends object = SqlRow> {
  columns: string[];
  /** One object per row keyed by column name (the last statement's result set). */
  rows: Row[];
}

/** More parameters than this in one call is refused: a bound on what one message can make the worker bind. */
const MAX_PARAMS = 100_000;

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
export function checkParams(params: unknown): SqlParams | undefined {
  if (params === undefined || params === null) return undefined;
  if (typeof params === 'object' && Object.keys(params).length > MAX_PARAMS) {
    throw new BatteryError('SQL', `more than ${MAX_PARAMS} parameters`);
  }
  if (Array.isArray(params)) return params.map((v, i) => checkValue(v, `#${i + 1}`));
  if (typeof params === 'object' && !(params instanceof Uint8Array)) {
    const proto = Object.getPrototypeOf(params);
    if (proto === Object.prototype || proto === null) {
      const out: Record<string, SqlValue> = {};
      for (const [k, v] of Object.entries(params as Record<string, unknown>)) out[k] = checkValue(v, JSON.stringify(k));
      return out;
    }
  }
  throw new BatteryError('SQL', 'parameters must be an array or a plain object');
}
