import { describe, expect, it } from 'vitest';
import { createReplica } from '../../../../shared-worker/replica/replica.js';
import type { Commit } from '../../../../shared-worker/replica/contracts/replica-types.js';
import { dump, registers, syncedReplica } from './replica-helpers.js';

describe('exec / execLocal', () => {
  it('returns rows as objects for the last statement that returned rows', async () => {
    const r = await createReplica({ nodeId: 'aaaaaaaaaaaaaaaa' });
    expect(r.exec('CREATE TABLE t(a, b); INSERT INTO t VALUES (1, ?), (2, ?)', ['x', 'y'])).toEqual({ columns: [], rows: [] });
    expect(r.exec('SELECT a FROM t ORDER BY a; SELECT b, a AS n FROM t WHERE a = :a', { ':a': 2 })).toEqual({ columns: ['b', 'n'], rows: [{ b: 'y', n: 2 }] });
    expect(r.exec('SELECT a FROM t ORDER BY a; SELECT b FROM t WHERE a = 99')).toEqual({ columns: ['a'], rows: [{ a: 1 }, { a: 2 }] });
    expect(r.exec('SELECT b FROM t WHERE a = 99')).toEqual({ columns: ['b'], rows: [] });
    const blob = new Uint8Array([1, 2, 3]);
    expect(r.exec('SELECT ? AS v, ? AS n, ? AS t, ? AS z', [blob, 1.5, 'é', null]).rows).toEqual([{ v: blob, n: 1.5, t: 'é', z: null }]);
    expect(r.exec('SELECT ? AS big, ? AS yes', [2n ** 40n, true] as never).rows).toEqual([{ big: 2 ** 40, yes: 1 }]);
  });

  it.each([
    ['an object value', [{ a: 1 }]],
    ['undefined', [undefined]],
    ['a function', [() => 1]],
    ['a bigint out of range', [2n ** 70n]],
    ['NaN', [Number.NaN]],
    ['a nested array', [[1]]],
    ['a Map', new Map()],
    ['a string', 'abc'],
  ])('refuses a parameter that is %s (SQL)', async (_name, params) => {
    const r = await createReplica({ nodeId: 'aaaaaaaaaaaaaaaa' });
    expect(() => r.exec('SELECT ?', params as never)).toThrow(expect.objectContaining({ code: 'SQL', message: expect.stringMatching(/parameter/) }));
  });

  it.each([
    ['BEGIN', 'BEGIN; INSERT INTO t VALUES (1); COMMIT'],
    ['COMMIT', 'COMMIT'],
    ['ROLLBACK', 'ROLLBACK'],
    ['SAVEPOINT', 'SAVEPOINT s1'],
    ['RELEASE', 'RELEASE s1'],
    ['VACUUM', 'VACUUM'],
    ['ATTACH', "ATTACH ':memory:' AS other"],
    ['recursive_triggers off', 'PRAGMA recursive_triggers = OFF'],
    ['writable_schema', 'PRAGMA main.writable_schema = 1'],
    // SQLite takes a pragma's name in any quoting, a string literal included (parse.y: nm).
    ['recursive_triggers off, name in brackets', 'PRAGMA [recursive_triggers] = OFF'],
    ['writable_schema, name in backquotes', 'PRAGMA main.`writable_schema` = 1'],
    ['foreign_keys, name as a string literal', "PRAGMA 'foreign_keys' = ON"],
    ['ignore_check_constraints, schema and name quoted', 'PRAGMA [main]."ignore_check_constraints" = 1'],
    ['reading an internal table', 'SELECT * FROM _rb_meta'],
    ['writing an internal table', "UPDATE _rb_meta SET v = 'x'"],
    ['a quoted internal name', 'DELETE FROM "_RB_stamps"'],
    ['dropping a capture trigger', 'DROP TRIGGER _rb_c1_upd'],
    // A quoted name holding what would start a comment or a literal outside it hides nothing after it.
    ['an internal table after a quoted name holding --', 'SELECT "--" AS x, v FROM _rb_meta'],
    ['an internal table after a quoted name holding /*', 'SELECT v AS [/*] FROM _rb_meta -- */'],
    ["an internal table after a quoted name holding '", "WITH `it's` AS (SELECT 1) UPDATE _rb_ctx SET mode = 0 -- '"],
    // A TCL-style parameter takes any characters up to `)` (tokenize.c): nothing in it starts a literal or a comment.
    ["an internal table after a $name(...) parameter holding '", "SELECT $a(') AS x, v FROM _rb_meta -- '"],
    ['an internal table after a @name(...) parameter holding /*', 'SELECT @a(/*) AS x, v FROM _rb_meta -- */'],
    ['an internal table after a :name(...) parameter holding --', "UPDATE t SET x = :a(--) WHERE x IN (SELECT v FROM _rb_meta)"],
    ["an internal table after a #name::x(...) parameter holding '", "DELETE FROM t WHERE x = #a::b(') OR x IN (SELECT v FROM _rb_meta) -- '"],
  ])('refuses %s (BAD_OP) and changes nothing', async (_name, sql) => {
    const { r } = await syncedReplica('aaaaaaaaaaaaaaaa');
    r.exec('CREATE TABLE t(x)');
    const before = r.export();
    expect(() => r.exec(sql)).toThrow(expect.objectContaining({ code: 'BAD_OP' }));
    expect(() => r.execLocal(sql)).toThrow(expect.objectContaining({ code: 'BAD_OP' }));
    expect(Buffer.from(r.export()).equals(Buffer.from(before))).toBe(true);
  });

  it('allows _rb_ inside string literals and comments, and read-only pragmas', async () => {
    const { r } = await syncedReplica('aaaaaaaaaaaaaaaa');
    expect(r.exec("SELECT '_rb_meta' AS s -- _rb_ in a comment").rows).toEqual([{ s: '_rb_meta' }]);
    expect(r.exec('PRAGMA recursive_triggers').rows).toEqual([{ recursive_triggers: 1 }]);
    r.exec('PRAGMA [user_version] = 7');
    expect(r.exec("PRAGMA 'user_version'").rows).toEqual([{ user_version: 7 }]);
  });

  it('commit records: local changes, row images of non-synced tables, snapshots for DDL', async () => {
    const { r } = await syncedReplica('aaaaaaaaaaaaaaaa');
    const commits: Commit[] = [];
    r.onCommit((c) => commits.push(c));
    r.exec('CREATE TABLE notes(n INTEGER PRIMARY KEY, body TEXT)');
    expect(commits.pop()).toMatchObject({ origin: 'local', needsSnapshot: true });
    r.exec("INSERT INTO notes VALUES (1, 'one'), (2, 'two'); UPDATE notes SET body = 'uno' WHERE n = 1; DELETE FROM notes WHERE n = 2; INSERT INTO items VALUES ('i', 't', 1, NULL)");
    const c = commits.pop()!;
    expect(c.needsSnapshot).toBe(false);
    expect(c.tables.sort()).toEqual(['items', 'notes']);
    expect(c.rows).toEqual([
      { op: 'upsert', table: 'notes', rowid: 1, columns: ['n', 'body'], values: [1, 'uno'] },
      { op: 'delete', table: 'notes', rowid: 2 },
    ]);
    expect(c.changes!.tables[0]!.rows[0]!.pk).toEqual(['i']);
    expect(c.version).toBe(r.getVersion());
    r.execLocal("INSERT INTO notes VALUES (3, 'local')");
    expect(commits.pop()).toMatchObject({ changes: null, rows: [{ op: 'upsert', table: 'notes', rowid: 3 }] });
    r.execLocal('DELETE FROM notes'); // truncate optimization: the update hook sees nothing
    expect(commits.pop()).toMatchObject({ needsSnapshot: true });
    r.execLocal('CREATE TABLE wr(k PRIMARY KEY, v) WITHOUT ROWID');
    commits.length = 0;
    r.execLocal('INSERT INTO wr VALUES (1, 2)');
    expect(commits.pop()).toMatchObject({ needsSnapshot: true });
    r.exec('SELECT 1');
    expect(commits).toHaveLength(0);
    // A table written, then dropped or renamed in the same call has no row to image: snapshot.
    r.execLocal("INSERT INTO notes VALUES (4, 'gone'); DROP TABLE notes");
    expect(commits.pop()).toMatchObject({ rows: [], needsSnapshot: true });
    r.execLocal("CREATE TABLE t1(x); INSERT INTO t1 VALUES (1); ALTER TABLE t1 RENAME TO t2");
    expect(commits.pop()).toMatchObject({ rows: [], needsSnapshot: true });
  });

  it('replayRows restores non-synced rows from their images and refuses synced or internal tables', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa');
    a.exec('CREATE TABLE notes(n INTEGER PRIMARY KEY, body TEXT)');
    const pre = a.export();
    const commits: Commit[] = [];
    a.onCommit((c) => commits.push(c));
    a.exec("INSERT INTO notes VALUES (1, 'one'), (2, 'two'), (3, 'three')");
    a.exec("UPDATE notes SET body = 'deux' WHERE n = 2; DELETE FROM notes WHERE n = 3");
    const b = await createReplica({ data: pre });
    for (const c of commits) b.replayRows(c.rows);
    expect(dump(b, ['notes'])).toBe(dump(a, ['notes']));
    expect(() => b.replayRows([{ op: 'delete', table: 'items', rowid: 1 }])).toThrow(expect.objectContaining({ code: 'BAD_OP' }));
    expect(() => b.replayRows([{ op: 'delete', table: '_rb_meta', rowid: 1 }])).toThrow(expect.objectContaining({ code: 'BAD_OP' }));
  });

  it('everything survives export(): capture, pragmas, the update hook, prepared statements', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa');
    a.exec('CREATE TABLE notes(n INTEGER PRIMARY KEY, body TEXT)');
    a.exec("INSERT INTO items VALUES ('a', 'A', 1, NULL), ('b', 'B', 2, NULL)");
    a.export();
    const commits: Commit[] = [];
    a.onCommit((c) => commits.push(c));
    a.exec("INSERT OR REPLACE INTO items VALUES ('a', 'A2', 10, NULL); INSERT INTO notes VALUES (1, 'n')");
    expect(commits[0]!.rows).toHaveLength(1);
    expect(commits[0]!.changes!.tables[0]!.rows).toHaveLength(1);
    a.export();
    expect(() => a.execLocal("UPDATE items SET qty = 0")).toThrow(expect.objectContaining({ code: 'BAD_OP' }));
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb');
    b.applyChanges(a.changesSince({}));
    expect(dump(b, ['items'])).toBe(dump(a, ['items']));
  });

  it('reopening keeps node id, version, vector, synced tables; the clock starts above stored stamps', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa', undefined, undefined, 5_000_000);
    a.exec("INSERT INTO items VALUES ('a', 'A', 1, NULL)");
    const stamp = a.getVector().aaaaaaaaaaaaaaaa!;
    const b = await createReplica({ data: a.export(), nodeId: '1111111111111111', now: () => 1_000 });
    expect(b.nodeId).toBe('aaaaaaaaaaaaaaaa');
    expect(b.getVersion()).toBe(a.getVersion());
    expect(b.getVector()).toEqual(a.getVector());
    b.exec("UPDATE items SET qty = 2 WHERE id = 'a'");
    expect(b.getVector().aaaaaaaaaaaaaaaa!).toBeGreaterThan(stamp);
    expect(registers(b)).not.toBe(registers(a));
  });

  it('a fresh node id is 16 hex chars and stored; an explicit one is used once', async () => {
    const r = await createReplica();
    expect(r.nodeId).toMatch(/^[0-9a-f]{16}$/);
    expect((await createReplica({ data: r.export() })).nodeId).toBe(r.nodeId);
    expect((await createReplica({ nodeId: 'c0000000000000c1' })).nodeId).toBe('c0000000000000c1');
    await expect(createReplica({ nodeId: 'bad id' })).rejects.toMatchObject({ code: 'BAD_OP' });
  });

  it('version grows with local and merged changes; close() makes calls fail with CLOSED', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa');
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb');
    const v0 = b.getVersion();
    a.exec("INSERT INTO items VALUES ('a', 'A', 1, NULL)");
    b.applyChanges(a.changesSince({}));
    expect(b.getVersion()).toBeGreaterThan(v0);
    b.close();
    expect(() => b.exec('SELECT 1')).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });

  it('a user trigger fired by a merge writes non-synced rows, reported as row images of the remote commit', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa');
    const { r: b } = await syncedReplica('bbbbbbbbbbbbbbbb');
    b.exec('CREATE TABLE audit(n INTEGER PRIMARY KEY, what TEXT)');
    b.exec("CREATE TRIGGER items_audit AFTER INSERT ON items BEGIN INSERT INTO audit(what) VALUES ('got ' || NEW.id); END");
    const commits: Commit[] = [];
    b.onCommit((c) => commits.push(c));
    a.exec("INSERT INTO items VALUES ('x', 'X', 1, NULL)");
    b.applyChanges(a.changesSince({}));
    expect(commits).toHaveLength(1);
    expect(commits[0]).toMatchObject({ origin: 'remote', rows: [{ op: 'upsert', table: 'audit', values: [1, 'got x'] }] });
    expect(commits[0]!.tables.sort()).toEqual(['audit', 'items']);
  });

  it('execMany runs one statement per parameter row as one exec with one stamp', async () => {
    const { r } = await syncedReplica('aaaaaaaaaaaaaaaa');
    const bulk = r as typeof r & { execMany(sql: string, rows: unknown[][]): void };
    const commits: Commit[] = [];
    r.onCommit((c) => commits.push(c));
    bulk.execMany('INSERT INTO items VALUES (?, ?, ?, NULL)', [['a', 'A', 1], ['b', 'B', 2]]);
    expect(commits).toHaveLength(1);
    expect(commits[0]!.changes!.tables[0]!.rows).toHaveLength(2);
    expect(() => bulk.execMany('INSERT INTO items VALUES (?, ?, ?, NULL)', [['c', 'C', 3], ['a', 'dup', 4]])).toThrow(expect.objectContaining({ code: 'SQL' }));
    expect(() => bulk.execMany('DELETE FROM _rb_meta', [[]])).toThrow(expect.objectContaining({ code: 'BAD_OP' }));
    expect(r.exec('SELECT id FROM items ORDER BY id').rows).toEqual([{ id: 'a' }, { id: 'b' }]);
  });

  it('changesSince filters by table and by vector', async () => {
    const { r: a } = await syncedReplica('aaaaaaaaaaaaaaaa');
    a.exec('CREATE TABLE other(id INTEGER PRIMARY KEY, v)');
    a.enableSync('other');
    a.exec("INSERT INTO items VALUES ('a', 'A', 1, NULL); INSERT INTO other VALUES (1, 'x')");
    const v = a.getVector();
    expect(a.changesSince(v)).toEqual({ nodes: [], tables: [] });
    expect(a.changesSince({}, { tables: ['other'] }).tables.map((t) => t.table)).toEqual(['other']);
    a.exec("UPDATE items SET qty = 2");
    const d = a.changesSince(v);
    expect(d.tables).toHaveLength(1);
    expect(d.tables[0]!.rows[0]).toMatchObject({ pk: ['a'], del: null, cells: [[1, 2, expect.any(Number), 0]] });
  });
});
