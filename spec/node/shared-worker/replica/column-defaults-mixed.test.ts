/**
 * A column's DEFAULT across replicas that got the column three ways: a fresh install (made it
 * with its table, before enableSync), an upgraded replica (added it to a table with rows), and a
 * peer still without it that adds it last. A row no peer wrote the column for reads the same on
 * all of them, for every constant DEFAULT SQLite takes (column-default.ts); an outside pass found
 * fresh installs reading NULL for "dq", 1_000 and the like (and refusing the rows when the column
 * is NOT NULL), and a parenthesized DEFAULT failing the ADD of a synced table.
 */
import initSqlJs from 'sql.js';
import { describe, expect, it } from 'vitest';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import { dump, pull } from './replica-helpers.js';

const BASE = 'CREATE TABLE notes(id TEXT PRIMARY KEY NOT NULL, title TEXT)';

/** A replica that ran `steps`, then enabled sync of notes (`later`: steps it runs after that). */
async function replica(nodeId: string | undefined, steps: string[], later: string[] = []) {
  const r = await createReplica(nodeId ? { nodeId } : {});
  r.migrate(steps);
  r.enableSync('notes');
  if (later.length > 0) r.migrate([...steps, ...later]);
  return r;
}
const FORMS = [
  'TEXT DEFAULT "dq"',
  'TEXT NOT NULL DEFAULT "dq"',
  'TEXT DEFAULT abc',
  'INTEGER NOT NULL DEFAULT 1_000',
  'INTEGER DEFAULT (-(3))',
  'TEXT DEFAULT (CAST(1 AS TEXT))',
  'TEXT DEFAULT .5',
  'TEXT DEFAULT (-.5)',
  'REAL DEFAULT 0x10',
  "BLOB DEFAULT (x'0a')",
  'INTEGER DEFAULT TRUE',
  "TEXT DEFAULT ('x' -- a comment SQLite keeps without its newline\n)",
];

