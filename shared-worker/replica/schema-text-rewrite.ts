/**
 * Changes the stored CREATE text of schema objects whose change does not touch what is on disk,
 * reloading the connection's schema once: SQLite's own procedure for such changes
 * (https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema Changes",
 * the short procedure with PRAGMA writable_schema), run inside the caller's transaction.
 *
 * Every ALTER TABLE reloads and re-parses the whole schema, and every CREATE TRIGGER parses its
 * text twice (the statement, then its stored row): reshaping the capture objects of a table that
 * way cost several times the user's own ALTER. docs/schema-evolution.md says which changes go
 * through here and why each one leaves the file exactly as the equivalent DDL would.
 *
 * A text SQLite cannot parse would make the schema unreadable: the reload happens at the next
 * statement of the same transaction, whose error rolls everything back.
 */
import type { SqlDatabase } from './sql-database.js';
import { quoteString } from './sql-text.js';

/**
 * A table row whose stored text is edited in place, without reading it out first: when the text
 * ends with `mustEndWith`, its last `cut` characters become `insert`; any other text is left as
 * it is (not counted as rewritten, so the caller tells a text of another form: see `check`).
 */
export interface SchemaTextSplice {
  name: string;
  mustEndWith: string;
  cut: number;
  insert: string;
}

export interface SchemaTextChange {
  /** Existing rows whose stored `sql` becomes `sql`. */
  rows: Array<{ type: 'table' | 'trigger'; name: string; sql: string }>;
  /** Existing table rows edited in place (see SchemaTextSplice). */
  splices?: SchemaTextSplice[];
  /** New triggers: the row CREATE TRIGGER writes (rootpage 0, no content on disk). */
  addTriggers?: Array<{ name: string; table: string; sql: string }>;
  /**
   * TEMP triggers whose stored `sql` becomes `sql` (the text SQLite stores for a CREATE TEMP
   * TRIGGER: "CREATE TRIGGER " and the statement from the name on), those that exist; not
   * counted for `check`. Only the reload of an ALTER TABLE of a main table (which re-reads the
   * TEMP schema too, alter.c renameReloadSchema) makes the connection see them.
   */
  tempTriggers?: Array<{ name: string; sql: string }>;
  /**
   * The schema_version before, to announce the change with (the connection and any other then
   * re-read the whole schema before their next statement); omitted, it is not announced and this
   * connection keeps its in-memory schema until a statement of the caller reloads it (an ALTER
   * TABLE re-reads every row).
   */
  announceFrom?: number;
  /** A savepoint to open first, in the same call (the caller may roll back to it afterwards). */
  savepoint?: string;
  /**
   * SQL run right after the rewrite, given an expression for how many of `rows` and `splices`
   * it rewrote (a row missing, or a splice whose text was of another form, is not counted).
   */
  check?: (rewritten: string) => string;
  /** More SQL to run last, in the same call (each call costs more than a short statement in it). */
  then?: string;
}

export function rewriteSchemaText(db: SqlDatabase, change: SchemaTextChange): void {
  const { rows, splices = [], addTriggers = [], tempTriggers = [], announceFrom, savepoint, check, then } = change;
  // One execRaw, the texts as literals: a prepared statement per row, or the texts bound through
  // sql.js (which encodes them in JS), cost more than the rows.
  const writes = [...(savepoint ? [`SAVEPOINT ${savepoint};`] : []), 'PRAGMA writable_schema = ON;'];
  if (rows.length + splices.length > 0) {
    const texts = [
      ...rows.map((r) => `WHEN ${quoteString(r.name)} THEN ${quoteString(r.sql)}`),
      ...splices.map((x) => `WHEN ${quoteString(x.name)} THEN substr(sql, 1, length(sql) - ${x.cut}) || ${quoteString(x.insert)}`),
    ];
    const fits = splices.map((x) => `WHEN ${quoteString(x.name)} THEN substr(sql, -${sqliteLength(x.mustEndWith)}) = ${quoteString(x.mustEndWith)}`);
    const names = [...rows, ...splices].map((r) => quoteString(r.name)).join(', ');
    writes.push(`UPDATE sqlite_schema SET sql = CASE name ${texts.join(' ')} END
      WHERE type IN ('table', 'trigger') AND name IN (${names})${fits.length > 0 ? ` AND CASE name ${fits.join(' ')} ELSE 1 END` : ''};`);
  }
  // changes(): the rows the UPDATE (the statement just before) changed.
  if (check) writes.push(check(rows.length + splices.length > 0 ? 'changes()' : '0'));
  if (tempTriggers.length > 0) {
    writes.push(`UPDATE temp.sqlite_schema SET sql = CASE name ${tempTriggers.map((r) => `WHEN ${quoteString(r.name)} THEN ${quoteString(r.sql)}`).join(' ')} END
      WHERE type = 'trigger' AND name IN (${tempTriggers.map((r) => quoteString(r.name)).join(', ')});`);
  }
  if (addTriggers.length > 0) {
    writes.push(`INSERT INTO sqlite_schema(type, name, tbl_name, rootpage, sql) VALUES
      ${addTriggers.map((t) => `('trigger', ${quoteString(t.name)}, ${quoteString(t.table)}, 0, ${quoteString(t.sql)})`).join(',\n      ')};`);
  }
  // Off before the announcement: a flag pragma needs no schema, so it cannot fail on the reload
  // the new cookie causes (a text SQLite cannot parse fails the caller's next statement instead).
  writes.push('PRAGMA writable_schema = OFF;');
  if (announceFrom !== undefined) writes.push(`PRAGMA schema_version = ${announceFrom + 1};`);
  if (then) writes.push(then);
  try {
    db.execRawInTransaction(writes.join('\n'));
  } catch (e) {
    db.execRaw('PRAGMA writable_schema = OFF');
    throw e;
  }
}

/** A text's length as SQLite's length() and substr() count it: characters, not UTF-16 units. */
function sqliteLength(text: string): number {
  return [...text].length;
}
