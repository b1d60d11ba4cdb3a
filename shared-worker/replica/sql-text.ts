/**
 * Small helpers for building SQL safely and for looking at user SQL without a full parser.
 *
 * Regular expressions on the exec path are module constants, never literals in a function body:
 * V8 drops a literal's compiled form when the heap is collected, and compiling it again costs
 * ~0.1 ms CPU per literal on the first call after a collection (a cold exec, e.g. a migration at
 * start-up, measured in bench/schema-bench.ts), against ~0.005 ms for a constant.
 */

/** A double-quoted SQLite identifier; embedded quotes are doubled, so any name is safe to splice. */
export function quoteIdent(name: string): string {
  return '"' + name.replaceAll('"', '""') + '"';
}

export function quoteString(text: string): string {
  return "'" + text.replaceAll("'", "''") + "'";
}

/**
 * The SQL with comments removed and string literals emptied (identifiers, quoted or not, kept),
 * so keyword and name checks can't be fooled by, or trip over, text inside literals. A quoted
 * name is kept as written and nothing inside it starts a comment or a literal, as for SQLite
 * (`"a--b"` is a name: reading `--` there as a comment would hide the rest of the line).
 */
export function stripLiteralsAndComments(sql: string): string {
  let out = '';
  let from = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql.charCodeAt(i);
    if (c === 39) {
      out += sql.slice(from, i) + "''";
      i = from = quotedEnd(sql, i);
    } else if (c === 34 || c === 96 || c === 91) {
      i = quotedEnd(sql, i);
    } else if (c === 45 && sql.charCodeAt(i + 1) === 45) {
      const nl = sql.indexOf('\n', i);
      out += sql.slice(from, i) + ' ';
      i = from = nl < 0 ? sql.length : nl + 1;
    } else if (c === 47 && sql.charCodeAt(i + 1) === 42) {
      const end = sql.indexOf('*/', i + 2);
      out += sql.slice(from, i) + ' ';
      i = from = end < 0 ? sql.length : end + 2;
    } else if (c === 36 || c === 58 || c === 64 || c === 35) i = skipParameter(sql, i);
    else if (isWordChar(c)) {
      // A whole word: a `$` inside a name starts no parameter.
      i++;
      while (i < sql.length && isWordChar(sql.charCodeAt(i))) i++;
    } else i++;
  }
  return out + sql.slice(from);
}

/** sqlite3Isspace: what ends a TCL-style parameter's parentheses (tab, newline, vertical tab, form feed, carriage return, space). */
const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13);

/**
 * The index just past the parameter opening at `sql[start]` ($, :, @ or #), read as SQLite's
 * tokenizer reads it (tokenize.c, CC_DOLLAR/CC_VARALPHA): identifier characters and `::`, then
 * for a TCL-style `$a(...)` any characters up to `)` or whitespace. A quote, `--` or `/*` inside
 * those parentheses starts nothing for SQLite (`SELECT $a(') FROM _rb_meta -- '` reads _rb_meta).
 */
function skipParameter(sql: string, start: number): number {
  let named = false;
  let i = start + 1;
  for (; i < sql.length; i++) {
    const c = sql.charCodeAt(i);
    if (isWordChar(c)) named = true;
    else if (c === 40 && named) {
      do i++;
      while (i < sql.length && !isSpace(sql.charCodeAt(i)) && sql.charCodeAt(i) !== 41);
      return sql.charCodeAt(i) === 41 ? i + 1 : i;
    } else if (c === 58 && sql.charCodeAt(i + 1) === 58) i++;
    else break;
  }
  return i;
}

/**
 * The index just past the closing quote of the quoted name or literal opening at `sql[start]`
 * (", `, [ or '; a doubled quote is an escaped one, [...] has no escape), or -1 when it runs to
 * the end of the text.
 */
function closingQuoteEnd(sql: string, start: number): number {
  const close = sql[start] === '[' ? ']' : sql[start]!;
  let from = start + 1;
  for (;;) {
    const j = sql.indexOf(close, from);
    if (j < 0) return -1;
    if (close !== ']' && sql[j + 1] === close) from = j + 2;
    else return j + 1;
  }
}

/** closingQuoteEnd, or the text's end for a quote that runs to it. */
function quotedEnd(sql: string, start: number): number {
  const end = closingQuoteEnd(sql, start);
  return end < 0 ? sql.length : end;
}

const FIRST_WORD = /^\s*([A-Za-z]+)/;

/** The first keyword of a statement (upper case), after comments. */
export function firstKeyword(strippedSql: string): string {
  const m = FIRST_WORD.exec(strippedSql);
  return m ? m[1]!.toUpperCase() : '';
}

/**
 * The quoted name or literal opening at `sql[start]` (", `, [ or '): its text with doubled quotes
 * undone ([...] has no escape), and the index just past its closing quote (`closed` false: the
 * text ran to the end).
 */
export function readQuoted(sql: string, start: number): { text: string; end: number; closed: boolean } {
  const close = sql[start] === '[' ? ']' : sql[start]!;
  const closing = closingQuoteEnd(sql, start);
  const closed = closing >= 0;
  const end = closed ? closing : sql.length;
  const inner = sql.slice(start + 1, closed ? end - 1 : end);
  return { text: close === ']' ? inner : inner.replaceAll(close + close, close), end, closed };
}

export interface SqlToken {
  /** The text as written. */
  raw: string;
  /** word: a bare keyword, name or number; quoted: "x", `x` or [x]; string: 'x'; punct: any other character. */
  kind: 'word' | 'quoted' | 'string' | 'punct';
  /** A quoted name's or a literal's text with doubled quotes undone, else `raw`. */
  text: string;
  /** False for a quoted name or literal that runs to the end of the text. */
  closed: boolean;
}

/** A character of a bare word: SQLite's identifier characters (every code unit from 0x80 on). */
function isWordChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 36 || c >= 0x80;
}

/**
 * The first `limit` tokens of `sql`, comments and whitespace skipped, split as SQLite's tokenizer
 * splits the forms read here (tokenize.c: whitespace is tab, newline, form feed, carriage return
 * and space). A word starting with a digit takes dots (`1.5`). Char codes rather than a regular
 * expression per character: read cold (a migration at start-up, just after a collection dropped
 * the compiled regular expressions) that cost ~0.1 ms CPU per ALTER text.
 */
export function sqlTokens(sql: string, limit = Infinity): SqlToken[] {
  const out: SqlToken[] = [];
  let i = 0;
  while (i < sql.length && out.length < limit) {
    const c = sql.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 12 || c === 13) i++;
    else if (c === 45 && sql.charCodeAt(i + 1) === 45) {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl;
    } else if (c === 47 && sql.charCodeAt(i + 1) === 42) {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (c === 34 || c === 96 || c === 91 || c === 39) {
      const { text, end, closed } = readQuoted(sql, i);
      out.push({ raw: sql.slice(i, end), kind: c === 39 ? 'string' : 'quoted', text, closed });
      i = end;
    } else if (isWordChar(c)) {
      const number = c >= 48 && c <= 57;
      let j = i + 1;
      for (; j < sql.length; j++) {
        const d = sql.charCodeAt(j);
        if (!isWordChar(d) && !(number && d === 46)) break;
      }
      const raw = sql.slice(i, j);
      out.push({ raw, kind: 'word', text: raw, closed: true });
      i = j;
    } else {
      out.push({ raw: sql[i]!, kind: 'punct', text: sql[i]!, closed: true });
      i++;
    }
  }
  return out;
}
