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
  return BARE.test(dflt) ? ` DEFAULT ${dflt}` : ` DEFAULT (${dflt})`;
}

/**
 * Per column, what a row that predates an ADD COLUMN of it reads there (see the header): its
 * constant DEFAULT with the column's affinity applied, else NULL.
 */
export function existingRowDefaults(db: SqlDatabase, cols: readonly ColumnShape[]): SqlValue[] {
  if (cols.every((c) => defaultClause(c.dflt) === '')) return cols.map(() => null);
  return db.scratch((s) => {
    s.run('CREATE TABLE t(id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1)');
    return cols.map((c, i) => {
      if (defaultClause(c.dflt) === '') return null;
      // In parentheses first: any constant reads the same in them. A name alone is a column
      // reference there (refused as not constant) and only means its string bare.
      for (const clause of [` DEFAULT (${c.dflt})`, ` DEFAULT ${c.dflt}`]) {
        try {
          s.run(`ALTER TABLE t ADD COLUMN d${i} ${affinityOf(c.type)}${clause}`);
          return s.exec(`SELECT d${i} FROM t`)[0]!.values[0]![0] as SqlValue;
        } catch {
          // not constant in this form
        }
      }
      return null;
    });
  });
}
