import { describe, expect, it } from 'vitest';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import type { Commit } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { clockRowCounts, dump, registers, syncedReplica } from './replica-helpers.js';

const SEED = [
  "INSERT INTO items VALUES ('a', 'A', 1, 'na'), ('b', 'B', 2, 'nb'), ('c', 'C', 3, NULL), ('d', 'D', 4, 'nd')",
  "DELETE FROM items WHERE id = 'd'",
  'CREATE TABLE feed(x TEXT)',
  "CREATE TABLE staging(id TEXT PRIMARY KEY NOT NULL, title TEXT, qty INTEGER, note TEXT); INSERT INTO staging VALUES ('s1', 'S1', 1, NULL), ('s2', 'S2', 2, 'n')",
  "CREATE TRIGGER feed_to_items AFTER INSERT ON feed BEGIN INSERT INTO items(id, title, qty) VALUES (NEW.x, 'via trigger', 0); END",
];

/** [name, SQL, expected visible rows of items after it] */
const FORMS: Array<[string, string, string[]]> = [
  ['multi-row insert', "INSERT INTO items VALUES ('e', 'E', 5, NULL), ('f', 'F', 6, 'nf')", ['a', 'b', 'c', 'e', 'f']],
  ['multi-row update', "UPDATE items SET qty = qty * 10, note = 'bulk' WHERE qty >= 2", ['a', 'b', 'c']],
  ['multi-row delete', 'DELETE FROM items WHERE qty <= 2', ['c']],
  ['delete everything', 'DELETE FROM items', []],
  ['upsert (ON CONFLICT DO UPDATE)', "INSERT INTO items VALUES ('a', 'A2', 9, NULL), ('g', 'G', 7, NULL) ON CONFLICT(id) DO UPDATE SET title = excluded.title", ['a', 'b', 'c', 'g']],
  ['INSERT OR REPLACE of an existing key', "INSERT OR REPLACE INTO items VALUES ('b', 'B2', 20, NULL)", ['a', 'b', 'c']],
  ['REPLACE of a deleted key', "REPLACE INTO items VALUES ('d', 'D again', 40, NULL)", ['a', 'b', 'c', 'd']],
  ['UPDATE of the primary key', "UPDATE items SET id = 'z' WHERE id = 'a'", ['b', 'c', 'z']],
  ['UPDATE OR REPLACE of the key onto another row', "UPDATE OR REPLACE items SET id = 'b' WHERE id = 'a'", ['b', 'c']],
  ['key moved onto a tombstone', "UPDATE items SET id = 'd' WHERE id = 'c'", ['a', 'b', 'd']],
  ['delete and re-insert in one exec', "DELETE FROM items WHERE id = 'a'; INSERT INTO items VALUES ('a', 'A new', 100, NULL)", ['a', 'b', 'c']],
  ['insert then delete in one exec', "INSERT INTO items VALUES ('h', 'H', 8, NULL); DELETE FROM items WHERE id = 'h'", ['a', 'b', 'c']],
  ['update then delete in one exec', "UPDATE items SET title = 'last words' WHERE id = 'b'; DELETE FROM items WHERE id = 'b'", ['a', 'c']],
  ['update then rowid change in one exec', "UPDATE items SET qty = 11 WHERE id = 'b'; UPDATE items SET rowid = 900 WHERE id = 'b'; UPDATE items SET note = 'after move' WHERE id = 'b'", ['a', 'b', 'c']],
  ['update then key change in one exec', "UPDATE items SET qty = 12 WHERE id = 'b'; UPDATE items SET id = 'bb' WHERE id = 'b'", ['a', 'bb', 'c']],
  ['update, delete, re-insert, update in one exec', "UPDATE items SET qty = 13; DELETE FROM items WHERE id = 'a'; INSERT INTO items VALUES ('a', 'A3', 3, NULL); UPDATE items SET note = 'n3' WHERE id = 'a'", ['a', 'b', 'c']],
  // Same schema on both sides: without triggers on items SQLite would copy b-tree pages
  // (the transfer optimization, insert.c) and the update hook would see nothing.
  ['INSERT ... SELECT from a table of the same schema', 'INSERT INTO items SELECT * FROM staging', ['a', 'b', 'c', 's1', 's2']],
  ['user trigger writing the synced table', "INSERT INTO feed VALUES ('t1'), ('t2')", ['a', 'b', 'c', 't1', 't2']],
  ['rowid change with a value change', "UPDATE items SET rowid = rowid + 1000, qty = 0 WHERE id = 'b'", ['a', 'b', 'c']],
  // Rows inserted by the exec have no clock row until its end (capture.ts): later statements of
  // the same exec that delete, move or re-key them must still be captured.
  ['insert then rowid change in one exec', "INSERT INTO items VALUES ('i', 'I', 9, NULL); UPDATE items SET rowid = 500 WHERE id = 'i'", ['a', 'b', 'c', 'i']],
  ['insert then key change in one exec', "INSERT INTO items VALUES ('j', 'J', 9, NULL); UPDATE items SET id = 'k', qty = 10 WHERE id = 'j'", ['a', 'b', 'c', 'k']],
  ['insert of a deleted key, then delete again', "INSERT INTO items VALUES ('d', 'D2', 9, 'x'); DELETE FROM items WHERE id = 'd'", ['a', 'b', 'c']],
  ['insert, delete, insert reusing the rowid', "INSERT INTO items VALUES ('m', 'M', 1, NULL); DELETE FROM items WHERE id = 'm'; INSERT INTO items VALUES ('n', 'N', 2, NULL)", ['a', 'b', 'c', 'n']],
  ['insert, then move an older row onto its rowid', "INSERT INTO items VALUES ('o', 'O', 1, NULL); DELETE FROM items WHERE id = 'o'; UPDATE items SET rowid = (SELECT max(rowid) + 1 FROM items) WHERE id = 'a'", ['a', 'b', 'c']],
  // The key/rowid-change trigger is UPDATE OF the key and the rowid's names (capture.ts): SQLite
  // matches those against the SET list, however it is spelled.
  ['row-value SET changing the key', "UPDATE items SET (qty, ID) = (77, 'a2') WHERE id = 'a'", ['a2', 'b', 'c']],
  ['upsert whose DO UPDATE changes the key', "INSERT INTO items VALUES ('a', 'x', 0, NULL) ON CONFLICT(id) DO UPDATE SET \"id\" = 'a3'", ['a3', 'b', 'c']],
  ['rowid changed through _rowid_', "UPDATE items SET _rowid_ = 4242, qty = 5 WHERE id = 'b'", ['a', 'b', 'c']],
  ['update, rowid change and pk change together', "UPDATE items SET rowid = 77, id = 'y', qty = -1 WHERE id = 'c'", ['a', 'b', 'y']],
];

