/** The small SQL text helpers the tokenizers of schema-evolution.ts and added-column.ts share. */
import { describe, expect, it } from 'vitest';
import { readQuoted } from '../../../../shared-worker/replica/sql-text.js';

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
