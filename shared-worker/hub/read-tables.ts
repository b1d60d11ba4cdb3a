/**
 * Which tables a live query reads, found by SQLite itself: `EXPLAIN <sql>` lists an OpenRead
 * for every b-tree the plan touches (p2 = root page, p3 = 0 main / 1 temp), and sqlite_schema
 * maps a root page to its table (an index's page maps to the table it indexes). Views, CTEs,
 * subqueries and triggers are expanded by the planner, so this is exact where parsing the SQL
 * would not be. The same plan tells whether the statement writes (a Transaction opcode with
 * p2 != 0), which is how watch() refuses anything but a read.
 */
import { BatteryError } from '../protocol/errors.js';
import type { ExecResult, SqlParams } from '../replica/contracts/replica-types.js';

export type RunSql = (sql: string, params?: SqlParams) => Promise<ExecResult>;

// A module constant, not a literal in the loop: V8 compiles a literal again after each collection.
const WHITESPACE = /\s/;

/**
 * True when `sql` holds exactly one statement. `EXPLAIN a; b` would explain `a` and then run
 * `b`, so a watch must be one statement. Skips quotes ('', "", ``, []) and comments.
 */
export function isSingleStatement(sql: string): boolean {
  let i = 0;
  let seenEnd = false;
  let statements = 0;
  let inStatement = false;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      continue;
    }
    if (WHITESPACE.test(c)) {
      i++;
      continue;
    }
    if (c === ';') {
      if (inStatement) seenEnd = true;
      inStatement = false;
      i++;
      continue;
    }
    if (!inStatement) {
      if (seenEnd || statements > 0) return false;
      statements++;
      inStatement = true;
    }
    if (c === "'" || c === '"' || c === '`' || c === '[') {
      const close = c === '[' ? ']' : c;
      let j = i + 1;
      for (;;) {
        const k = sql.indexOf(close, j);
        if (k < 0) return false; // unterminated: let SQLite report it, but don't explain it
        if (close !== ']' && sql[k + 1] === close) {
          j = k + 2; // doubled quote is an escaped quote
          continue;
        }
        i = k + 1;
        break;
      }
      continue;
    }
    i++;
  }
  return statements === 1;
}

interface SchemaRow {
  rootpage: number;
  tbl_name: string;
}

/**
 * The user tables `sql` reads, sorted. Throws BAD_OP when it is not a single read-only
 * statement; SQL errors propagate from `run` unchanged.
 */
export async function tablesRead(run: RunSql, sql: string, params?: SqlParams): Promise<string[]> {
  if (!isSingleStatement(sql)) throw new BatteryError('BAD_OP', 'watch() takes exactly one read-only statement');
  const plan = await run(`EXPLAIN ${sql}`, params);
  const roots: Array<[page: number, db: number]> = [];
  for (const row of plan.rows) {
    const op = row.opcode;
    if (op === 'Transaction' && row.p2 !== 0) {
      throw new BatteryError('BAD_OP', 'watch() takes a read-only statement; this one writes');
    }
    if (op === 'OpenRead' || op === 'ReopenIdx') roots.push([Number(row.p2), Number(row.p3)]);
  }
  if (roots.length === 0) return [];
  const byPage = [new Map<number, string>(), new Map<number, string>()];
  const schemas = ['sqlite_schema', 'sqlite_temp_schema'];
  for (let db = 0; db < 2; db++) {
    if (!roots.some(([, d]) => d === db)) continue;
    const res = await run(`SELECT rootpage, tbl_name FROM ${schemas[db]} WHERE rootpage > 0`);
    for (const r of res.rows as unknown as SchemaRow[]) byPage[db]!.set(Number(r.rootpage), String(r.tbl_name));
  }
  const tables = new Set<string>();
  for (const [page, db] of roots) {
    // db >= 2 would be an ATTACHed database; the library never attaches, so those are ignored.
    const name = byPage[db]?.get(page);
    if (name !== undefined && !name.startsWith('sqlite_')) tables.add(name);
  }
  return [...tables].sort();
}
