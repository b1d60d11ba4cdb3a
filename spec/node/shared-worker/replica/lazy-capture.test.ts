/**
 * Deletes and key changes are captured by TEMP triggers the connection installs when an exec
 * first needs them (lazy-capture.ts): the statement a guard aborted runs again, and nothing of
 * the aborted run may show, whatever happened to the TEMP triggers before (never installed, gone
 * with export(), taken back by a rollback, dropped by an ALTER or rewritten by an ADD COLUMN).
 */
import { describe, expect, it } from 'vitest';
import type { Commit, Replica } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import { clockRowCounts, dump, ITEMS_DDL, pull, registers, syncedReplica } from './replica-helpers.js';

const ROWS = "INSERT INTO items VALUES ('a', 'A', 1, NULL), ('b', 'B', 2, 'x'), ('c', 'C', 3, NULL), ('d', 'D', 4, 'y')";

async function pair(): Promise<{ r: Replica; peer: Replica }> {
  const { r } = await syncedReplica('aaaaaaaaaaaaaaaa');
  const { r: peer } = await syncedReplica('bbbbbbbbbbbbbbbb');
  r.exec(ROWS);
  pull(peer, r);
  return { r, peer };
}

/** The peer got every change of `r`: same rows, same registers. */
function expectSynced(peer: Replica, r: Replica): void {
  pull(peer, r);
  expect(dump(peer)).toBe(dump(r));
  expect(registers(peer)).toBe(registers(r));
}

const tempTriggers = (r: Replica) => r.exec("SELECT name FROM temp.sqlite_schema WHERE type = 'trigger' ORDER BY name").rows.map((x) => x.name);

