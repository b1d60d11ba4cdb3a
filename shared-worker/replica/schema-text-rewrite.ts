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
  /** Tables whose stored `sql` becomes `sql` (each must exist). */
  tables: Array<{ name: string; sql: string }>;
  /** New triggers: the row CREATE TRIGGER writes (rootpage 0, no content on disk). */
  addTriggers: Array<{ name: string; table: string; sql: string }>;
  /** Triggers whose rows go (those that exist; a trigger has nothing on disk but its row). */
  removeTriggers?: string[];
  /**
   * False: schema_version is left alone, so the connection keeps its in-memory schema until a
   * statement of the caller reloads it (the caller's ALTER TABLE re-reads every row). Default true.
   */
  announce?: boolean;
}

export function rewriteSchemaText(db: SqlDatabase, change: SchemaTextChange): void {
  const { tables, addTriggers, removeTriggers = [], announce = true } = change;
  const removed = removeTriggers.map(quoteString).join(', ');
  const [version, changesBefore, removing] = db.get(`SELECT schema_version, total_changes(), ${removed ? `(SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND name IN (${removed}))` : '0'} FROM pragma_schema_version`)!.map(Number) as [number, number, number];
  // Two statements, the texts as literals: a prepared statement per row cost more than the rows.
  const writes: string[] = [];
  if (tables.length > 0) {
    writes.push(`UPDATE sqlite_schema SET sql = CASE name ${tables.map((t) => `WHEN ${quoteString(t.name)} THEN ${quoteString(t.sql)}`).join(' ')} END
      WHERE type = 'table' AND name IN (${tables.map((t) => quoteString(t.name)).join(', ')});`);
  }
  if (removed) writes.push(`DELETE FROM sqlite_schema WHERE type = 'trigger' AND name IN (${removed});`);
  if (addTriggers.length > 0) {
    writes.push(`INSERT INTO sqlite_schema(type, name, tbl_name, rootpage, sql) VALUES
      ${addTriggers.map((t) => `('trigger', ${quoteString(t.name)}, ${quoteString(t.table)}, 0, ${quoteString(t.sql)})`).join(',\n      ')};`);
  }
  try {
    db.execRaw(['PRAGMA writable_schema = ON;', ...writes].join('\n'));
    const written = Number(db.get('SELECT total_changes()')![0]) - changesBefore;
    const expected = tables.length + addTriggers.length + removing;
    if (written !== expected) throw new Error(`rewriteSchemaText: ${written} of ${expected} schema rows written`);
    // Tells this connection (and any other) that the stored schema changed: it re-reads the whole
    // schema before its next statement.
    if (announce) db.execRaw(`PRAGMA schema_version = ${version + 1}`);
  } finally {
    db.execRaw('PRAGMA writable_schema = OFF');
  }
}
