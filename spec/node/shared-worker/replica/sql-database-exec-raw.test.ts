/**
 * SqlDatabase.execRaw hands its text to sqlite3_exec as UTF-8 it encodes itself, in a kept buffer
 * or, past that buffer's limit, in one of the text's own: both must reach SQLite exactly as written.
 */
import { describe, expect, it } from 'vitest';
import { loadSqlJs, SqlDatabase } from '../../../../shared-worker/replica/sql-database.js';

async function open(): Promise<SqlDatabase> {
  return new SqlDatabase(await loadSqlJs(), undefined, () => {});
}

describe('SqlDatabase.execRaw', () => {
  it('runs texts of every size as written: short ones after long ones, non-ASCII and surrogate pairs included', async () => {
    const db = await open();
    db.execRaw('CREATE TABLE t(n INTEGER, v TEXT)');
    // Short, past the kept buffer's 256 kB (a buffer of its own), then short again (the kept one).
    for (const [n, text] of [[1, 'é😀'], [2, `${'x'.repeat(300_000)}ü😀`], [3, 'ok'], [4, 'ä'.repeat(50_000)]] as const) {
      db.execRaw(`INSERT INTO t VALUES (${n}, '${text}');`);
      expect(db.get('SELECT v FROM t WHERE n = ?', [n])![0]).toBe(text);
    }
    db.close();
  });

  it('reports SQLite\'s message for a text it refuses', async () => {
    const db = await open();
    expect(() => db.execRaw('CREATE TABLE ü(')).toThrow(/incomplete input|syntax error/);
    db.close();
  });
});