describe('capture of deletes and key changes installed when first needed', () => {
  it('captures them in the first exec of a connection, after export() and after an ADD COLUMN', async () => {
    const { r, peer } = await pair();
    expect(tempTriggers(r)).toEqual([]);
    r.exec("DELETE FROM items WHERE id = 'a'");
    expect(tempTriggers(r)).toEqual(['_rb_c1_lazy_chg', '_rb_c1_lazy_del']);
    expectSynced(peer, r);

    // sql.js 1.16's export() keeps the connection, and with it the TEMP triggers.
    r.export();
    r.exec("UPDATE items SET id = 'bb' WHERE id = 'b'");
    expectSynced(peer, r);
    expect(dump(peer)).toContain('"bb"');

    // A new connection on the same file has none.
    const reopened = await createReplica({ data: r.export(), now: () => 1_700_000_000_000 });
    expect(tempTriggers(reopened)).toEqual([]);
    reopened.exec("UPDATE items SET id = 'c2' WHERE id = 'c'");
    expectSynced(peer, reopened);

    for (const x of [reopened, peer]) x.exec('ALTER TABLE items ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0');
    // The ADD rewrote them for the new columns, in the rows its reload parsed.
    expect(tempTriggers(reopened)).toEqual(['_rb_c1_lazy_chg', '_rb_c1_lazy_del']);
    expect(reopened.exec("SELECT count(*) AS n FROM temp.sqlite_schema WHERE sql LIKE '%pinned%'").rows).toEqual([{ n: 2 }]);
    reopened.exec("UPDATE items SET pinned = 7 WHERE id = 'd'");
    reopened.exec("UPDATE items SET id = 'dd' WHERE id = 'd'");
    reopened.exec("DELETE FROM items WHERE id = 'c2'");
    expectSynced(peer, reopened);
    expect(peer.exec('SELECT id, pinned FROM items ORDER BY id').rows).toEqual([{ id: 'bb', pinned: 0 }, { id: 'dd', pinned: 7 }]);
  });

  it('DROP COLUMN after they were installed, also after export(): the TEMP triggers do not hold the column back', async () => {
    const { r, peer } = await pair();
    r.exec("DELETE FROM items WHERE id = 'a'");
    r.export();
    for (const x of [r, peer]) x.exec('ALTER TABLE items DROP COLUMN note');
    r.exec("UPDATE items SET id = 'z' WHERE id = 'b'; DELETE FROM items WHERE id = 'c'");
    expectSynced(peer, r);
    expect(peer.exec('SELECT * FROM items ORDER BY id').rows).toEqual([{ id: 'd', title: 'D', qty: 4 }, { id: 'z', title: 'B', qty: 2 }]);
  });

  it('after an ALTER, a key change keeps the value of the added column (no trigger of the old shape is left)', async () => {
    const { r, peer } = await pair();
    r.exec("DELETE FROM items WHERE id = 'a'");
    for (const x of [r, peer]) x.exec('ALTER TABLE items ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0');
    r.exec("UPDATE items SET pinned = 5 WHERE id = 'b'");
    r.exec("UPDATE items SET id = 'z' WHERE id = 'b'");
    expectSynced(peer, r);
    expect(peer.exec("SELECT pinned FROM items WHERE id = 'z'").rows).toEqual([{ pinned: 5 }]);
  });

  it('a delete, an ADD COLUMN and a key change in one exec', async () => {
    const { r, peer } = await pair();
    peer.exec('ALTER TABLE items ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0');
    r.exec("DELETE FROM items WHERE id = 'a'; ALTER TABLE items ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0; UPDATE items SET pinned = 1 WHERE id = 'b'; UPDATE items SET id = 'z' WHERE id = 'b'; DELETE FROM items WHERE id = 'c'");
    expectSynced(peer, r);
    expect(peer.exec('SELECT id, pinned FROM items ORDER BY id').rows).toEqual([{ id: 'd', pinned: 0 }, { id: 'z', pinned: 1 }]);
  });

  it('installed again after an ALTER in the same exec, of the new shape (the exec reads changes())', async () => {
    const { r, peer } = await pair();
    peer.exec('ALTER TABLE items ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0');
    r.exec("ALTER TABLE items ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0; UPDATE items SET pinned = 1 WHERE id = 'b'; SELECT changes(); UPDATE items SET id = 'z' WHERE id = 'b'");
    expectSynced(peer, r);
    expect(peer.exec("SELECT pinned FROM items WHERE id = 'z'").rows).toEqual([{ pinned: 1 }]);
  });

  it('an exec that installed them and then failed leaves the next delete captured', async () => {
    const { r, peer } = await pair();
    expect(() => r.exec("DELETE FROM items WHERE id = 'a'; SELECT * FROM no_such_table")).toThrow();
    // The rollback took the CREATE TEMP TRIGGERs back with the delete.
    expect(tempTriggers(r)).toEqual([]);
    r.exec("DELETE FROM items WHERE id = 'b'");
    r.exec("UPDATE items SET id = 'cc' WHERE id = 'c'");
    expectSynced(peer, r);
    expect(peer.exec('SELECT id FROM items ORDER BY id').rows).toEqual([{ id: 'a' }, { id: 'cc' }, { id: 'd' }]);
  });

  it('with them installed, updates of cells are captured as before', async () => {
    const { r, peer } = await pair();
    r.exec("DELETE FROM items WHERE id = 'a'");
    r.exec("UPDATE items SET qty = 20 WHERE id = 'b'");
    r.exec("UPDATE items SET note = 'n' WHERE id = 'c'; DELETE FROM items WHERE id = 'd'");
    expectSynced(peer, r);
    expect(peer.exec('SELECT id, qty, note FROM items ORDER BY id').rows).toEqual([{ id: 'b', qty: 20, note: 'x' }, { id: 'c', qty: 3, note: 'n' }]);
  });

  it('a table synced after they were installed gets its own, and both tables capture', async () => {
    const { r, peer } = await pair();
    r.exec("DELETE FROM items WHERE id = 'a'");
    for (const x of [r, peer]) {
      x.exec('CREATE TABLE tags(name TEXT PRIMARY KEY NOT NULL, n INTEGER)');
      x.enableSync('tags');
    }
    r.exec("INSERT INTO tags VALUES ('t1', 1), ('t2', 2)");
    r.exec("DELETE FROM tags WHERE name = 't1'; DELETE FROM items WHERE id = 'b'");
    expect(tempTriggers(r)).toEqual(['_rb_c1_lazy_chg', '_rb_c1_lazy_del', '_rb_c2_lazy_chg', '_rb_c2_lazy_del']);
    expectSynced(peer, r);
    expect(peer.exec('SELECT name FROM tags').rows).toEqual([{ name: 't2' }]);
  });

  it('execLocal and execMany: a delete of a synced row is refused by execLocal, captured by execMany, installed or not', async () => {
    const { r, peer } = await pair();
    expect(() => r.execLocal("DELETE FROM items WHERE id = 'a'")).toThrow(/execLocal cannot write synced table items/);
    (r as Replica & { execMany(sql: string, rows: unknown[][]): void }).execMany('DELETE FROM items WHERE id = ?', [['a'], ['b']]);
    expect(tempTriggers(r)).toHaveLength(2);
    expect(() => r.execLocal("UPDATE items SET id = 'q' WHERE id = 'c'")).toThrow(/execLocal cannot write synced table items/);
    expectSynced(peer, r);
    expect(peer.exec('SELECT id FROM items ORDER BY id').rows).toEqual([{ id: 'c' }, { id: 'd' }]);
  });

  // The statements below reach the guard: their text names no delete (a text that does gets the
  // TEMP triggers before it runs, see the next describe), so a conflict clause, a key change or a
  // user trigger does the deleting.
  it('a statement run again records its rows once: a write the update hook cannot see still asks for a snapshot', async () => {
    const r = await createReplica({ nodeId: 'aaaaaaaaaaaaaaaa', now: () => 1_700_000_000_000 });
    // A WITHOUT ROWID table's rows have no update hook event (row-images.ts): only total_changes()
    // counts them, against the hook's events, which the aborted run must not have left counted.
    // The user trigger is older than the guard, which SQLite fires first (newest first): the
    // aborted run changed a key (an event) and wrote nothing to audit.
    r.exec(ITEMS_DDL);
    r.exec('CREATE TABLE audit(id TEXT PRIMARY KEY) WITHOUT ROWID');
    r.exec('CREATE TRIGGER items_audit AFTER UPDATE ON items BEGIN INSERT INTO audit VALUES (NEW.id); END');
    r.enableSync('items');
    r.exec(ROWS);
    r.export();
    const commits: Commit[] = [];
    r.onCommit((c) => commits.push(c));
    r.exec("UPDATE items SET id = 'a2' WHERE id = 'a'");
    expect(tempTriggers(r)).toHaveLength(2);
    expect(r.exec('SELECT id FROM audit').rows).toEqual([{ id: 'a2' }]);
    expect(commits).toHaveLength(1);
    expect(commits[0]!.needsSnapshot).toBe(true);
  });

  /** Both replicas with a synced table whose key replaces on conflict: a plain INSERT can delete. */
  async function replacingPair(): Promise<{ r: Replica; peer: Replica }> {
    const { r, peer } = await pair();
    for (const x of [r, peer]) {
      x.exec('CREATE TABLE kv(k TEXT PRIMARY KEY ON CONFLICT REPLACE NOT NULL, v INTEGER)');
      x.enableSync('kv');
    }
    r.exec("INSERT INTO kv VALUES ('a', 1), ('b', 2)");
    pull(peer, r);
    r.export();
    return { r, peer };
  }

  it('an insert whose first run added rows before replacing one stopped it: every row gets one clock row', async () => {
    const { r, peer } = await replacingPair();
    // Rows e and f go in before 'a' is replaced (its delete asks for the capture): run again.
    r.exec("INSERT INTO kv VALUES ('e', 5), ('f', 6), ('a', 9), ('g', 7)");
    expect(tempTriggers(r)).toHaveLength(4);
    expectSynced(peer, r);
    expect(peer.exec('SELECT k, v FROM kv ORDER BY k').rows).toEqual([{ k: 'a', v: 9 }, { k: 'b', v: 2 }, { k: 'e', v: 5 }, { k: 'f', v: 6 }, { k: 'g', v: 7 }]);
    expect(await clockRowCounts(r, 'kv', 2)).toEqual({ rows: 5, matched: 5, clocks: 5 });
  });

  it('a statement whose second run writes fewer rows: rowids only the aborted run used get no clock row', async () => {
    const { r, peer } = await replacingPair();
    // The SELECT sees the TEMP triggers the retry installed: its first run inserts n1 and n2, then
    // replacing 'a' asks for the capture; run again, it only replaces 'a' (at n1's rowid).
    r.exec(`INSERT INTO kv SELECT value, 0 FROM json_each('["n1", "n2", "a"]')
      WHERE (SELECT count(*) FROM temp.sqlite_schema) = 0 OR value = 'a'`);
    expect(r.exec('SELECT k, v FROM kv ORDER BY k').rows).toEqual([{ k: 'a', v: 0 }, { k: 'b', v: 2 }]);
    expect(await clockRowCounts(r, 'kv', 2)).toEqual({ rows: 2, matched: 2, clocks: 2 });
    expectSynced(peer, r);
  });

  it('a delete done by a user trigger of another table is captured', async () => {
    const { r, peer } = await pair();
    r.exec('CREATE TABLE gone(id TEXT)');
    r.exec('CREATE TRIGGER gone_items AFTER INSERT ON gone BEGIN DELETE FROM items WHERE id = NEW.id; END');
    r.export();
    r.exec("INSERT INTO gone VALUES ('b'), ('c')");
    expectSynced(peer, r);
    expect(peer.exec('SELECT id FROM items ORDER BY id').rows).toEqual([{ id: 'a' }, { id: 'd' }]);
  });
});

