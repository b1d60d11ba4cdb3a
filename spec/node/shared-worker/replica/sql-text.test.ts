/** The small SQL text helpers the tokenizers of schema-evolution.ts and added-column.ts share. */
import { describe, expect, it } from 'vitest';
import { readQuoted, sqlTokens, stripLiteralsAndComments } from '../../../../shared-worker/replica/sql-text.js';

describe('readQuoted', () => {
  it('reads each quote form with its escape, and says where it ends', () => {
    expect(readQuoted('x "a""b" y', 2)).toEqual({ text: 'a"b', end: 8, closed: true });
    expect(readQuoted("'it''s'", 0)).toEqual({ text: "it's", end: 7, closed: true });
    expect(readQuoted('`a``b`', 0)).toEqual({ text: 'a`b', end: 6, closed: true });
    // [...] has no escape: the first ] closes it.
    expect(readQuoted('[a]]b]', 0)).toEqual({ text: 'a', end: 3, closed: true });
    expect(readQuoted('"open', 0)).toEqual({ text: 'open', end: 5, closed: false });
  });
});

describe('sqlTokens', () => {
  const kinds = (sql: string, limit?: number) => sqlTokens(sql, limit).map((t) => [t.kind, t.text, t.closed]);

  it('splits words, quoted names, literals and punctuation, skipping comments and whitespace', () => {
    expect(kinds("ALTER /* c */ TABLE main.\"a \"\"b\"\"\" -- x\n ADD [c d] 'it''s', -1.5e3 `q`")).toEqual([
      ['word', 'ALTER', true], ['word', 'TABLE', true], ['word', 'main', true], ['punct', '.', true], ['quoted', 'a "b"', true],
      ['word', 'ADD', true], ['quoted', 'c d', true], ['string', "it's", true], ['punct', ',', true], ['punct', '-', true],
      ['word', '1.5e3', true], ['quoted', 'q', true],
    ]);
  });

  it('stops at the limit, keeps identifier characters from 0x80 on, and says when a quote runs to the end', () => {
    expect(kinds('a b c d', 2)).toEqual([['word', 'a', true], ['word', 'b', true]]);
    expect(kinds('ünïcødé\u00a0x')).toEqual([['word', 'ünïcødé\u00a0x', true]]);
    expect(kinds('x "open')).toEqual([['word', 'x', true], ['quoted', 'open', false]]);
    expect(kinds("x 'open")).toEqual([['word', 'x', true], ['string', 'open', false]]);
    expect(kinds('x /* open')).toEqual([['word', 'x', true]]);
    // A dot joins a word only after a leading digit (a number), not after a name.
    expect(kinds('t.c 1.5')).toEqual([['word', 't', true], ['punct', '.', true], ['word', 'c', true], ['word', '1.5', true]]);
  });
});

describe('stripLiteralsAndComments', () => {
  it('empties literals and drops comments, keeping quoted names as written with nothing read inside them', () => {
    expect(stripLiteralsAndComments("SELECT 'a''b;' /* c; */ x -- d;\nFROM t")).toBe("SELECT ''   x  FROM t");
    expect(stripLiteralsAndComments(`SELECT "--" , [/*], \`'\`, "a""--" FROM _rb_x -- gone`)).toBe(`SELECT "--" , [/*], \`'\`, "a""--" FROM _rb_x  `);
    expect(stripLiteralsAndComments("x 'open; _rb_")).toBe("x ''");
    expect(stripLiteralsAndComments('x "open -- _rb_')).toBe('x "open -- _rb_');
  });

  it('keeps a TCL-style parameter ($a(...), @a(...), :a(...), #a::b(...)) whole, as SQLite reads it: nothing in its parentheses starts a literal or a comment', () => {
    expect(stripLiteralsAndComments("SELECT $a(') FROM _rb_x -- '")).toBe("SELECT $a(') FROM _rb_x  ");
    expect(stripLiteralsAndComments('SELECT @a(/*) FROM _rb_x /* */')).toBe('SELECT @a(/*) FROM _rb_x  ');
    expect(stripLiteralsAndComments(':a(--) _rb_x')).toBe(':a(--) _rb_x');
    expect(stripLiteralsAndComments("#a::b(') _rb_x '")).toBe("#a::b(') _rb_x ''");
    // The parentheses end at whitespace too (then SQLite refuses the token); `$` inside a name is part of it.
    expect(stripLiteralsAndComments("$a(' x') y")).toBe("$a(' x''");
    expect(stripLiteralsAndComments("a$b('x')")).toBe("a$b('')");
    expect(stripLiteralsAndComments("x 'a' $(') '")).toBe("x '' $(''");
  });
});
