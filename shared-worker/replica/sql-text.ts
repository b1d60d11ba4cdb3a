/** Small helpers for building SQL safely and for looking at user SQL without a full parser. */

/** A double-quoted SQLite identifier; embedded quotes are doubled, so any name is safe to splice. */
export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

export function quoteString(text: string): string {
  return "'" + text.replace(/'/g, "''") + "'";
}

/**
 * The SQL with comments removed and string literals emptied (identifiers, quoted or not, kept),
 * so keyword and name checks can't be fooled by, or trip over, text inside literals.
 */
export function stripLiteralsAndComments(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'") {
      let j = i + 1;
      while (j < sql.length) {
        if (sql[j] === "'") {
          if (sql[j + 1] === "'") j += 2;
          else break;
        } else j++;
      }
      out += "''";
      i = j + 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      out += ' ';
      i = nl < 0 ? sql.length : nl + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      out += ' ';
      i = end < 0 ? sql.length : end + 2;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** The first keyword of a statement (upper case), after comments. */
export function firstKeyword(strippedSql: string): string {
  const m = /^\s*([A-Za-z]+)/.exec(strippedSql);
  return m ? m[1]!.toUpperCase() : '';
}

/**
 * The quoted name or literal opening at `sql[start]` (", `, [ or '): its text with doubled quotes
 * undone ([...] has no escape), and the index just past its closing quote (`closed` false: the
 * text ran to the end).
 */
export function readQuoted(sql: string, start: number): { text: string; end: number; closed: boolean } {
  const open = sql[start]!;
  const close = open === '[' ? ']' : open;
  let text = '';
  let j = start + 1;
  for (; j < sql.length; j++) {
    if (sql[j] === close) {
      if (close !== ']' && sql[j + 1] === close) {
        text += close;
        j++;
        continue;
      }
      return { text, end: j + 1, closed: true };
    }
    text += sql[j];
  }
  return { text, end: j, closed: false };
}
