/**
 * The column an `ALTER TABLE ... ADD [COLUMN] <column-def>` will add, read from its text before it
 * runs, so the capture objects can be rewritten for it in the same schema reload as the ALTER's
 * (docs/schema-evolution.md). Only the common forms are read: a name, a type of words without a size
 * (`(n)`), and NOT NULL / NULL / DEFAULT / COLLATE / CHECK constraints; anything else
 * (REFERENCES, GENERATED, ON CONFLICT, a quoted type, ...) gives null and the caller uses the path
 * that inspects the table after the ALTER. The caller compares the prediction with
 * `pragma_table_xinfo` after the ALTER, so a text read differently from SQLite is never trusted.
 * Except for one narrow form (canonicalAddedColumn), which SQLite's grammar reads one way only.
 */
import { sqlTokens } from './sql-text.js';
import type { ColumnShape } from './sync-schema.js';

interface Token {
  /** The raw text as written. */
  raw: string;
  /** Upper-cased keyword or identifier; '' for quoted names, literals and punctuation. */
  word: string;
  /** The name a quoted or bare identifier stands for, null for anything else. */
  ident: string | null;
}

const startsWithDigit = (text: string): boolean => text.charCodeAt(0) >= 48 && text.charCodeAt(0) <= 57;

function tokenize(sql: string): Token[] | null {
  const out: Token[] = [];
  for (const t of sqlTokens(sql)) {
    if (!t.closed) return null;
    if (t.kind === 'word') out.push({ raw: t.raw, word: t.raw.toUpperCase(), ident: startsWithDigit(t.raw) ? null : t.raw });
    else out.push({ raw: t.raw, word: '', ident: t.kind === 'quoted' ? t.text : null });
  }
  return out;
}

const STANDARD_TYPES = new Set(['ANY', 'BLOB', 'INT', 'INTEGER', 'REAL', 'TEXT']);

const CONSTRAINT_START = new Set(['CONSTRAINT', 'PRIMARY', 'NOT', 'NULL', 'UNIQUE', 'CHECK', 'DEFAULT', 'COLLATE', 'REFERENCES', 'GENERATED', 'AS']);

/** The index after the `)` matching the `(` at `from`, or null. */
function afterParens(t: Token[], from: number): number | null {
  let depth = 0;
  for (let j = from; j < t.length; j++) {
    if (t[j]!.raw === '(') depth++;
    else if (t[j]!.raw === ')' && --depth === 0) return j + 1;
  }
  return null;
}

/** The column `sql` (one ALTER TABLE ... ADD statement) adds, or null when its form is not one read here. */
export function predictAddedColumn(sql: string): ColumnShape | null {
  const t = tokenize(sql);
  if (!t) return null;
  let at = t.findIndex((x) => x.word === 'ADD');
  if (at < 0) return null;
  at++;
  if (t[at]?.word === 'COLUMN') at++;
  const name = t[at]?.ident;
  if (!name) return null;
  at++;
  const typeWords: string[] = [];
  while (t[at]?.ident && t[at]!.word !== '' && !CONSTRAINT_START.has(t[at]!.word)) typeWords.push(t[at++]!.raw);
  // SQLite keeps the type as written: words are predicted single-spaced, a sized type (`(n)`) not at all.
  if (t[at]?.raw === '(') return null;
  const written = typeWords.join(' ');
  // A standard type name is kept as its upper-case spelling (SQLite 3.37+, sqlite3StdType in build.c).
  const type = STANDARD_TYPES.has(written.toUpperCase()) ? written.toUpperCase() : written;
  let notNull = false;
  let dflt: string | null = null;
  while (at < t.length && t[at]!.raw !== ';') {
    const w = t[at]!.word;
    if (w === 'NOT' && t[at + 1]?.word === 'NULL') {
      notNull = true;
      at += 2;
    } else if (w === 'NULL') at++;
    else if (w === 'COLLATE' && t[at + 1]?.ident) at += 2;
    else if (w === 'CHECK' && t[at + 1]?.raw === '(') {
      const next = afterParens(t, at + 1);
      if (next === null) return null;
      at = next;
    } else if (w === 'DEFAULT' && dflt === null) {
      const v = t[at + 1];
      if (!v) return null;
      if (v.raw === '(') return null;
      if ((v.raw === '-' || v.raw === '+') && t[at + 2] && startsWithDigit(t[at + 2]!.raw)) {
        dflt = v.raw + t[at + 2]!.raw;
        at += 3;
      } else if (v.raw.startsWith("'") || startsWithDigit(v.raw) || ['NULL', 'TRUE', 'FALSE', 'CURRENT_TIME', 'CURRENT_DATE', 'CURRENT_TIMESTAMP'].includes(v.word)) {
        dflt = v.raw;
        at += 2;
      } else return null;
    } else return null;
  }
  if (at < t.length - 1) return null;
  return { name, type, notNull, dflt };
}