describe('a DEFAULT read the same by replicas that got the column in different ways', () => {
  for (const form of FORMS) {
    it(form, async () => {
      const add = `ALTER TABLE notes ADD COLUMN p ${form}`;
      const old = await replica('aaaaaaaaaaaaaaaa', [BASE]);
      const upgraded = await replica('bbbbbbbbbbbbbbbb', [BASE]);
      upgraded.exec("INSERT INTO notes VALUES ('had', 'before the ADD'), ('gone', 'deleted before the ADD')");
      upgraded.exec("DELETE FROM notes WHERE id = 'gone'");
      upgraded.migrate([BASE, add]);
      const fresh = await replica('cccccccccccccccc', [BASE, add]);
      // Rows no peer wrote the column for, from the peer without it; 'gone' comes back through it.
      pull(old, upgraded);
      old.exec("INSERT INTO notes VALUES ('n1', 'from the old peer')");
      old.exec("UPDATE notes SET title = 'back' WHERE id = 'had'");
      for (const [to, from] of [[upgraded, old], [fresh, old], [fresh, upgraded], [old, fresh], [upgraded, fresh]] as const) pull(to, from);
      old.migrate([BASE, add]);
      for (const [to, from] of [[old, upgraded], [old, fresh], [upgraded, old], [fresh, old], [upgraded, fresh], [fresh, upgraded]] as const) pull(to, from);
      expect(dump(upgraded), 'upgraded vs old').toBe(dump(old));
      expect(dump(fresh), 'fresh install vs old').toBe(dump(old));
      const p = (r: typeof old) => r.execLocal('SELECT id, p FROM notes ORDER BY id').rows.map((row) => row.p);
      const values = p(fresh);
      expect(values).toHaveLength(2);
      // Both rows predate the column everywhere: the value existing rows read after the ADD.
      const probe = await createReplica();
      probe.exec("CREATE TABLE x(id TEXT PRIMARY KEY); INSERT INTO x VALUES ('r')");
      probe.exec(`ALTER TABLE x ADD COLUMN p ${form}`);
      const expected = probe.execLocal('SELECT p FROM x').rows[0]!.p;
      expect(values).toEqual([expected, expected]);
    });
  }

  it('a DEFAULT that is not constant (CURRENT_TIMESTAMP) reads NULL in such rows on every replica, also where the column was added to an empty table', async () => {
    const add = 'ALTER TABLE notes ADD COLUMN at TEXT DEFAULT CURRENT_TIMESTAMP';
    const old = await replica('aaaaaaaaaaaaaaaa', [BASE]);
    // Added by ALTER while its table was empty, the only way SQLite takes such a default in an ADD.
    const added = await replica('bbbbbbbbbbbbbbbb', [BASE], [add]);
    const fresh = await replica('cccccccccccccccc', [BASE, add]);
    old.exec("INSERT INTO notes VALUES ('n1', 'from the old peer')");
    pull(added, old);
    pull(fresh, old);
    expect(added.execLocal('SELECT at FROM notes').rows).toEqual([{ at: null }]);
    expect(dump(fresh)).toBe(dump(added));
  });

  it('a NOT NULL column whose DEFAULT is not constant takes rows from a peer that dropped it (each replica evaluates the DEFAULT), and sync goes on', async () => {
    const v1 = ['CREATE TABLE notes(id TEXT PRIMARY KEY NOT NULL, title TEXT, created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)'];
    const v2 = [...v1, 'ALTER TABLE notes DROP COLUMN created'];
    const old = await replica('aaaaaaaaaaaaaaaa', v1);
    const dropped = await replica('bbbbbbbbbbbbbbbb', v1, v2.slice(1));
    const fresh = await replica('cccccccccccccccc', v1);
    dropped.exec("INSERT INTO notes VALUES ('b', 'written without the column')");
    pull(old, dropped);
    pull(fresh, dropped);
    old.exec("UPDATE notes SET title = 'edited on version 1' WHERE id = 'b'");
    pull(dropped, old);
    for (const r of [old, fresh]) {
      const rows = r.execLocal('SELECT id, typeof(created) AS t FROM notes').rows;
      expect(rows).toEqual([{ id: 'b', t: 'text' }]);
    }
    expect(dropped.execLocal('SELECT * FROM notes').rows).toEqual([{ id: 'b', title: 'edited on version 1' }]);
  });

  it('a DEFAULT that is an integer beyond ±(2^53 - 1) is refused with SCHEMA where it would enter a synced table (ADD COLUMN, enableSync); near it and other types pass', async () => {
    for (const form of ['INTEGER DEFAULT 9007199254740993', 'DEFAULT -9223372036854775808', 'INTEGER DEFAULT 0x20000000000001', 'INTEGER DEFAULT 9_007_199_254_740_993', "INTEGER DEFAULT '9007199254740993'",
      'INTEGER DEFAULT (CAST(1e19 AS INTEGER))', "INTEGER DEFAULT '9.2e15'", 'INTEGER DEFAULT 1e16']) {
      const r = await replica(undefined, [BASE]);
      r.exec("INSERT INTO notes VALUES ('had', 'x')");
      expect(() => r.exec(`ALTER TABLE notes ADD COLUMN p ${form}`), form).toThrow(expect.objectContaining({ code: 'SCHEMA', message: expect.stringMatching(/beyond ±\(2\^53 - 1\)/) }));
      expect(r.execLocal('SELECT * FROM notes').rows, form).toEqual([{ id: 'had', title: 'x' }]);
      const fresh = await createReplica();
      fresh.exec(`CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, p ${form})`);
      expect(() => fresh.enableSync('t'), form).toThrow(expect.objectContaining({ code: 'SCHEMA' }));
    }
    for (const form of ['INTEGER DEFAULT 9007199254740991', 'DEFAULT -9007199254740991', 'REAL DEFAULT 1e300', "TEXT DEFAULT '9007199254740993'", 'TEXT DEFAULT 9007199254740993']) {
      const r = await replica(undefined, [BASE]);
      r.exec("INSERT INTO notes VALUES ('had', 'x')");
      r.exec(`ALTER TABLE notes ADD COLUMN p ${form}`);
      expect(r.execLocal('SELECT count(*) AS n FROM notes WHERE p IS NOT NULL').rows, form).toEqual([{ n: 1 }]);
    }
  });

  it('a table an older version synced with such a DEFAULT stays usable: DDL, migrations, writes and merges go on', async () => {
    // Made as an older version left it: synced with DEFAULT 1, then the DEFAULT text changed in the file.
    const made = await createReplica();
    made.exec('CREATE TABLE notes(id TEXT PRIMARY KEY NOT NULL, title TEXT, big INTEGER DEFAULT 1)');
    made.enableSync('notes');
    made.exec("INSERT INTO notes(id, title) VALUES ('a', 'x')");
    const SQL = await initSqlJs();
    const raw = new SQL.Database(made.export());
    raw.run("PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = replace(sql, 'DEFAULT 1)', 'DEFAULT 9007199254740993)') WHERE name = 'notes'; UPDATE _rb_tables SET shape = replace(shape, '\"dflt\":\"1\"', '\"dflt\":\"9007199254740993\"'); PRAGMA writable_schema = OFF");
    const data = raw.export();
    raw.close();
    const r = await createReplica({ data });
    expect(r.execLocal("SELECT dflt_value AS d FROM pragma_table_xinfo('notes') WHERE name = 'big'").rows).toEqual([{ d: '9007199254740993' }]);
    r.exec('CREATE TABLE other(x)');
    r.exec('CREATE INDEX notes_big ON notes(big)');
    r.exec('ALTER TABLE notes ADD COLUMN extra TEXT');
    r.exec('ALTER TABLE notes DROP COLUMN title');
    r.migrate(['CREATE TABLE t2(a)']);
    r.exec("UPDATE notes SET extra = 'y' WHERE id = 'a'");
    const peer = await createReplica();
    peer.exec('CREATE TABLE notes(id TEXT PRIMARY KEY NOT NULL, big INTEGER, extra TEXT)');
    peer.enableSync('notes');
    peer.applyChanges(r.changesSince({}));
    expect(peer.execLocal('SELECT id, extra FROM notes').rows).toEqual([{ id: 'a', extra: 'y' }]);
    peer.exec("INSERT INTO notes(id, big, extra) VALUES ('p', 7, 'from the peer')");
    r.applyChanges(peer.changesSince(r.getVector()));
    expect(r.execLocal('SELECT id, big, extra FROM notes ORDER BY id').rows).toEqual([{ id: 'a', big: 1, extra: 'y' }, { id: 'p', big: 7, extra: 'from the peer' }]);
  });
});
