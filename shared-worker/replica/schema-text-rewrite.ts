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

export interface SchemaTextChange {
  /** Existing rows (the caller has read them in this transaction) whose stored `sql` becomes `sql`. */
  rows: Array<{ type: 'table' | 'trigger'; name: string; sql: string }>;
  /** New triggers: the row CREATE TRIGGER writes (rootpage 0, no content on disk). */
  addTriggers?: Array<{ name: string; table: string; sql: string }>;
  /**
   * The schema_version before, to announce the change with (the connection and any other then
   * re-read the whole schema before their next statement); omitted, it is not announced and this
   * connection keeps its in-memory schema until a statement of the caller reloads it (an ALTER
   * TABLE re-reads every row).
   */
  announceFrom?: number;
  /** A savepoint to open first, in the same call (the caller may roll back to it afterwards). */
  savepoint?: string;
  /** More SQL to run last, in the same call (each call costs more than a short statement in it). */
  then?: string;
}

export function rewriteSchemaText(db: SqlDatabase, change: SchemaTextChange): void {
  const { rows, addTriggers = [], announceFrom, savepoint, then } = change;
  // One execRaw, the texts as literals: a prepared statement per row, or the texts bound through
  // sql.js (which encodes them in JS), cost more than the rows.
  const writes = [...(savepoint ? [`SAVEPOINT ${savepoint};`] : []), 'PRAGMA writable_schema = ON;'];
  if (rows.length > 0) {
    writes.push(`UPDATE sqlite_schema SET sql = CASE name ${rows.map((r) => `WHEN ${quoteString(r.name)} THEN ${quoteString(r.sql)}`).join(' ')} END
      WHERE type IN ('table', 'trigger') AND name IN (${rows.map((r) => quoteString(r.name)).join(', ')});`);
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
    db.execRaw(writes.join('\n'));
  } catch (e) {
    db.execRaw('PRAGMA writable_schema = OFF');
    throw e;
  }
}