describe('an exec whose text may delete gets the TEMP triggers before it runs', () => {
  it('DELETE and REPLACE do, even when no row goes; the replace() function does not', async () => {
    for (const sql of ["DELETE FROM items WHERE id = 'none'", "INSERT OR REPLACE INTO items VALUES ('e', 'E', 5, NULL)", "REPLACE INTO items VALUES ('e', 'E', 5, NULL)"]) {
      const { r } = await pair();
      r.exec(sql);
      expect(tempTriggers(r), sql).toEqual(['_rb_c1_lazy_chg', '_rb_c1_lazy_del']);
    }
    const { r, peer } = await pair();
    r.exec("UPDATE items SET title = replace(title, 'A', 'a') WHERE id = 'a'; INSERT INTO items VALUES ('e', 'E', 5, NULL)");
    expect(tempTriggers(r)).toEqual([]);
    expectSynced(peer, r);
  });
});

describe('what a statement run again must not show', () => {
  async function withLocal() {
    const { r, peer } = await pair();
    for (const x of [r, peer]) x.exec('CREATE TABLE u(x)');
    return { r, peer };
  }

  it('changes() and last_insert_rowid() read inside the statement are the ones before it', async () => {
    const { r, peer } = await withLocal();
    r.exec("INSERT INTO u VALUES (1), (2); DELETE FROM items WHERE changes() = 2 AND id = 'a'");
    expect(r.exec("SELECT id FROM items WHERE id = 'a'").rows).toEqual([]);
    const again = await withLocal();
    again.r.exec("INSERT INTO u VALUES (1); INSERT INTO u VALUES (2); REPLACE INTO items VALUES ('e', 'E', last_insert_rowid(), NULL), ('a', 'A2', 9, NULL)");
    expect(again.r.exec("SELECT qty FROM items WHERE id = 'e'").rows).toEqual([{ qty: 2 }]);
    expectSynced(peer, r);
  });

  it('also after an ALTER of a synced table in the same exec (which may drop the TEMP triggers)', async () => {
    const { r } = await withLocal();
    r.exec("ALTER TABLE items ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0; INSERT INTO u VALUES (1), (2), (3); DELETE FROM items WHERE changes() = 3 AND id = 'b'");
    expect(r.exec('SELECT id FROM items ORDER BY id').rows).toEqual([{ id: 'a' }, { id: 'c' }, { id: 'd' }]);
  });

  it('execLocal with an ALTER and changes() in its text stays refused for synced rows', async () => {
    const { r } = await withLocal();
    expect(() => r.execLocal("CREATE TABLE w(y); SELECT changes(); DELETE FROM items WHERE id = 'a'")).toThrow(/execLocal cannot write synced table items/);
    expect(() => r.execLocal("ALTER TABLE items ADD COLUMN p INTEGER NOT NULL DEFAULT 0; SELECT changes(); DELETE FROM items WHERE id = 'a'")).toThrow(/execLocal cannot write synced table items/);
    expect(r.exec("SELECT count(*) AS n FROM items").rows).toEqual([{ n: 4 }]);
  });
});