/** The types a canonical ADD may name: sqlite3StdType's (build.c) but ANY (STRICT tables only), stored upper-cased. */
const CANONICAL_TYPES = new Set(['BLOB', 'INT', 'INTEGER', 'REAL', 'TEXT']);
const BARE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const UNSIGNED_NUMBER = /^\d+(?:\.\d+)?$/;
const PLAIN_STRING = /^'[^']*'$/;
const INTERNAL_NAME = /_rb_/i;
/** SQLite's whitespace (tokenize.c: space, tab, newline, form feed, carriage return) and semicolons. */
const TRAILING = /[ \t\n\f\r;]+$/;
/**
 * Printable ASCII only: JavaScript and SQLite part ways beyond it. `\s` takes U+00A0 or U+3000 as
 * whitespace where SQLite reads them as part of a name (`INTEGER\u00a0` is the type it stores),
 * toUpperCase makes `\u0131nteger` (dotless i) INTEGER where SQLite keeps a non-standard type,
 * and a lone surrogate in a literal reaches SQLite as U+FFFD while the shape would keep it.
 */
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/**
 * The table and column of `ALTER TABLE <table> ADD [COLUMN] <name> <type> [NOT NULL] [DEFAULT
 * <literal>]` written canonically: printable ASCII only, bare names (none holding `_rb_`, which
 * user SQL may not name), a type of CANONICAL_TYPES, an unsigned number or a string literal
 * without a quote inside, single spaces, nothing else but trailing semicolons and whitespace.
 * SQLite's grammar reads such a text one way
 * (parse.y: the name is an `nm`; the type one `ids`, which NOT and DEFAULT, keywords without a
 * fallback to ID, cannot extend; a DEFAULT's dflt_value is the literal as written), the one
 * returned, so the caller needs not read the table back after the ALTER (a text SQLite refuses
 * fails the ALTER). canonical-add.property.test.ts holds random such texts against SQLite's own
 * inspection. Null for any other text, which predictAddedColumn reads and the caller checks.
 */
export function canonicalAddedColumn(sql: string): { table: string; column: ColumnShape } | null {
  const body = sql.replace(TRAILING, '');
  if (!PRINTABLE_ASCII.test(body)) return null;
  const t = sqlTokens(body);
  const word = (i: number) => (t[i]?.kind === 'word' ? t[i]!.raw.toUpperCase() : '');
  if (word(0) !== 'ALTER' || word(1) !== 'TABLE' || word(3) !== 'ADD') return null;
  let at = word(4) === 'COLUMN' ? 5 : 4;
  const table = t[2]!;
  const name = t[at];
  const type = word(at + 1);
  if (!name || name.kind !== 'word' || !BARE_NAME.test(name.raw) || !BARE_NAME.test(table.raw) || !CANONICAL_TYPES.has(type)) return null;
  if (INTERNAL_NAME.test(body)) return null;
  at += 2;
  const notNull = word(at) === 'NOT' && word(at + 1) === 'NULL';
  if (notNull) at += 2;
  let dflt: string | null = null;
  if (word(at) === 'DEFAULT') {
    const v = t[at + 1];
    if (!v || !((v.kind === 'word' && UNSIGNED_NUMBER.test(v.raw)) || (v.kind === 'string' && PLAIN_STRING.test(v.raw)))) return null;
    dflt = v.raw;
    at += 2;
  }
  if (at !== t.length || t.map((x) => x.raw).join(' ') !== body) return null;
  return { table: table.raw, column: { name: name.raw, type, notNull, dflt } };
}
