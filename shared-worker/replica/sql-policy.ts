/**
 * What user SQL (exec/execLocal) may not do, checked per statement before it runs.
 */
import { BatteryError } from '../protocol/errors.js';
import { firstKeyword, sqlTokens } from './sql-text.js';

/**
 * exec/execLocal wrap the whole call in one transaction (atomic multi-statement SQL) and run the
 * capture fold before COMMIT, so the caller cannot control transactions itself.
 */
const TRANSACTION_CONTROL = new Set(['BEGIN', 'COMMIT', 'END', 'ROLLBACK', 'SAVEPOINT', 'RELEASE']);

/** Pragmas whose change would break capture or merge safety (set by the replica per connection). */
const PROTECTED_PRAGMAS = new Set([
  'recursive_triggers', // INSERT OR REPLACE fires delete triggers only with it on
  'foreign_keys',
  'writable_schema',
  'schema_version',
  'legacy_alter_table',
  'ignore_check_constraints',
  'journal_mode',
  'locking_mode',
  'trusted_schema',
]);

// A module constant, not a literal in checkUserStatement (see sql-text.ts).
const INTERNAL_NAME = /_rb_/i;
const INTERNAL_LITERAL = /^_rb_/i;
/** Words after which SQLite reads a string literal as the name of a table, index, view or trigger. */
const NAME_BEFORE = new Set(['FROM', 'JOIN', 'INTO', 'UPDATE', 'TABLE', 'TRIGGER', 'INDEX', 'VIEW', 'ON', 'EXISTS']);

/**
 * The name as written of the protected pragma `stripped` (a PRAGMA statement) sets, else null.
 * SQLite takes the schema and the name in any quoting, a string literal included (parse.y `nm`);
 * a literal's text is emptied by then, so a pragma set under a string-literal name counts as one.
 */
function protectedPragmaSet(stripped: string): string | null {
  const t = sqlTokens(stripped, 5);
  const at = t[2]?.raw === '.' ? 3 : 1;
  const name = t[at];
  const op = t[at + 1]?.raw;
  if (!name || (op !== '=' && op !== '(')) return null;
  return name.kind === 'string' || PROTECTED_PRAGMAS.has(name.text.toLowerCase()) ? name.raw : null;
}

function refuse(message: string): never {
  throw new BatteryError('BAD_OP', message);
}

/**
 * Throws BAD_OP for a statement user SQL must not run. `stripped`: literals and comments removed;
 * `text`: the statement as written.
 */
export function checkUserStatement(stripped: string, text: string): void {
  const keyword = firstKeyword(stripped);
  if (TRANSACTION_CONTROL.has(keyword)) {
    refuse(`${keyword} is not allowed: each exec/execLocal call already runs as one transaction (all statements commit together or none do)`);
  }
  if (keyword === 'VACUUM') refuse('VACUUM is not allowed: it may renumber rowids, which change capture relies on');
  if (keyword === 'ATTACH' || keyword === 'DETACH') refuse(`${keyword} is not allowed: the replica syncs one database file`);
  const pragma = keyword === 'PRAGMA' ? protectedPragmaSet(stripped) : null;
  if (pragma !== null) refuse(`PRAGMA ${pragma} cannot be changed: the replica depends on its setting (one named by a string literal counts as protected)`);
  if (INTERNAL_NAME.test(stripped)) refuse('the library\'s internal tables (prefix _rb_) cannot be used from SQL');
  if (INTERNAL_NAME.test(text) && namesInternalByLiteral(text)) {
    refuse('the library\'s internal tables and triggers (prefix _rb_) cannot be used from SQL, also not named by a string literal');
  }
}

/**
 * SQLite takes a string literal where it expects a name (`DROP TRIGGER '_rb_c1_del'`, `DELETE FROM
 * '_rb_c1'`; lang_keywords.html), and `stripped` has literals emptied: a literal starting like one
 * of our names, where a table, index, view or trigger name goes (after FROM, INTO, TRIGGER, ...,
 * or a schema's `.`), counts as naming it. A value (`SELECT '_rb_x'`, `VALUES ('_rb_x')`) does not.
 */
function namesInternalByLiteral(text: string): boolean {
  let before = '';
  for (const t of sqlTokens(text)) {
    if (t.kind === 'string' && INTERNAL_LITERAL.test(t.text) && (before === '.' || NAME_BEFORE.has(before))) return true;
    before = t.kind === 'word' ? t.raw.toUpperCase() : t.raw;
  }
  return false;
}
