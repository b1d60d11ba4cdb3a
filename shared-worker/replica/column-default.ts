/**
 * What a column's DEFAULT gives a row no peer wrote the column for (a row merged from a peer whose
 * table lacks the column, an old tombstone): what a row that predates an ADD COLUMN of it reads.
 * Every replica must read the same from the same DEFAULT text, whether it made the column with its
 * table, added it later, or got the row from a peer without it.
 *
 * SQLite gives such rows the DEFAULT only when it is constant: ADD COLUMN refuses any other on a
 * table with rows ("Cannot add a column with non-constant default", alter.c), where constant is what
 * sqlite3ValueFromExpr (vdbemem.c) evaluates without a statement: a literal, signs, CAST and
 * parentheses around one, or a name written alone (`DEFAULT abc` is the string 'abc'); a function,
 * an operator or CURRENT_TIMESTAMP is not (checked with sql.js 1.16, SQLite 3.54). Such a default
 * can only come from a CREATE TABLE or an ADD on an empty table, and may give each replica another
 * value: those rows read NULL instead, the same everywhere. And the value is not always what a new
 * row gets: the literal's text is kept, then the column's affinity applied (a TEXT column with
 * DEFAULT .5 reads '.5' in a row that predates the column, '0.5' in a row inserted after it). So
 * both are asked of SQLite itself, with an ADD COLUMN on a table with a row in a scratch database.
 */
import { affinityOf } from './capture.js';
import type { Database } from 'sql.js';
import type { SqlValue } from './contracts/change-set.js';
import type { SqlDatabase } from './sql-database.js';
import type { ColumnShape } from './sync-schema.js';

const CURRENT = /^current_(time|date|timestamp)$/i;
/** A DEFAULT SQLite takes bare: one literal or name, or a signed number (parse.y ccons DEFAULT forms). */
const BARE = /^(?:'(?:[^']|'')*'|"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\]|[xX]'[^']*'|[\w.$\u0080-\uffff]+|[-+]\s*\.?\d[\w.]*)$/;

/**
 * The DEFAULT clause (with its leading space) of a column that must read like `dflt` in rows that
 * predate it (a tombstone's value column, schema-evolution.ts), given its dflt_value: bare when
 * SQLite takes it bare, else in the parentheses dflt_value leaves out; none for no DEFAULT or
 * CURRENT_TIME/DATE/TIMESTAMP. Another DEFAULT that is not constant stays: only an ADD COLUMN to
 * an empty table can have made it, and the caller asks existingRowDefaults when that matters.
 */
export function defaultClause(dflt: string | null | undefined): string {
  if (dflt == null || CURRENT.test(dflt)) return '';
  return BARE.test(dflt) ? ` DEFAULT ${dflt}` : ` DEFAULT (${dflt}${endLine(dflt)})`;
}

/** A newline when `dflt` may end in a -- comment (SQLite keeps one in dflt_value, without its newline). */
const endLine = (dflt: string) => (dflt.includes('--') ? '\n' : '');

/**
 * Answers so far, by "affinity DEFAULT-text": the same in every database of this SQLite build, and
 * asked again otherwise whenever the replica reloads its tables (after any failed exec).
 */
const answered = new Map<string, SqlValue>();

/**
 * Per column, what a row that predates an ADD COLUMN of it reads there (see the header): its
 * constant DEFAULT with the column's affinity applied, else NULL.
 */
export function existingRowDefaults(db: SqlDatabase, cols: readonly ColumnShape[]): SqlValue[] {
  const keys = cols.map((c) => (defaultClause(c.dflt) === '' ? null : `${affinityOf(c.type)} ${c.dflt}`));
  const missing = cols.flatMap((c, i) => (keys[i] !== null && !answered.has(keys[i]!) ? [[c, keys[i]!] as const] : []));
  if (missing.length > 0) withRow(db, (s) => missing.forEach(([c, key], i) => answered.set(key, readBack(s, `d${i}`, c))));
  return keys.map((k) => (k === null ? null : answered.get(k)!));
}

/** Adds column `name` (of `c`'s affinity and DEFAULT) to the scratch table's one row and reads it there; null when refused. */
function readBack(s: Database, name: string, c: ColumnShape): SqlValue {
  const dflt = c.dflt!;
  // In parentheses first: any constant reads the same in them. A name alone is a column
  // reference there (refused as not constant) and only means its string bare.
  const clauses = [` DEFAULT (${dflt}${endLine(dflt)})`];
  // Bare only what SQLite takes bare as one term: `'a' COLLATE NOCASE` would pass as 'a' with a
  // column constraint, where the DEFAULT itself is not constant.
  if (BARE.test(dflt)) clauses.push(` DEFAULT ${dflt}`);
  for (const clause of clauses) {
    try {
      s.run(`ALTER TABLE t ADD COLUMN ${name} ${affinityOf(c.type)}${clause}`);
      return s.exec(`SELECT ${name} FROM t`)[0]!.values[0]![0] as SqlValue;
    } catch {
      // not constant in this form
    }
  }
  return null;
}

/**
 * A DEFAULT that needs no asking to be a safe integer or no integer: a short number literal (at
 * most 15 digits, no exponent), NULL, TRUE, FALSE, CURRENT_*. Anything else may become an integer
 * beyond the safe range with the column's affinity (CAST(1e19 AS INTEGER) clamps to 2^63 - 1,
 * '9.2e15' in an INTEGER column is 9200000000000000).
 */
const PLAINLY_SAFE = /^(?:[-+]?\s*(?:\d{1,15}(?:\.\d*)?|\.\d+|0x[\da-f]{1,13})|null|true|false|current_(?:time|date|timestamp))$/i;

/**
 * The first of `cols` whose DEFAULT, read as rows that predate the column read it (see the header),
 * is an integer beyond ±(2^53 - 1), or undefined. Such a value reaches peers through JavaScript
 * numbers, which round it: replicas would hold different values. Asked of SQLite unless plainly safe.
 */
export function unsafeDefaultColumn(db: SqlDatabase, cols: readonly ColumnShape[]): ColumnShape | undefined {
  const asked = cols.filter((c) => c.dflt != null && !PLAINLY_SAFE.test(c.dflt.trim()) && defaultClause(c.dflt) !== '' && ['INTEGER', 'NUMERIC', 'BLOB'].includes(affinityOf(c.type)));
  if (asked.length === 0) return undefined;
  return withRow(db, (s) => asked.find((c, i) => readBack(s, `d${i}`, c) !== null &&
    s.exec(`SELECT typeof(d${i}) = 'integer' AND (d${i} > 9007199254740991 OR d${i} < -9007199254740991) FROM t`)[0]!.values[0]![0] === 1));
}

/** Why a column's DEFAULT keeps it out of a synced table (unsafeDefaultColumn). */
export const unsafeDefaultMessage = (c: ColumnShape) => `column "${c.name}" has DEFAULT ${String(c.dflt)}, an integer beyond ±(2^53 - 1): use a smaller DEFAULT, or TEXT`;

/** `body` on a scratch database holding table t with one row. */
function withRow<T>(db: SqlDatabase, body: (s: Database) => T): T {
  return db.scratch((s) => {
    s.run('CREATE TABLE t(id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1)');
    return body(s);
  });
}