describe('change capture: every statement form is replicated exactly', () => {
  it.each(FORMS)('%s', async (_name, sql, expected) => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa');
    for (const s of SEED) a.exec(s);
    const pre = a.export();
    const { r: c } = await syncedReplica('cccccccccccccccc');
    c.applyChanges(a.changesSince({}));

    const commits: Commit[] = [];
    a.onCommit((cm) => commits.push(cm));
    a.exec(sql);
    expect(a.exec('SELECT id FROM items ORDER BY id').rows.map((r) => r.id)).toEqual(expected);
    expect(commits).toHaveLength(1);
    expect(commits[0]!.tables).toContain('items');
    // Exactly one clock row per live row, whatever the statement did to rowids.
    expect(await clockRowCounts(a, 'items', 1)).toEqual({ rows: expected.length, matched: expected.length, clocks: expected.length });

    // Log replay: our own captured changes on the previous state reproduce the exact state.
    const b = await createReplica({ data: pre });
    b.applyChanges(commits[0]!.changes!, { trusted: true });
    expect(dump(b, ['items'])).toBe(dump(a, ['items']));
    expect(registers(b)).toBe(registers(a));

    // A peer that only gets the delta converges too.
    c.applyChanges(a.changesSince(c.getVector()));
    expect(dump(c, ['items'])).toBe(dump(a, ['items']));
    expect(registers(c)).toBe(registers(a));
  });

  it('an update that changes no value records nothing', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa');
    a.exec("INSERT INTO items VALUES ('a', 'A', 1, NULL)");
    const before = registers(a);
    const commits: Commit[] = [];
    a.onCommit((cm) => commits.push(cm));
    a.exec("UPDATE items SET title = 'A', qty = 1");
    expect(commits).toHaveLength(0);
    expect(registers(a)).toBe(before);
  });

  it('a change of case in a NOCASE column is still a change', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa', 'CREATE TABLE n(id TEXT PRIMARY KEY NOT NULL, v TEXT COLLATE NOCASE)', 'n');
    a.exec("INSERT INTO n VALUES ('k', 'abc')");
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb', 'CREATE TABLE n(id TEXT PRIMARY KEY NOT NULL, v TEXT COLLATE NOCASE)', 'n');
    b.applyChanges(a.changesSince({}));
    a.exec("UPDATE n SET v = 'ABC'");
    b.applyChanges(a.changesSince(b.getVector()));
    expect(b.exec('SELECT v FROM n').rows).toEqual([{ v: 'ABC' }]);
  });

  it('a clock row follows its row through a pure rowid change', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa');
    a.exec("INSERT INTO items VALUES ('a', 'A', 1, NULL), ('b', 'B', 2, NULL)");
    const before = registers(a);
    a.exec("UPDATE items SET rowid = 500 WHERE id = 'a'");
    expect(registers(a)).toBe(before);
    a.exec("UPDATE items SET qty = 10 WHERE id = 'a'; INSERT INTO items VALUES ('c', 'C', 3, NULL)");
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb');
    b.applyChanges(a.changesSince({}));
    expect(dump(b)).toBe(dump(a));
  });

  it('one exec is one stamp: all its changes carry the same hlc', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa');
    let commit: Commit | undefined;
    a.onCommit((cm) => (commit = cm));
    a.exec("INSERT INTO items VALUES ('a', 'A', 1, NULL); INSERT INTO items VALUES ('b', 'B', 2, NULL); UPDATE items SET note = 'x'");
    const hlcs = new Set<number>();
    for (const row of commit!.changes!.tables[0]!.rows) {
      hlcs.add(row.put![0]);
      for (const cell of row.cells) hlcs.add(cell[2]);
    }
    expect(hlcs.size).toBe(1);
  });

  it('inserts are told apart by table across DDL within one exec (the hook caches names per schema)', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa');
    a.exec('CREATE TABLE scratch(x)');
    a.exec(
      "INSERT INTO items VALUES ('a', 'A', 1, NULL); INSERT INTO scratch VALUES (1); CREATE TABLE other(q); ALTER TABLE other RENAME TO other2; " +
        "CREATE TABLE s3(x); INSERT INTO s3 VALUES (2), (3), (4); ALTER TABLE scratch RENAME TO scratch2; DROP TABLE scratch2; " +
        "CREATE TABLE s4(y); INSERT INTO s4 VALUES (5); " +
        "INSERT INTO items VALUES ('b', 'B', 2, NULL)",
    );
    expect(await clockRowCounts(a, 'items', 1)).toEqual({ rows: 2, matched: 2, clocks: 2 });
    const { r: c } = await syncedReplica('cccccccccccccccc');
    c.applyChanges(a.changesSince({}));
    expect(dump(c, ['items'])).toBe(dump(a, ['items']));
  });

  it('execLocal refuses to write a synced table and rolls the whole call back', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa');
    a.exec('CREATE TABLE scratch(x)');
    a.exec("INSERT INTO items VALUES ('a', 'A', 1, NULL)");
    const before = a.export();
    for (const sql of [
      "INSERT INTO scratch VALUES (1); INSERT INTO items VALUES ('b', 'B', 2, NULL)",
      "UPDATE items SET qty = 5",
      "UPDATE items SET qty = qty",
      'DELETE FROM items',
      "INSERT INTO scratch VALUES (2); INSERT INTO feed_missing VALUES (1)",
    ]) {
      const err = (() => {
        try {
          a.execLocal(sql);
        } catch (e) {
          return e as { code: string; message: string };
        }
        return null;
      })();
      expect(err).not.toBeNull();
      expect(err!.code).toBe(sql.includes('feed_missing') ? 'SQL' : 'BAD_OP');
    }
    expect(Buffer.from(a.export()).equals(Buffer.from(before))).toBe(true);
    a.execLocal('INSERT INTO scratch VALUES (3)');
    expect(a.exec('SELECT x FROM scratch').rows).toEqual([{ x: 3 }]);
  });

  it('a multi-statement exec is atomic: a failing statement rolls back the earlier ones', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa');
    a.exec("INSERT INTO items VALUES ('a', 'A', 1, NULL)");
    const before = { dump: dump(a), regs: registers(a), vector: a.getVector(), version: a.getVersion() };
    expect(() => a.exec("INSERT INTO items VALUES ('b', 'B', 2, NULL); CREATE TABLE t2(x); INSERT INTO items VALUES ('a', 'dup', 3, NULL)")).toThrow(
      expect.objectContaining({ code: 'SQL', message: expect.stringContaining('UNIQUE') }),
    );
    expect(() => a.exec("UPDATE items SET qty = 2; SELEC nonsense")).toThrow(expect.objectContaining({ code: 'SQL' }));
    expect({ dump: dump(a), regs: registers(a), vector: a.getVector(), version: a.getVersion() }).toEqual(before);
    expect(a.exec("SELECT name FROM sqlite_schema WHERE name = 't2'").rows).toEqual([]);
    a.exec("INSERT INTO items VALUES ('b', 'B', 2, NULL)");
    expect(a.exec('SELECT count(*) AS n FROM items').rows).toEqual([{ n: 2 }]);
  });
});
