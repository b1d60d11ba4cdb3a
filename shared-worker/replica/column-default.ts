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
  const missing = cols.filter((_, i) => keys[i] !== null && !answered.has(keys[i]!));
  if (missing.length > 0) {
    withRow(db, (s) => missing.forEach((c, i) => answered.set(`${affinityOf(c.type)} ${c.dflt}`, readBack(s, `d${i} ${affinityOf(c.type)}`, c.dflt!))));
  }
  return keys.map((k) => (k === null ? null : answered.get(k)!));
}

/** Adds column `decl` with DEFAULT `dflt` to the scratch table's one row and reads it there; null when refused. */
function readBack(s: Database, decl: string, dflt: string): SqlValue {
  // In parentheses first: any constant reads the same in them. A name alone is a column
  // reference there (refused as not constant) and only means its string bare.
  for (const clause of [` DEFAULT (${dflt}${endLine(dflt)})`, ` DEFAULT ${dflt}${endLine(dflt)}`]) {
    try {
      s.run(`ALTER TABLE t ADD COLUMN ${decl}${clause}`);
      return s.exec(`SELECT ${decl.split(' ')[0]} FROM t`)[0]!.values[0]![0] as SqlValue;
    } catch {
      // not constant in this form
    }
  }
  return null;
}

/** A DEFAULT that may hold an integer beyond ±(2^53 - 1): 16 decimal or 14 hex digits in a row. */
const MANY_DIGITS = /\d{16}|0x[\da-f]{14}/i;

/**
 * Is `dflt`, read as rows that predate the column read it (see the header), an integer beyond
 * ±(2^53 - 1)? Asked of SQLite only when the text has that many digits.
 */
export function unsafeIntegerDefault(db: SqlDatabase, type: string, dflt: string): boolean {
  if (!MANY_DIGITS.test(dflt.replaceAll('_', '')) || defaultClause(dflt) === '') return false;
  return withRow(db, (s) => readBack(s, `d ${affinityOf(type)}`, dflt) !== null &&
    s.exec("SELECT typeof(d) = 'integer' AND (d > 9007199254740991 OR d < -9007199254740991) FROM t")[0]!.values[0]![0] === 1);
}

/** `body` on a scratch database holding table t with one row. */
function withRow<T>(db: SqlDatabase, body: (s: Database) => T): T {
  return db.scratch((s) => {
    s.run('CREATE TABLE t(id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1)');
    return body(s);
  });
}