describe('naming internal objects', () => {
  it('a string literal naming an _rb_ object is refused like the bare name', async () => {
    const { r } = await pair();
    for (const sql of ["DROP TRIGGER '_rb_c1_del'", 'DROP TRIGGER IF EXISTS main.\'_rb_c1_chg\'', "DELETE FROM '_rb_c1'", "UPDATE '_rb_ctx' SET mode = 0", "CREATE TEMP TRIGGER '_rb_x' AFTER INSERT ON items BEGIN SELECT 1; END", "SELECT * FROM '_rb_meta'"]) {
      expect(() => r.exec(sql), sql).toThrow(/prefix _rb_/);
    }
    // A value is not a name.
    r.exec("INSERT INTO items VALUES ('_rb_value', 'x', 1, NULL)");
    expect(r.exec("SELECT title, '_rb_meta' AS s FROM items WHERE id = '_rb_value'").rows).toEqual([{ title: 'x', s: '_rb_meta' }]);
  });

  it('a synced table dropped and created again with the same columns is refused', async () => {
    const { r } = await pair();
    expect(() => r.exec(`DROP TABLE items; ${'CREATE TABLE items(id TEXT PRIMARY KEY NOT NULL, title TEXT, qty INTEGER, note TEXT)'}`)).toThrow(/cannot be dropped and created again/);
    r.exec("DELETE FROM items WHERE id = 'a'");
    expect(r.changesSince({}).tables[0]!.rows.some((row) => row.pk[0] === 'a' && row.del !== null)).toBe(true);
  });
});
