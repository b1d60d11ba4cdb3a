/**
 * SQLite folds only ASCII letters in names (sqlite3UpperToLower): "ä" and "Ä" are two tables.
 * An ALTER of the one that is not synced must not be taken for an ALTER of the synced one.
 */
import { describe, expect, it } from 'vitest';
import { dump, pull, registers, syncedReplica } from './replica-helpers.js';

const SYNCED = 'CREATE TABLE "Ä"(id TEXT PRIMARY KEY NOT NULL, x TEXT)';

async function pair() {
  const { r } = await syncedReplica('aaaaaaaaaaaaaaaa', SYNCED, 'Ä');
  const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', SYNCED, 'Ä');
  r.exec('CREATE TABLE "ä"(id TEXT PRIMARY KEY NOT NULL, x TEXT, y TEXT)');
  r.exec(`INSERT INTO "Ä" VALUES ('n1', 't1')`);
  return { r, b };
}

describe('a table whose name differs from a synced one only in non-ASCII case', () => {
  it.each([
    ['DROP COLUMN', 'ALTER TABLE "ä" DROP COLUMN x', ['id', 'y']],
    ['ADD COLUMN alone', 'ALTER TABLE "ä" ADD COLUMN c TEXT', ['id', 'x', 'y', 'c']],
    ['ADD COLUMN with another statement', 'ALTER TABLE "ä" ADD COLUMN c TEXT; SELECT 1', ['id', 'x', 'y', 'c']],
    ['RENAME COLUMN', 'ALTER TABLE "ä" RENAME COLUMN y TO z', ['id', 'x', 'z']],
  ])('takes %s as its own: the synced table keeps its shape and keeps syncing', async (_name, alter, columns) => {
    const { r, b } = await pair();
    r.exec(alter);
    expect(r.execLocal(`SELECT name FROM pragma_table_xinfo('ä')`).rows.map((row) => row.name)).toEqual(columns);
    expect(r.execLocal(`SELECT name FROM pragma_table_xinfo('Ä')`).rows.map((row) => row.name)).toEqual(['id', 'x']);
    r.exec(`UPDATE "Ä" SET x = 'u' WHERE id = 'n1'`);
    r.exec(`INSERT INTO "Ä" VALUES ('n2', 'v')`);
    pull(b, r);
    expect(dump(b)).toBe('{"Ä":[{"id":"n1","x":"u"},{"id":"n2","x":"v"}]}');
    expect(registers(b)).toBe(registers(r));
  });

  it('enableSync of it is refused (SCHEMA) while the other is synced', async () => {
    const { r } = await pair();
    expect(() => r.enableSync('ä')).toThrow(expect.objectContaining({ code: 'SCHEMA' }));
    expect(r.syncedTables()).toEqual(['Ä']);
  });
});
